"""Scaffold a new provider plugin package: what ``hub new-provider NAME`` writes.

:func:`create_provider` writes ``crm-hub-<name>/`` — a distribution with the ``crm_hub`` entry
point and a ``[test]`` extra (pytest and the hub's test kit), a hook module that registers the
provider and checks credentials, and a test module subclassing :class:`hub.testing.ProviderTests`.
By default the provider has no capabilities yet; ``--read-only`` gives it ``CALENDAR_READ`` and
``--mail-only`` ``MAIL``, each with hooks reading a small placeholder service inside the package
(which the tests' ``Remote`` writes into). Every kind installs and passes the conformance suite as
written; docs/writing-a-provider.md shows the default's exact files (a test keeps the two identical).

The templates live here as strings rather than package data, so the command works from any
installation of the hub without extra packaging rules.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from hub.exceptions import ValidationError

#: a provider name is an entry-point name and part of a Python package name
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,30}$")

SETUP_CFG = """\
[metadata]
name = crm-hub-${dist}
version = 0.1.0
description = ${label} provider for the CRM integration hub
long_description = file: README.md
long_description_content_type = text/markdown

[options]
python_requires = >=3.11
packages = find:
install_requires =
    crm-hub

[options.packages.find]
include =
    hub_${name}
    hub_${name}.*

[options.extras_require]
# pytest and the hub's provider test kit (hub.testing: the conformance suite and its real peers)
test =
    pytest>=8
    crm-hub[testkit]

[options.entry_points]
crm_hub =
    ${name} = hub_${name}.hooks

[tool:pytest]
testpaths = tests
"""

PYPROJECT_TOML = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"
"""

README_MD = """\
# crm-hub-${dist}

The ${label} provider for the CRM integration hub.

    pip install -e .[test]
    pytest
    hub plugins        # lists ${name}

See the hub's docs/writing-a-provider.md for the next steps.
"""

INIT_PY = '''\
"""The ${label} provider for the CRM integration hub (hooks in :mod:`hub_${name}.hooks`)."""
'''

HOOKS_PY = '''\
"""The ${label} provider's hooks.

${about}
"""

from __future__ import annotations

${imports}

NAME = "${name}"

#: what this provider can do: hub.types.CALENDAR_READ, CALENDAR_WRITE (or CALENDAR for both), FREE_BUSY,
#: MAIL, SEND, PUSH, VIDEO
CAPABILITIES: frozenset[str] = ${capabilities}


@hookimpl
def hub_register_providers(register: Callable[[ProviderInfo], None]) -> None:
    """Tell the hub this provider exists and how an account connects."""
    register(ProviderInfo(
        name=NAME,
        label="${label}",
        capabilities=CAPABILITIES,
        connect_kind="form",
        connect_form=(
            ConnectField("email", "Email address", kind="email"),
            ConnectField("api_key", "API key", kind="password"),
        ),
    ))


@hookimpl
def hub_connect(context: ProviderContext, params: dict[str, Any]) -> ConnectResult | None:
    """Check the credentials from the connect form and return what the hub stores."""
    email = params.get("email", "").strip()
    api_key = params.get("api_key", "")
    # Replace this check with a call to ${label} that proves the key works for this address.
    if "@" not in email or not api_key:
        raise AuthenticationFailed(
            "${label} did not accept this email address and API key.",
            fix="Copy the API key from your ${label} settings page and try again.",
        )
    return ConnectResult(email=email, credentials={"api_key": api_key})


@hookimpl
def hub_disconnect(account: AccountHandle) -> bool | None:
    """Release what the account holds at ${label}; never block the disconnect."""
    return True
${more_hooks}'''

TEST_CONFORMANCE_PY = '''\
"""The hub's conformance suite, run against the ${label} provider.

Turn a ``supports_*`` flag on when hooks.py declares that capability, and implement the methods of
the ``remote`` helper it needs (see hub.testing.conformance.Remote).
"""

import pytest

import hub_${name}.hooks
from hub.testing import ProviderTests
from hub.testing.conformance import Remote
${test_imports}

class ${cls}Remote(Remote):
    """Edits made directly at ${label} (its API, or a local sandbox), the way another client makes them.${remote_body}


class Test${cls}(ProviderTests):
    provider_name = "${name}"
${flags}    revokes_on_disconnect = False  # True once hub_disconnect revokes the credentials

    @pytest.fixture
    def provider_plugin(self):
        return hub_${name}.hooks

    @pytest.fixture
    def remote(self${remote_fixture_args}):
        return ${cls}Remote(${remote_args})

    @pytest.fixture
    def good_connect_params(self):
        return {"email": "tester@example.com", "api_key": "a-key-that-works"}

    @pytest.fixture
    def bad_connect_params(self):
        return {"email": "tester@example.com", "api_key": ""}
'''

#: the parts of HOOKS_PY and TEST_CONFORMANCE_PY that differ per kind of provider
DEFAULT_PARTS = {
    "about": """\
The hub calls these hooks only for this provider's own accounts. Add a capability to
``CAPABILITIES`` once its hooks are implemented, and turn on the matching ``supports_*`` flag in
tests/test_conformance.py so the conformance suite tests it.""",
    "imports": """\
from typing import Any, Callable

from hub.exceptions import AuthenticationFailed
from hub.plugins import hookimpl
from hub.types import AccountHandle, ConnectField, ConnectResult, ProviderContext, ProviderInfo""",
    "capabilities": "frozenset()",
    "more_hooks": "",
    "test_imports": "",
    "remote_body": '"""',
    "flags": "",
    "remote_fixture_args": "",
    "remote_args": "",
}

READ_ONLY_PARTS = {
    "about": """\
The hub calls these hooks only for this provider's own accounts. It reads calendars
(``CALENDAR_READ``) from the placeholder service in :mod:`hub_${name}.service`: replace its use
below with calls to ${label}. Add a capability to ``CAPABILITIES`` once its hooks are implemented,
and turn on the matching ``supports_*`` flag in tests/test_conformance.py.""",
    "imports": """\
from typing import Any, Callable

from hub.exceptions import AuthenticationFailed
from hub.plugins import hookimpl
from hub.types import (
    CALENDAR_READ,
    AccountHandle,
    ConnectField,
    ConnectResult,
    Cursor,
    EventPage,
    ProviderContext,
    ProviderInfo,
    RemoteCalendar,
    Window,
)
from hub_${name} import service""",
    "capabilities": "frozenset({CALENDAR_READ})",
    "more_hooks": '''

@hookimpl
def hub_list_calendars(account: AccountHandle) -> list[RemoteCalendar] | None:
    """The account's calendars: ``reader``, since the hub cannot write to them."""
    return [RemoteCalendar(remote_id=calendar_id, name="${label} calendar", access_role="reader", is_primary=True)
            for calendar_id in service.CALENDARS.calendars(account.email)]


@hookimpl
def hub_fetch_events(account: AccountHandle, calendar_id: str, cursor: Cursor | None,
                     window: Window) -> EventPage | None:
    """Everything in the window (no cursor), or what changed since the cursor, in one page."""
    since = int(cursor) if cursor else None
    events, deleted, version = service.CALENDARS.changes(calendar_id, since, window.start, window.end)
    return EventPage(events=events, deleted=deleted, next_cursor=str(version), done=True)
''',
    "test_imports": "from hub.types import RemoteEvent\nfrom hub_${name} import service\n",
    "remote_body": '''

    Until hooks.py talks to ${label}, these write into the placeholder service the hooks read from.
    """

    def create_event(self, calendar_id: str, event: RemoteEvent) -> str:
        return service.CALENDARS.save(calendar_id, event.replace(remote_id=""))

    def update_event(self, calendar_id: str, event: RemoteEvent) -> None:
        service.CALENDARS.save(calendar_id, event)

    def delete_event(self, calendar_id: str, remote_id: str) -> None:
        service.CALENDARS.delete(calendar_id, remote_id)''',
    "flags": """\
    supports_calendar_read = True
    server_cursors = False  # the placeholder's cursors never expire (True, and Remote.expire_cursors, once they can)
""",
    "remote_fixture_args": "",
    "remote_args": "",
}

MAIL_ONLY_PARTS = {
    "about": """\
The hub calls these hooks only for this provider's own accounts. It reads mail (``MAIL``) from the
placeholder mailbox in :mod:`hub_${name}.service`: replace its use below with calls to ${label}.
Add a capability to ``CAPABILITIES`` once its hooks are implemented, and turn on the matching
``supports_*`` flag in tests/test_conformance.py.""",
    "imports": """\
from datetime import datetime
from typing import Any, Callable

from hub.exceptions import AuthenticationFailed
from hub.plugins import hookimpl
from hub.types import (
    MAIL,
    AccountHandle,
    Address,
    ConnectField,
    ConnectResult,
    Cursor,
    MailPage,
    ProviderContext,
    ProviderInfo,
    RemoteMessage,
)
from hub_${name} import service""",
    "capabilities": "frozenset({MAIL})",
    "more_hooks": '''

@hookimpl
def hub_sync_mail(account: AccountHandle, folder: str, cursor: Cursor | None, limit: int,
                  since: datetime) -> MailPage | None:
    """At most ``limit`` messages after the cursor (none older than ``since``), oldest first."""
    after = int(cursor) if cursor else 0
    items, last, more = service.MAILBOXES.read(account.email, folder, after, limit)
    messages = [_message(item, folder) for item in items]
    return MailPage(messages=[m for m in messages if m.date is None or m.date >= since],
                    next_cursor=str(last), done=not more)


def _message(item: dict[str, Any], folder: str) -> RemoteMessage:
    """One message as the placeholder service answers it, in the hub's terms."""
    return RemoteMessage(
        remote_id=str(item["id"]),
        folder=folder,
        message_id=item["message_id"],
        subject=item["subject"],
        sender=Address(*item["sender"]) if item["sender"] else None,
        to=[Address(*pair) for pair in item["to"]],
        cc=[Address(*pair) for pair in item["cc"]],
        date=item["date"],
        text_body=item["text"],
        html_body=item["html"],
        size=item["size"],
    )
''',
    "test_imports": "from hub_${name} import service\n",
    "remote_body": '''

    Until hooks.py talks to ${label}, mail is delivered into the placeholder mailbox the hooks read.
    """

    def __init__(self, email: str):
        self.email = email

    def deliver_mail(self, folder: str, raw: bytes) -> None:
        service.MAILBOXES.deliver(self.email, folder, raw)''',
    "flags": """\
    supports_mail = True
    server_cursors = False  # the placeholder's cursors never expire (True, and Remote.expire_cursors, once they can)
""",
    "remote_fixture_args": ", good_connect_params",
    "remote_args": 'good_connect_params["email"]',
}

READ_ONLY_SERVICE_PY = '''\
"""A placeholder for ${label}'s calendar service, kept in this process's memory.

It lets the package work, and pass the hub's conformance suite, before it talks to ${label}: the
tests' ``Remote`` writes events here the way another client would, and hooks.py reads them the way
it will read ${label}'s API. Replace it with ${label}'s client; nothing else should use it.

Every change gets a new version number; a cursor is the version the hooks last saw.
"""

from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, time, timezone

from hub.types import RemoteEvent


class CalendarService:
    def __init__(self):
        self._lock = threading.Lock()  # hooks run in any thread
        self._version = 0
        #: calendar id -> event id -> (version of its last change, the event or None once deleted)
        self._events: dict[str, dict[str, tuple[int, RemoteEvent | None]]] = {}

    def calendars(self, email: str) -> list[str]:
        """The calendar ids of an account (one per account here)."""
        return [f"{email}/calendar"]

    def save(self, calendar_id: str, event: RemoteEvent) -> str:
        """Create (``remote_id`` empty) or replace an event; returns its id."""
        with self._lock:
            self._version += 1
            remote_id = event.remote_id or uuid.uuid4().hex
            stored = event.replace(remote_id=remote_id, etag=str(self._version), hub_marker=None)
            self._events.setdefault(calendar_id, {})[remote_id] = (self._version, stored)
            return remote_id

    def delete(self, calendar_id: str, remote_id: str) -> None:
        with self._lock:
            self._version += 1
            self._events.setdefault(calendar_id, {})[remote_id] = (self._version, None)

    def changes(self, calendar_id: str, since: int | None, start: datetime,
                end: datetime) -> tuple[list[RemoteEvent], list[str], int]:
        """``(events, deleted ids, current version)``: every live event between ``start`` and ``end``
        when ``since`` is None, else every event changed after version ``since``."""
        with self._lock:
            rows = list(self._events.get(calendar_id, {}).items())
            version = self._version
        if since is None:
            return [e.replace() for _, (_, e) in rows if e is not None and _overlaps(e, start, end)], [], version
        changed = [(remote_id, e) for remote_id, (v, e) in rows if v > since]
        return ([e.replace() for _, e in changed if e is not None],
                [remote_id for remote_id, e in changed if e is None], version)


def _overlaps(event: RemoteEvent, start: datetime, end: datetime) -> bool:
    if event.recurrence or event.recurring_event_id:  # a series may reach into any window
        return True
    return _instant(event.start) < end and _instant(event.end) > start


def _instant(value: datetime | date) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, time.min, timezone.utc)


CALENDARS = CalendarService()
'''

MAIL_ONLY_SERVICE_PY = '''\
"""A placeholder for ${label}'s mail service, kept in this process's memory.

It lets the package work, and pass the hub's conformance suite, before it talks to ${label}: the
tests' ``Remote`` delivers mail here, and hooks.py reads it the way it will read ${label}'s API
(messages as plain dicts, numbered in the order they arrived). Replace it with ${label}'s client;
nothing else should use it.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any


class Mailboxes:
    def __init__(self):
        self._lock = threading.Lock()  # hooks run in any thread
        self._next_id = 1
        #: (email, folder) -> [(id, raw message)], oldest first
        self._folders: dict[tuple[str, str], list[tuple[int, bytes]]] = {}

    def deliver(self, email: str, folder: str, raw: bytes) -> int:
        with self._lock:
            message_id = self._next_id
            self._next_id += 1
            self._folders.setdefault((email, folder), []).append((message_id, raw))
            return message_id

    def read(self, email: str, folder: str, after: int, limit: int) -> tuple[list[dict[str, Any]], int, bool]:
        """``(at most limit messages with ids above after, the last id read, whether more follow)``."""
        with self._lock:
            waiting = [(i, raw) for i, raw in self._folders.get((email, folder), []) if i > after]
        page = waiting[:limit]
        last = page[-1][0] if page else after
        return [_as_dict(i, raw) for i, raw in page], last, len(waiting) > limit


def _as_dict(message_id: int, raw: bytes) -> dict[str, Any]:
    msg = message_from_bytes(raw, policy=policy.default)
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    senders = getaddresses(msg.get_all("From", []))
    return {
        "id": message_id,
        "message_id": (msg.get("Message-ID") or "").strip() or None,
        "subject": msg.get("Subject", ""),
        "sender": (senders[0][1], senders[0][0]) if senders else None,
        "to": [(address, name) for name, address in getaddresses(msg.get_all("To", []))],
        "cc": [(address, name) for name, address in getaddresses(msg.get_all("Cc", []))],
        "date": _aware(parsedate_to_datetime(msg["Date"])) if msg["Date"] else None,
        "text": text.get_content() if text else "",
        "html": html.get_content() if html else "",
        "size": len(raw),
    }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)  # "-0000": UTC, zone unknown


MAILBOXES = Mailboxes()
'''

#: path inside the package folder -> template, for every kind of provider
FILES: dict[str, str] = {
    "setup.cfg": SETUP_CFG,
    "pyproject.toml": PYPROJECT_TOML,
    "README.md": README_MD,
    "hub_${name}/__init__.py": INIT_PY,
    "hub_${name}/hooks.py": HOOKS_PY,
    "tests/test_conformance.py": TEST_CONFORMANCE_PY,
}

#: kind of provider -> (the parts of the templates that differ, its extra files)
KINDS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "default": (DEFAULT_PARTS, {}),
    "read-only": (READ_ONLY_PARTS, {"hub_${name}/service.py": READ_ONLY_SERVICE_PY}),
    "mail-only": (MAIL_ONLY_PARTS, {"hub_${name}/service.py": MAIL_ONLY_SERVICE_PY}),
}


def create_provider(name: str, dest_dir: str | Path = ".", label: str | None = None, kind: str = "default") -> Path:
    """Write a new provider package ``crm-hub-<name>`` under ``dest_dir`` and return its folder.

    This is what ``hub new-provider NAME [--read-only | --mail-only] [--dest DIR] [--label LABEL]`` runs.

    :param name: the provider name (lower case letters, digits, ``_``), e.g. ``"acme"``; it becomes
        the entry-point name, the package ``hub_<name>`` and the distribution ``crm-hub-<name>``
        (underscores become dashes there).
    :param dest_dir: the folder to create the package folder in (created if missing).
    :param label: the name people see; ``name`` capitalised when omitted.
    :param kind: ``"default"`` — no capabilities yet; ``"read-only"`` — ``CALENDAR_READ``, reading a
        placeholder calendar service in the package; ``"mail-only"`` — ``MAIL``, reading a placeholder
        mailbox. Each passes the conformance suite as written.
    :raises ValidationError: the name, label or kind is not usable, or the package folder exists already.
    """
    if not NAME_PATTERN.match(name or ""):
        raise ValidationError(
            f"{name!r} cannot be a provider name.",
            fix="Use 2 to 31 lower-case letters, digits or underscores, starting with a letter (e.g. acme).",
            field="name",
        )
    label = label or name.replace("_", " ").title()
    if not label.isprintable() or any(c in label for c in "\"'\\$"):
        raise ValidationError(f"{label!r} cannot be a provider label.", fix="Leave out quotes, $ and backslashes.",
                              field="label")
    if kind not in KINDS:
        raise ValidationError(f"{kind!r} is not a kind of provider.", fix=f"Use one of {', '.join(KINDS)}.",
                              field="kind")
    dist = name.replace("_", "-")  # distribution names use dashes; the package keeps underscores
    target = Path(dest_dir) / f"crm-hub-{dist}"
    if target.exists():
        raise ValidationError(f"{target} exists already.", fix="Choose another --dest folder or remove it first.")
    values = {
        "name": name,
        "dist": dist,
        "label": label,
        "cls": "".join(part.title() for part in name.split("_")),
    }
    parts, extra_files = KINDS[kind]
    for path, template in {**FILES, **extra_files}.items():
        out = target / Template(path).substitute(values)
        out.parent.mkdir(parents=True, exist_ok=True)
        # the kind's parts go in first; they hold ${name} and ${label} themselves
        text = Template(Template(template).safe_substitute(parts)).substitute(values)
        out.write_text(text, encoding="utf-8")
    return target
