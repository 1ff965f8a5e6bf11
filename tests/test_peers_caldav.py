"""The ``radicale`` peer fixture: a deployment-like Radicale and the fronts that model real servers."""

from __future__ import annotations

import re

import requests
from lxml import etree

DAV, CALDAV = "{DAV:}", "{urn:ietf:params:xml:ns:caldav}"
EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hub tests//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
         "DTSTAMP:20270101T000000Z\r\nDTSTART:20270301T100000Z\r\nDTEND:20270301T110000Z\r\nSUMMARY:{uid}\r\n"
         "END:VEVENT\r\nEND:VCALENDAR\r\n")
SYNC = ('<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>'
        "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>")


def propfind(url: str, user, body: str, depth: str = "0") -> etree._Element:
    response = requests.request("PROPFIND", url, data=body, headers={"Depth": depth}, auth=user.auth, timeout=10)
    assert response.status_code == 207, response.text
    return etree.fromstring(response.content)


def sync(url: str, user, token: str = "") -> requests.Response:
    return requests.request("REPORT", url, data=SYNC.format(token=token), auth=user.auth, timeout=10,
                            headers={"Depth": "0", "Content-Type": "application/xml"})


def test_users_rights_and_authentication(radicale):
    alice, bob = radicale.add_user(), radicale.add_user()
    assert re.fullmatch(r"[a-z]{4}-[a-z]{4}-[a-z]{4}-[a-z]{4}", alice.password), "app-specific password shape"
    path = radicale.make_calendar(alice, "work", components=("VEVENT",))
    radicale.put_object(alice, path + "a.ics", EVENT.format(uid="a"))

    assert radicale.request(alice, "GET", path + "a.ics").status_code == 200
    assert radicale.request(bob, "GET", path + "a.ics").status_code == 403, "owner_only rights"
    wrong = requests.get(radicale.url.rstrip("/") + path + "a.ics", auth=(alice.name, "x"), timeout=10)
    assert wrong.status_code == 401, "htpasswd authentication"

    tasks = radicale.make_calendar(alice, "tasks", components=("VTODO",))
    tree = propfind(radicale.url.rstrip("/") + tasks, alice,
                    '<propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><prop>'
                    "<C:supported-calendar-component-set/></prop></propfind>")
    assert [c.get("name") for c in tree.iter(f"{CALDAV}comp")] == ["VTODO"]


def test_split_host_front(radicale):
    user = radicale.add_user()
    radicale.make_calendar(user, "home")
    front = radicale.split_host()
    tree = propfind(front.url, user, '<propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>')
    principal = tree.find(f".//{DAV}current-user-principal/{DAV}href").text
    tree = propfind(front.origin + principal, user,
                    '<propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><prop>'
                    "<C:calendar-home-set/></prop></propfind>")
    home = tree.find(f".//{CALDAV}calendar-home-set/{DAV}href").text
    assert home.startswith("http://localhost:") and not home.startswith(front.origin)

    listing = propfind(home, user, '<propfind xmlns="DAV:"><prop><resourcetype/></prop></propfind>', depth="1")
    assert any(h.text.endswith("/home/") for h in listing.iter(f"{DAV}href")), "the home host serves calendars"
    refused = requests.request("PROPFIND", front.url + principal.lstrip("/"), headers={"Depth": "1"},
                               auth=user.auth, timeout=10)
    assert refused.status_code == 421 and front.misdirected == [f"PROPFIND {requests.utils.unquote(principal)}"]


def test_front_without_sync_tokens(radicale):
    user = radicale.add_user()
    path = radicale.make_calendar(user, "home")
    front = radicale.front(sync_tokens=False)
    tree = propfind(front.origin + path, user, '<propfind xmlns="DAV:" xmlns:CS="http://calendarserver.org/ns/">'
                                               "<prop><sync-token/><CS:getctag/></prop></propfind>")
    assert tree.find(f".//{DAV}sync-token") is None
    assert tree.find(".//{http://calendarserver.org/ns/}getctag").text, "the ctag is still there"
    refused = sync(front.origin + path, user)
    assert refused.status_code == 403 and b"supported-report" in refused.content


def test_front_truncating_sync_replies(radicale):
    user = radicale.add_user()
    path = radicale.make_calendar(user, "home")
    for uid in "abcde":
        radicale.put_object(user, f"{path}{uid}.ics", EVENT.format(uid=uid))
    front = radicale.front(sync_page_size=2)
    seen, token, pages = [], "", 0
    while True:
        pages += 1
        tree = etree.fromstring(sync(front.origin + path, user, token).content)
        statuses = [r.findtext(f"{DAV}status") or "" for r in tree.iter(f"{DAV}response")]
        seen += [r.findtext(f"{DAV}href") for r in tree.iter(f"{DAV}response") if r.find(f"{DAV}propstat") is not None]
        token = tree.findtext(f"{DAV}sync-token")
        if not any("507" in s for s in statuses):
            break
    assert pages == 3 and sorted(h.rsplit("/", 1)[-1] for h in seen) == [f"{uid}.ics" for uid in "abcde"]
    assert token.startswith("http://radicale.org/ns/sync/"), "the last page hands out the server's own token"


def test_expire_sync_tokens(radicale):
    user = radicale.add_user()
    path = radicale.make_calendar(user, "home")
    url = radicale.url.rstrip("/") + path
    token = etree.fromstring(sync(url, user).content).findtext(f"{DAV}sync-token")
    assert sync(url, user, token).status_code == 207
    radicale.expire_sync_tokens(user)
    expired = sync(url, user, token)
    assert expired.status_code == 403 and b"valid-sync-token" in expired.content


# --- xandikos ------------------------------------------------------------------------------------------


def test_xandikos_front_asks_for_basic_or_digest_login(xandikos):
    from requests.auth import HTTPDigestAuth

    plain, digest = xandikos.add_user(), xandikos.add_user(auth="digest")
    calendar = plain.url + "user/calendars/calendar/"
    assert requests.request("PROPFIND", calendar, timeout=10).status_code == 401
    assert requests.request("PROPFIND", calendar, auth=(plain.name, "wrong"), timeout=10).status_code == 401
    assert requests.request("PROPFIND", calendar, auth=plain.auth, timeout=10).status_code == 207
    home = digest.url + "user/calendars/calendar/"
    assert requests.request("PROPFIND", home, auth=digest.auth, timeout=10).status_code == 401  # basic refused
    assert requests.request("PROPFIND", home, auth=HTTPDigestAuth(*digest.auth), timeout=10).status_code == 207
    assert requests.request("PROPFIND", home, auth=HTTPDigestAuth(digest.name, "wrong"), timeout=10).status_code == 401


def test_xandikos_expired_sync_tokens_are_refused_with_412(xandikos):
    user = xandikos.add_user()
    calendar = user.url + "user/calendars/calendar/"
    xandikos.put_object(user, "/user/calendars/calendar/a.ics", EVENT.format(uid="a"))
    first = sync(calendar, user)
    assert first.status_code == 207, first.text
    token = etree.fromstring(first.content).findtext(f"{DAV}sync-token")
    assert sync(calendar, user, token).status_code == 207
    xandikos.expire_sync_tokens(user)
    refused = sync(calendar, user, token)
    assert refused.status_code == 412 and b"valid-sync-token" in refused.content
    fresh = sync(calendar, user)
    assert fresh.status_code == 207 and b"a.ics" in fresh.content, "the data itself is still there"
