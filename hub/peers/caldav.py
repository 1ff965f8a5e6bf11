"""CalDAV peers: Radicale and Xandikos, configured like real deployments.

The test kit's fixtures (:mod:`hub.testing.peers.caldav`) run them for tests.

Xandikos (``xandikos`` fixture, :class:`Xandikos`) runs one server per user behind a front that asks
for Basic or Digest login; see its docstring. The rest of this docstring is about Radicale.

The ``radicale`` fixture (one server per test session) runs Radicale on a free loopback port with
htpasswd authentication (plain), ``owner_only`` rights and no login delay. Users are created on
demand with :meth:`Radicale.add_user`; their default password has the shape of an Apple
app-specific password (``xxxx-xxxx-xxxx-xxxx``) so iCloud's connect form accepts it.

:meth:`Radicale.front` starts a small HTTP front in front of Radicale that models what real servers
do and Radicale does not:

* ``home_origin=…`` — the front answers discovery only (``current-user-principal``,
  ``calendar-home-set``) and points the calendar home at another origin, like iCloud's
  ``caldav.icloud.com`` → ``pNN-caldav.icloud.com``; calendar requests on the front are refused;
* ``sync_tokens=False`` — a server without RFC 6578 (no ``DAV:sync-token``, sync-collection refused);
* ``sync_page_size=n`` — sync-collection replies truncated to ``n`` members with a 507 marker
  (RFC 6578 §3.6); the token it hands out resumes where the page stopped.

:meth:`Radicale.split_host` wires two fronts the iCloud way: a discovery URL on ``127.0.0.1`` whose
calendar home is on ``localhost`` (``front.home`` is the home host's front). Every front records
the requests it saw (``front.requests``) so tests can count a client's round trips.

Typical use::

    def test_something(radicale):
        user = radicale.add_user()                      # RadicaleUser(name, password)
        path = radicale.make_calendar(user, "work")     # "/<user>/work/"
        radicale.put_object(user, path + "a.ics", ics)  # returns the etag
        url = radicale.split_host().url                 # or radicale.url

The front is hand-written on werkzeug because no library offers these server behaviours.
"""

from __future__ import annotations

import json
import secrets
import shutil
import string
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hub.peers.base import free_port, wait_for_port

DAV = "{DAV:}"
CALDAV = "{urn:ietf:params:xml:ns:caldav}"
#: the token prefix the truncating front hands out: it carries the offset into the full reply
_TRUNCATED_TOKEN = "urn:hub-test:truncated:"


def app_password() -> str:
    """A random password shaped like an Apple app-specific password (``abcd-efgh-ijkl-mnop``)."""
    return "-".join("".join(secrets.choice(string.ascii_lowercase) for _ in range(4)) for _ in range(4))


@dataclass(frozen=True)
class RadicaleUser:
    """A Radicale account; ``password`` is plain text (test data only, kept out of the repr)."""

    name: str
    password: str

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    @property
    def auth(self) -> tuple[str, str]:
        return (self.name, self.password)


class CalDAVPeer:
    """What the CalDAV peers share: set-up requests made the way any client makes them."""

    def calendar_path(self, user, cal_id: str) -> str:
        raise NotImplementedError

    def request(self, user, method: str, path: str, body: bytes | str = b"", headers: dict | None = None) -> Any:
        """A plain HTTP request as ``user`` (a requests response)."""
        raise NotImplementedError

    def make_calendar(self, user, cal_id: str, name: str | None = None,
                      components: tuple[str, ...] = ("VEVENT",)) -> str:
        """MKCALENDAR a calendar called ``cal_id`` holding ``components``; returns its path."""
        comps = "".join(f'<C:comp name="{c}"/>' for c in components)
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
            f"<D:displayname>{name or cal_id}</D:displayname>"
            f"<C:supported-calendar-component-set>{comps}</C:supported-calendar-component-set>"
            "</D:prop></D:set></C:mkcalendar>"
        )
        path = self.calendar_path(user, cal_id)
        response = self.request(user, "MKCALENDAR", path, body, {"Content-Type": "application/xml"})
        if response.status_code != 201:
            raise RuntimeError(f"MKCALENDAR {path} answered {response.status_code}: {response.text[:200]}")
        return path

    def put_object(self, user, path: str, ics: str | bytes) -> str:
        """PUT an iCalendar object (overwriting); returns its new etag."""
        response = self.request(user, "PUT", path, ics, {"Content-Type": "text/calendar; charset=utf-8"})
        if response.status_code not in (201, 204):
            raise RuntimeError(f"PUT {path} answered {response.status_code}: {response.text[:200]}")
        return response.headers.get("ETag", "")



class Radicale(CalDAVPeer):
    """A running Radicale server; see the module docstring."""

    def __init__(self, folder: Path, options: dict[str, str] | None = None):
        self.folder = folder
        #: extra Radicale settings as ``{"--section-option": value}`` (e.g. a lower REPORT cap)
        self.options = dict(options or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.htpasswd = folder / "users"
        self.collections = folder / "collections"
        self._fronts: list[DAVFront] = []
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> "Radicale":
        self.htpasswd.write_text("")
        command = [
            sys.executable, "-m", "radicale", "--config", "",
            "--server-hosts", f"127.0.0.1:{self.port}",
            "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(self.htpasswd),
            "--auth-htpasswd-encryption", "plain", "--auth-delay", "0",
            "--rights-type", "owner_only",
            "--storage-filesystem-folder", str(self.collections),
            "--logging-level", "warning",
            *(part for item in self.options.items() for part in item),
        ]
        log = open(self.folder / "radicale.log", "ab")
        self._proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for_port(self.port, proc=self._proc)
        return self

    def stop(self) -> None:
        for front in self._fronts:
            front.stop()
        self._fronts.clear()
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    # --- users and data -------------------------------------------------------------------------

    def add_user(self, name: str | None = None, password: str | None = None) -> RadicaleUser:
        """Create a user (Radicale re-reads the htpasswd file at each login)."""
        user = RadicaleUser(name or f"user{secrets.token_hex(4)}@example.com", password or app_password())
        with self._lock, self.htpasswd.open("a") as fh:
            fh.write(f"{user.name}:{user.password}\n")
        return user

    def request(self, user: RadicaleUser, method: str, path: str, body: bytes | str = b"", headers: dict | None = None,
                timeout: float = 30):
        """A plain HTTP request to Radicale as ``user`` (to put data there the way any client would)."""
        import requests

        url = path if "://" in path else self.url.rstrip("/") + path
        data = body.encode() if isinstance(body, str) else body
        return requests.request(method, url, data=data, headers=headers or {}, auth=user.auth, timeout=timeout)

    def calendar_path(self, user: RadicaleUser, cal_id: str) -> str:
        return f"/{user.name}/{cal_id}/"

    def write_objects(self, user: RadicaleUser, calendar: str, objects: dict[str, str]) -> None:
        """Store many iCalendar objects at once (``name.ics`` → text), as a restore from a backup would.

        Written straight into Radicale's storage folder (which Radicale reads on each request):
        thousands of PUTs would take minutes. ``calendar`` is a path from :meth:`make_calendar`.
        """
        folder = self.collections / "collection-root" / calendar.strip("/")
        for name, text in objects.items():
            (folder / name).write_text(text, encoding="utf-8", newline="")

    def expire_sync_tokens(self, user: RadicaleUser) -> None:
        """Make every sync token issued for ``user``'s calendars unusable (403 ``valid-sync-token``).

        Radicale accepts a token as long as the collection is unchanged, so each calendar gets a
        short-lived member (created and deleted) before its token history is dropped.
        """
        root = self.collections / "collection-root" / user.name
        for props_file in sorted(root.glob("*/.Radicale.props")):
            props = json.loads(props_file.read_text() or "{}")
            if props.get("tag") != "VCALENDAR":
                continue
            component = (props.get("C:supported-calendar-component-set") or "VEVENT").split(",")[0]
            uid = "expire-" + secrets.token_hex(6)
            href = f"/{user.name}/{props_file.parent.name}/{uid}.ics"
            self.put_object(user, href, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hub tests//EN\r\n"
                            f"BEGIN:{component}\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\n"
                            f"DTSTART:20240101T000000Z\r\nSUMMARY:x\r\nEND:{component}\r\nEND:VCALENDAR\r\n")
            self.request(user, "DELETE", href)
            shutil.rmtree(props_file.parent / ".Radicale.cache" / "sync-token", ignore_errors=True)

    # --- fronts ---------------------------------------------------------------------------------

    def front(self, home_origin: str | None = None, sync_tokens: bool = True,
              sync_page_size: int | None = None, host: str = "127.0.0.1", upstream: str | None = None) -> "DAVFront":
        """Start a front (see the module docstring); it is stopped with the server."""
        front = DAVFront(upstream or self.url, home_origin=home_origin, sync_tokens=sync_tokens,
                         sync_page_size=sync_page_size, host=host).start()
        self._fronts.append(front)
        return front

    def split_host(self, **backend_options) -> "DAVFront":
        """A discovery URL on 127.0.0.1 whose calendar home lives on ``localhost`` (another host).

        ``backend_options`` (``sync_tokens``, ``sync_page_size``) shape the home host's behaviour.
        """
        backend = self.front(host="localhost", **backend_options)
        discovery = self.front(home_origin=backend.origin)
        discovery.home = backend
        return discovery


class DAVFront:
    """A reverse proxy in front of Radicale that adds real servers' behaviours (module docstring)."""

    def __init__(self, upstream: str, home_origin: str | None, sync_tokens: bool, sync_page_size: int | None,
                 host: str, login: "FrontLogin | None" = None):
        import requests

        #: when set, the front itself asks for a password (for servers without authentication)
        self.login = login
        self.upstream = upstream.rstrip("/")
        self.home_origin = home_origin.rstrip("/") if home_origin else None
        self.sync_tokens = sync_tokens
        self.sync_page_size = sync_page_size
        self.port = free_port()
        self.origin = f"http://{host}:{self.port}"
        self.url = self.origin + "/"
        #: every request as ``"METHOD path depth"``, to count a client's round trips
        self.requests: list[str] = []
        #: requests the front refused because they belong on the home host
        self.misdirected: list[str] = []
        #: for a discovery front made by :meth:`Radicale.split_host`: the front of the home host
        self.home: DAVFront | None = None
        #: canned answers for the next requests, ``(status, headers)`` each (see :meth:`answer_next`)
        self._canned: list[tuple[int, dict[str, str]]] = []
        #: path prefix → ``(status, new prefix)``: a server that moved collections answers with a redirect
        self.moved: dict[str, tuple[int, str]] = {}
        self._session = requests.Session()
        self._server: Any = None

    def start(self) -> "DAVFront":
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, *args, **kwargs):  # keep test output readable
                pass

        self._server = make_server("127.0.0.1", self.port, self._app, threaded=True, request_handler=QuietHandler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        wait_for_port(self.port)
        return self

    def answer_next(self, status: int, headers: dict[str, str] | None = None) -> None:
        """Answer the next request with ``status`` and ``headers`` (a busy or rate-limiting server)."""
        self._canned.append((status, dict(headers or {})))

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._session.close()

    # --- the WSGI app ---------------------------------------------------------------------------

    def _app(self, environ, start_response):
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        response = self._handle(request, Response)
        return response(environ, start_response)

    def _handle(self, request, Response):
        method, body = request.method, request.get_data()
        depth = request.headers.get("Depth", "0")
        self.requests.append(f"{method} {request.path} {depth}")
        if self._canned:
            status, headers = self._canned.pop(0)
            return Response("", status=status, headers=headers)
        for old, (status, new) in self.moved.items():
            if request.path.startswith(old):
                return Response("", status=status, headers={"Location": self.origin + new + request.path[len(old):]})
        if self.login is not None and not self.login.accepts(request):
            return Response("login required", status=401, headers={"WWW-Authenticate": self.login.challenge()})
        if self.home_origin and not (method in ("PROPFIND", "OPTIONS") and depth == "0"):
            # iCloud's first host only knows the principal; the calendars live on the home host
            self.misdirected.append(f"{method} {request.path}")
            return Response("calendar data is served by the calendar home's host", status=421)
        if method == "REPORT" and b"sync-collection" in body:
            if not self.sync_tokens:
                return _dav_error(Response, 403, "supported-report")
            if self.sync_page_size:
                return self._truncated_sync(request, body, Response)
        upstream = self._forward(request, body)
        content = upstream.content
        if method == "PROPFIND" and upstream.status_code == 207:
            content = self._rewrite_propfind(content)
        return self._reply(Response, upstream, content)

    def _forward(self, request, body: bytes):
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        url = self.upstream + request.full_path.rstrip("?")
        return self._session.request(request.method, url, data=body, headers=headers, allow_redirects=False,
                                     timeout=60)

    @staticmethod
    def _reply(Response, upstream, content: bytes):
        skip = {"content-length", "content-encoding", "transfer-encoding", "connection"}
        headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in skip]
        return Response(content, status=upstream.status_code, headers=headers)

    def _rewrite_propfind(self, content: bytes) -> bytes:
        from lxml import etree

        tree = etree.fromstring(content)
        if self.home_origin:
            for href in tree.iter(f"{CALDAV}calendar-home-set"):
                for child in href.iter(f"{DAV}href"):
                    child.text = self.home_origin + child.text
        if not self.sync_tokens:
            for token in list(tree.iter(f"{DAV}sync-token")):
                token.getparent().remove(token)
        return etree.tostring(tree, xml_declaration=True, encoding="utf-8")

    def _truncated_sync(self, request, body: bytes, Response):
        """Serve a sync-collection in pages of ``sync_page_size`` with RFC 6578 §3.6 truncation."""
        from lxml import etree

        query = etree.fromstring(body)
        token_el = query.find(f"{DAV}sync-token")
        token = token_el.text or "" if token_el is not None else ""
        offset = 0
        if token.startswith(_TRUNCATED_TOKEN):
            state = json.loads(token[len(_TRUNCATED_TOKEN):])
            offset, token = state["offset"], state["token"]
        if token_el is not None:
            token_el.text = token or None
        upstream = self._forward(request, etree.tostring(query, xml_declaration=True, encoding="utf-8"))
        if upstream.status_code != 207:
            return self._reply(Response, upstream, upstream.content)
        tree = etree.fromstring(upstream.content)
        members = sorted(tree.findall(f"{DAV}response"), key=lambda r: r.findtext(f"{DAV}href"))
        for member in members:
            tree.remove(member)
        page = members[offset:offset + self.sync_page_size]
        for member in page:
            tree.append(member)
        rest = len(members) - offset - len(page)
        if rest > 0:
            marker = etree.SubElement(tree, f"{DAV}response")
            etree.SubElement(marker, f"{DAV}href").text = urlsplit(request.url).path
            etree.SubElement(marker, f"{DAV}status").text = "HTTP/1.1 507 Insufficient Storage"
            resume = json.dumps({"offset": offset + len(page), "token": token})
            tree.find(f"{DAV}sync-token").text = _TRUNCATED_TOKEN + resume
            # RFC 6578 wants the sync-token after the responses
            new_token = tree.find(f"{DAV}sync-token")
            tree.remove(new_token)
            tree.append(new_token)
        return self._reply(Response, upstream, etree.tostring(tree, xml_declaration=True, encoding="utf-8"))


class FrontLogin:
    """HTTP Basic or Digest (RFC 7616, MD5, ``qop=auth``) login checked by a front, for one user.

    Hand-written: the servers it stands in front of (Xandikos) leave authentication to a proxy, and
    no library offers a server-side Digest check small enough to embed in a test front.
    """

    REALM = "hub-test"

    def __init__(self, scheme: str, name: str, password: str):
        if scheme not in ("basic", "digest"):
            raise ValueError(scheme)
        self.scheme, self.name, self.password = scheme, name, password
        self.nonce = secrets.token_hex(16)

    def challenge(self) -> str:
        if self.scheme == "basic":
            return f'Basic realm="{self.REALM}"'
        return f'Digest realm="{self.REALM}", qop="auth", algorithm=MD5, nonce="{self.nonce}"'

    def accepts(self, request) -> bool:
        import base64
        import hashlib

        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if self.scheme == "basic" and scheme.lower() == "basic":
            try:
                name, _, password = base64.b64decode(value).decode().partition(":")
            except ValueError:
                return False
            return (name, password) == (self.name, self.password)
        if self.scheme != "digest" or scheme.lower() != "digest":
            return False
        from werkzeug.http import parse_dict_header

        fields = parse_dict_header(value)
        if fields.get("username") != self.name or fields.get("nonce") != self.nonce:
            return False

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        ha1 = md5(f"{self.name}:{self.REALM}:{self.password}")
        ha2 = md5(f"{request.method}:{fields.get('uri', '')}")
        expected = md5(f"{ha1}:{self.nonce}:{fields.get('nc', '')}:{fields.get('cnonce', '')}:auth:{ha2}")
        return secrets.compare_digest(expected, fields.get("response", ""))


@dataclass(frozen=True, repr=False)
class XandikosUser(RadicaleUser):
    """A Xandikos server of its own (Xandikos serves one principal) behind a front that logs in."""

    #: the front's URL (what a client connects to)
    url: str = ""
    #: Xandikos's own URL (no login), for test set-up
    upstream: str = ""
    folder: Path = Path()


class Xandikos(CalDAVPeer):
    """Xandikos servers: one process per user (it serves a single principal, ``/user/``).

    Xandikos has no authentication of its own (it expects a reverse proxy to do it), so each user
    gets a :class:`DAVFront` that asks for Basic or Digest login. Its sync tokens are git commits;
    an unknown one is answered with 412 (not RFC 6578's 403).
    """

    PRINCIPAL = "/user/"

    def __init__(self, folder: Path):
        self.folder = folder
        self._procs: list[subprocess.Popen] = []
        self._fronts: list[DAVFront] = []

    def add_user(self, name: str | None = None, password: str | None = None, auth: str = "basic",
                 **front_options) -> XandikosUser:
        """Start a Xandikos for a new user with an empty default calendar (``/user/calendars/calendar/``).

        ``front_options`` (``sync_tokens``, ``sync_page_size``) shape the front like Radicale's.
        """
        name = name or f"user{secrets.token_hex(4)}@example.com"
        password = password or app_password()
        folder = self.folder / secrets.token_hex(4)
        folder.mkdir()
        port = free_port()
        command = [sys.executable, "-m", "xandikos.web", "-d", str(folder / "data"), "-l", "127.0.0.1",
                   "-p", str(port), "--defaults", "--current-user-principal", self.PRINCIPAL,
                   "--state-dir", str(folder / "state")]
        log = open(folder / "xandikos.log", "ab")
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self._procs.append(proc)
        wait_for_port(port, proc=proc)
        upstream = f"http://127.0.0.1:{port}/"
        front = DAVFront(upstream, home_origin=None, sync_tokens=front_options.get("sync_tokens", True),
                         sync_page_size=front_options.get("sync_page_size"), host="127.0.0.1",
                         login=FrontLogin(auth, name, password)).start()
        self._fronts.append(front)
        return XandikosUser(name, password, front.url, upstream, folder / "data")

    def request(self, user: XandikosUser, method: str, path: str, body: bytes | str = b"",
                headers: dict | None = None):
        """A plain HTTP request to the user's Xandikos (set-up, bypassing the login front)."""
        import requests

        url = path if "://" in path else user.upstream.rstrip("/") + path
        data = body.encode() if isinstance(body, str) else body
        return requests.request(method, url, data=data, headers=headers or {}, timeout=30)

    def calendar_path(self, user: XandikosUser, cal_id: str) -> str:
        return f"{self.PRINCIPAL}calendars/{cal_id}/"

    def expire_sync_tokens(self, user: XandikosUser) -> None:
        """Make every sync token issued for ``user``'s calendars unknown to Xandikos.

        A token is the git tree of the calendar's repository: each calendar's history is replaced by
        one commit of a new tree (the same members plus a hidden marker file Xandikos ignores), and
        the old objects are pruned.
        """
        for git_dir in sorted(user.folder.glob("**/.git")):
            def run(*args: str, check: bool = True, repo: Path = git_dir.parent) -> subprocess.CompletedProcess:
                return subprocess.run(["git", "-C", str(repo), *args], check=check, capture_output=True, text=True)

            if run("rev-parse", "-q", "--verify", "HEAD", check=False).returncode:
                continue  # a collection without commits has issued no tokens
            marker = git_dir.parent / ".hub-test-expired"
            marker.write_text(secrets.token_hex(8))
            run("add", "-f", marker.name)
            tree = run("write-tree").stdout.strip()
            commit = run("-c", "user.name=t", "-c", "user.email=t@t", "commit-tree", tree, "-m", "reset").stdout.strip()
            run("reset", "--soft", commit)
            run("reflog", "expire", "--expire=now", "--all")
            run("gc", "--prune=now", "--quiet")

    def stop(self) -> None:
        for front in self._fronts:
            front.stop()
        self._fronts.clear()
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._procs.clear()


def _dav_error(Response, status: int, condition: str):
    body = f'<?xml version="1.0" encoding="utf-8"?><D:error xmlns:D="DAV:"><D:{condition}/></D:error>'
    return Response(body, status=status, content_type="application/xml; charset=utf-8")
