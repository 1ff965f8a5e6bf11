"""The sandbox itself, spoken to over raw HTTP the way any Google client would: the contract rules of
docs/provider-notes.md ("The Google sandbox's contract"), its knobs, the demo seed — and the discovery
validator's own teeth."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from urllib.parse import quote, urlencode

import pytest
import requests

from hub import oauth

from hub_google.sandbox import SandboxServer, SandboxState, seed_demo
from hub_google.sandbox.state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from hub_google.testing import SANDBOX_USER, approve

ALL_SCOPES = "openid email https://www.googleapis.com/auth/calendar https://www.googleapis.com/auth/gmail.readonly " \
             "https://www.googleapis.com/auth/gmail.send"


def authorize(url: str, scope: str = ALL_SCOPES, prompt: str | None = "consent", offline: bool = True):
    start = oauth.start("http://127.0.0.1:9/cb")
    query = {"client_id": DEFAULT_CLIENT_ID, "redirect_uri": start.redirect_uri, "response_type": "code",
             "scope": scope, "state": start.state, "code_challenge": start.code_challenge,
             "code_challenge_method": "S256"}
    if offline:
        query["access_type"] = "offline"
    if prompt:
        query["prompt"] = prompt
    answer = approve(f"{url}/o/oauth2/v2/auth?{urlencode(query)}", SANDBOX_USER)
    return start, answer


def exchange(url: str, start, code: str, verifier: str | None = None) -> requests.Response:
    return requests.post(f"{url}/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": start.redirect_uri,
        "code_verifier": verifier or start.code_verifier, "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET}, timeout=10)


@pytest.fixture
def api(google_sandbox):
    """A requests session with a bearer token for alice, based at the sandbox URL."""
    start, answer = authorize(google_sandbox.url)
    token = exchange(google_sandbox.url, start, answer["code"]).json()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token['access_token']}"
    session.base = google_sandbox.url
    session.token = token
    yield session
    session.close()


def events_url(api, calendar_id=SANDBOX_USER) -> str:
    return f"{api.base}/calendar/v3/calendars/{calendar_id}/events"


def add(state, n: int, days: int = 2) -> list[dict]:
    base = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=days)
    return [state.create_event(SANDBOX_USER, SANDBOX_USER, {
        "summary": f"e{i}", "start": {"dateTime": (base + timedelta(hours=i)).isoformat()},
        "end": {"dateTime": (base + timedelta(hours=i, minutes=20)).isoformat()}}) for i in range(n)]


def error_of(response: requests.Response) -> tuple[int, str]:
    body = response.json()["error"]
    return response.status_code, body["errors"][0]["reason"]


# --- OAuth ---------------------------------------------------------------------------------------------------


def test_token_exchange_checks_pkce_and_codes_are_single_use(google_sandbox):
    start, answer = authorize(google_sandbox.url)
    wrong = exchange(google_sandbox.url, start, answer["code"], verifier="x" * 50)
    assert (wrong.status_code, wrong.json()) == (400, {"error": "invalid_grant",
                                                       "error_description": "Invalid code verifier."})
    good = exchange(google_sandbox.url, start, answer["code"])
    assert good.status_code == 200 and good.json()["token_type"] == "Bearer" and good.json()["refresh_token"]
    assert good.json()["expires_in"] == 3599 and "no-store" in good.headers["Cache-Control"]
    again = exchange(google_sandbox.url, start, answer["code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_no_refresh_token_again_without_prompt_consent(google_sandbox):
    for prompt, offline, wanted in (("consent", True, True), (None, True, False), ("consent", False, False)):
        start, answer = authorize(google_sandbox.url, prompt=prompt, offline=offline)
        body = exchange(google_sandbox.url, start, answer["code"]).json()
        assert ("refresh_token" in body) is wanted, (prompt, offline)


def test_refresh_after_revocation_answers_googles_invalid_grant(google_sandbox, api):
    refresh = {"grant_type": "refresh_token", "refresh_token": api.token["refresh_token"],
               "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}
    fresh = requests.post(f"{api.base}/token", data=refresh, timeout=10).json()
    assert "refresh_token" not in fresh, "a refresh keeps the old refresh token"
    assert requests.post(f"{api.base}/revoke", data={"token": api.token["refresh_token"]}, timeout=10).ok
    answer = requests.post(f"{api.base}/token", data=refresh, timeout=10)
    assert (answer.status_code, answer.json()) == (400, {"error": "invalid_grant",
                                                         "error_description": "Token has been expired or revoked."})
    listing = api.get(f"{api.base}/calendar/v3/users/me/calendarList")
    assert error_of(listing) == (401, "authError") and "Bearer" in listing.headers["WWW-Authenticate"]


def test_scopes_are_enforced(google_sandbox):
    start, answer = authorize(google_sandbox.url, scope="openid email https://www.googleapis.com/auth/calendar")
    token = exchange(google_sandbox.url, start, answer["code"]).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{google_sandbox.url}/calendar/v3/users/me/calendarList", headers=headers).ok
    gmail = requests.get(f"{google_sandbox.url}/gmail/v1/users/me/messages", headers=headers)
    assert error_of(gmail) == (403, "insufficientPermissions")


def test_consent_page_errors(google_sandbox):
    page = requests.get(f"{google_sandbox.url}/o/oauth2/v2/auth?client_id=unknown&redirect_uri=http://x/&"
                        "response_type=code&scope=openid")
    assert page.status_code == 401 and "invalid_client" in page.text
    page = requests.get(f"{google_sandbox.url}/o/oauth2/v2/auth?client_id={DEFAULT_CLIENT_ID}&redirect_uri=http://x/&"
                        "response_type=code&scope=https://www.googleapis.com/auth/nonsense")
    assert page.status_code == 400 and "invalid_scope" in page.text


# --- Calendar -------------------------------------------------------------------------------------------------


def test_paging_has_next_page_token_xor_next_sync_token(google_sandbox, api):
    add(google_sandbox.state, 5)
    pages, params = [], {"maxResults": 2}
    while True:
        body = api.get(events_url(api), params=params).json()
        pages.append(body)
        assert ("nextPageToken" in body) != ("nextSyncToken" in body)
        if "nextSyncToken" in body:
            break
        params["pageToken"] = body["nextPageToken"]
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert "nextSyncToken" in pages[-1] and all("nextSyncToken" not in p for p in pages[:-1])
    token = pages[-1]["nextSyncToken"]
    quiet = api.get(events_url(api), params={"syncToken": token}).json()
    assert quiet["items"] == [] and quiet["nextSyncToken"]


def test_sync_token_rules(google_sandbox, api):
    made = add(google_sandbox.state, 2)
    token = api.get(events_url(api)).json()["nextSyncToken"]
    mixed = api.get(events_url(api), params={"syncToken": token, "timeMin": "2030-01-01T00:00:00Z"})
    assert error_of(mixed) == (400, "syncTokenWithRequestRestrictions")
    google_sandbox.state.delete_event(SANDBOX_USER, SANDBOX_USER, made[0]["id"])
    changes = api.get(events_url(api), params={"syncToken": token}).json()["items"]
    assert changes == [{"kind": "calendar#event", "etag": changes[0]["etag"], "id": made[0]["id"],
                        "status": "cancelled"}], "a deletion carries only its id"
    google_sandbox.state.expire_sync_tokens()
    gone = api.get(events_url(api), params={"syncToken": token})
    assert error_of(gone) == (410, "fullSyncRequired")


def test_insert_with_a_taken_id_and_stale_if_match(google_sandbox, api):
    body = {"id": "hubevent00001", "summary": "x", "start": {"date": "2031-02-01"}, "end": {"date": "2031-02-02"}}
    first = api.post(events_url(api), json=body)
    assert first.status_code == 200 and first.json()["id"] == "hubevent00001"
    assert error_of(api.post(events_url(api), json=body)) == (409, "duplicate")
    assert error_of(api.post(events_url(api), json={**body, "id": "Not_Base32hex"})) == (400, "invalid")
    url = f"{events_url(api)}/hubevent00001"
    stale = first.json()["etag"]
    assert api.patch(url, json={"summary": "y"}, headers={"If-Match": stale}).ok
    assert error_of(api.patch(url, json={"summary": "z"}, headers={"If-Match": stale})) == (412, "conditionNotMet")
    assert error_of(api.delete(url, headers={"If-Match": stale})) == (412, "conditionNotMet")
    assert api.delete(url).status_code == 204
    assert error_of(api.delete(url)) == (410, "deleted")
    assert error_of(api.post(events_url(api), json={**body, "extra": 1})) == (400, "invalid")


def test_single_events_and_ordering(google_sandbox, api):
    start = datetime.now(timezone.utc).replace(microsecond=0, second=0) + timedelta(days=1)
    master = google_sandbox.state.create_event(SANDBOX_USER, SANDBOX_USER, {
        "summary": "daily", "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
        "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": (start + timedelta(minutes=10)).isoformat(), "timeZone": "UTC"}})
    expanded = api.get(events_url(api), params={"singleEvents": "true", "orderBy": "startTime"}).json()["items"]
    assert [i["recurringEventId"] for i in expanded] == [master["id"]] * 3
    assert [i["id"] for i in expanded][0] == f"{master['id']}_{start:%Y%m%dT%H%M%SZ}"
    masters = api.get(events_url(api)).json()["items"]
    assert [i["id"] for i in masters] == [master["id"]]
    bad = api.get(events_url(api), params={"orderBy": "startTime"})
    assert error_of(bad) == (400, "badRequest")
    empty = api.get(events_url(api), params={"timeMin": "2031-01-02T00:00:00Z", "timeMax": "2031-01-01T00:00:00Z"})
    assert error_of(empty) == (400, "timeRangeEmpty")
    instances = api.get(f"{events_url(api)}/{master['id']}/instances").json()["items"]
    assert len(instances) == 3


def test_free_busy_merges_and_reports_unknown_calendars(google_sandbox, api):
    made = add(google_sandbox.state, 2)
    body = api.post(f"{api.base}/calendar/v3/freeBusy", json={
        "timeMin": made[0]["start"]["dateTime"], "timeMax": made[1]["end"]["dateTime"],
        "items": [{"id": SANDBOX_USER}, {"id": "ghost@example.com"}]}).json()
    assert len(body["calendars"][SANDBOX_USER]["busy"]) == 2
    assert body["calendars"]["ghost@example.com"]["errors"] == [{"domain": "global", "reason": "notFound"}]


def test_push_channel_lifecycle(google_sandbox, api, google_webhook_receiver):
    watch = api.post(f"{events_url(api)}/watch", json={"id": "chan-1", "type": "web_hook", "token": "secret",
                                                        "address": f"{google_webhook_receiver.url}/hook"}).json()
    assert watch["kind"] == "api#channel" and int(watch["expiration"]) > 0
    sync = google_webhook_receiver.wait_for(lambda r: r.headers.get("X-Goog-Resource-State") == "sync")
    assert (sync.headers["X-Goog-Channel-Id"], sync.headers["X-Goog-Channel-Token"]) == ("chan-1", "secret")
    assert sync.headers["X-Goog-Resource-Id"] == watch["resourceId"]
    duplicate = api.post(f"{events_url(api)}/watch", json={"id": "chan-1", "type": "web_hook",
                                                           "address": google_webhook_receiver.url})
    assert error_of(duplicate) == (400, "channelIdNotUnique")
    stop = api.post(f"{api.base}/calendar/v3/channels/stop", json={"id": "chan-1", "resourceId": watch["resourceId"]})
    assert stop.status_code == 204
    add(google_sandbox.state, 1)
    assert google_sandbox.state.wait_for_notifications()
    assert [r.headers["X-Goog-Resource-State"] for r in google_webhook_receiver.requests] == ["sync"], "stopped is stopped"
    again = api.post(f"{api.base}/calendar/v3/channels/stop", json={"id": "chan-1", "resourceId": watch["resourceId"]})
    assert error_of(again) == (404, "notFound")


def test_webhook_addresses_must_be_https_but_for_the_loopback_exception(google_sandbox, api,
                                                                        google_webhook_receiver):
    def watch(channel_id: str, address: str):
        return api.post(f"{events_url(api)}/watch", json={"id": channel_id, "type": "web_hook", "address": address})

    assert google_sandbox.state.loopback_http_push, "the google_sandbox fixture turns the exception on"
    for address in ("http://hub.example.org/webhooks/google", "ftp://127.0.0.1/x", "http://10.0.0.8/w"):
        assert error_of(watch("c1", address)) == (400, "push.webhookUrlNotHttps")
    assert watch("c2", f"{google_webhook_receiver.url}/hook").status_code == 200
    google_sandbox.state.loopback_http_push = False
    assert error_of(watch("c3", f"{google_webhook_receiver.url}/hook")) == (400, "push.webhookUrlNotHttps")


# --- Gmail ------------------------------------------------------------------------------------------------------


def test_gmail_formats_history_and_attachments(google_sandbox, api):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@acme.example", SANDBOX_USER, "files"
    msg.set_content("see attached")
    msg.add_attachment(b"1234567890", maintype="application", subtype="octet-stream", filename="n.bin")
    start = api.get(f"{api.base}/gmail/v1/users/me/profile").json()["historyId"]
    stored = google_sandbox.state.deliver_mail(SANDBOX_USER, bytes(msg))
    base = f"{api.base}/gmail/v1/users/me/messages/{stored.id}"
    raw = api.get(base, params={"format": "raw"}).json()
    assert base64.urlsafe_b64decode(raw["raw"]) == bytes(msg) and "payload" not in raw
    meta = api.get(base, params={"format": "metadata", "metadataHeaders": "Subject"}).json()
    assert meta["payload"]["headers"] == [{"name": "Subject", "value": "files"}]
    full = api.get(base).json()
    part = full["payload"]["parts"][1]
    assert part["filename"] == "n.bin" and "data" not in part["body"] and part["body"]["size"] == 10
    data = api.get(f"{base}/attachments/{part['body']['attachmentId']}").json()
    assert base64.urlsafe_b64decode(data["data"]) == b"1234567890"
    history = api.get(f"{api.base}/gmail/v1/users/me/history", params={"startHistoryId": start}).json()
    assert [h["messagesAdded"][0]["message"]["id"] for h in history["history"]] == [stored.id]
    google_sandbox.state.expire_history()
    expired = api.get(f"{api.base}/gmail/v1/users/me/history", params={"startHistoryId": start})
    assert error_of(expired) == (404, "notFound")


def test_gmail_send_needs_a_recipient_and_keeps_threads(google_sandbox, api):
    def send(msg: EmailMessage, thread: str | None = None):
        body = {"raw": base64.urlsafe_b64encode(bytes(msg)).decode()}
        if thread:
            body["threadId"] = thread
        return api.post(f"{api.base}/gmail/v1/users/me/messages/send", json=body)

    lonely = EmailMessage()
    lonely["Subject"] = "nobody"
    assert error_of(send(lonely)) == (400, "invalidArgument")
    first = EmailMessage()
    first["To"], first["Subject"], first["Message-ID"] = "x@acme.example", "Plan", "<plan-1@hub.example>"
    sent = send(first).json()
    assert sent["labelIds"] == ["SENT"] and sent["threadId"] == sent["id"]
    reply = EmailMessage()
    reply["To"], reply["Subject"], reply["In-Reply-To"] = "x@acme.example", "Re: Plan", "<plan-1@hub.example>"
    assert send(reply, sent["threadId"]).json()["threadId"] == sent["threadId"]
    other = EmailMessage()
    other["To"], other["Subject"], other["In-Reply-To"] = "x@acme.example", "Something else", "<plan-1@hub.example>"
    assert send(other, sent["threadId"]).json()["threadId"] != sent["threadId"], "Gmail wants the same subject"


# --- knobs over HTTP, the demo seed, the validator ----------------------------------------------------------------


def test_admin_api_injects_faults_with_retry_after(google_sandbox, api):
    requests.post(f"{api.base}/_sandbox/faults", json={"kind": "429", "times": 1, "retry_after": 4})
    limited = api.get(f"{api.base}/calendar/v3/users/me/calendarList")
    assert error_of(limited) == (429, "rateLimitExceeded") and limited.headers["Retry-After"] == "4"
    assert api.get(f"{api.base}/calendar/v3/users/me/calendarList").ok
    made = requests.post(f"{api.base}/_sandbox/users/{SANDBOX_USER}/calendars/{SANDBOX_USER}/events", json={
        "summary": "from admin", "start": {"date": "2031-03-01"}, "end": {"date": "2031-03-02"}}).json()
    assert api.get(f"{events_url(api)}/{made['id']}").json()["summary"] == "from admin"


def test_demo_seed_is_served_within_the_contract(monkeypatch, discovery):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    state = SandboxState()
    made = seed_demo(state, SANDBOX_USER, "Alice Example")
    assert made["messages"] >= 24 and made["events"] >= 8 and made["calendars"] == 3
    state.record_responses = True
    with SandboxServer(state=state) as server:
        start, answer = authorize(server.url)
        token = exchange(server.url, start, answer["code"]).json()["access_token"]
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        calendars = session.get(f"{server.url}/calendar/v3/users/me/calendarList").json()["items"]
        assert {c["accessRole"] for c in calendars} == {"owner", "reader"}
        for calendar in calendars:
            for single in ("true", "false"):
                items = session.get(f"{server.url}/calendar/v3/calendars/{quote(calendar['id'], safe='')}/events",
                                    params={"singleEvents": single}).json()["items"]
                assert items
        listed = session.get(f"{server.url}/gmail/v1/users/me/messages", params={"maxResults": 500}).json()
        assert listed["resultSizeEstimate"] == made["messages"]
        for ref in listed["messages"]:
            session.get(f"{server.url}/gmail/v1/users/me/messages/{ref['id']}")
        session.get(f"{server.url}/gmail/v1/users/me/labels")
    problems = [p for method, _, body in state.responses for p in discovery.validate(method, body)]
    assert len(state.responses) > made["messages"] and not problems and not state.crashes


def test_the_validator_rejects_what_google_would_not_send(discovery):
    good = {"kind": "calendar#events", "items": [{"id": "abc", "start": {"dateTime": "2030-01-01T10:00:00Z"}}]}
    assert discovery.validate("calendar.events.list", good) == []
    assert discovery.validate("calendar.events.list", {**good, "nextToken": "x"}) == [
        "calendar.events.list: unknown property 'nextToken'"]
    wrong_type = {"items": [{"id": "abc", "sequence": "1"}]}
    assert discovery.validate("calendar.events.list", wrong_type) == [
        "calendar.events.list.items[0].sequence: expected an integer, got str"]
    assert discovery.validate("gmail.users.messages.get", {"internalDate": 17}) == [
        "gmail.users.messages.get.internalDate: expected a string, got int"]
    assert discovery.validate("gmail.users.messages.get", {"historyId": "12a"})
    assert discovery.validate("calendar.events.get", {"updated": "yesterday"})


def test_free_busy_refuses_ranges_over_90_days(google_sandbox, api):
    start = datetime(2031, 1, 1, tzinfo=timezone.utc)
    query = {"timeMin": start.isoformat(), "items": [{"id": SANDBOX_USER}]}
    url = f"{api.base}/calendar/v3/freeBusy"
    ok = api.post(url, json=dict(query, timeMax=(start + timedelta(days=90)).isoformat()))
    assert ok.status_code == 200
    long = api.post(url, json=dict(query, timeMax=(start + timedelta(days=91)).isoformat()))
    assert error_of(long) == (400, "timeRangeTooLong")
    assert long.json()["error"]["message"] == "The requested time range is too long."


def test_refresh_asking_for_more_than_the_grant_is_invalid_scope(google_sandbox, api):
    refresh = {"grant_type": "refresh_token", "refresh_token": api.token["refresh_token"],
               "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}
    narrower = requests.post(f"{api.base}/token", timeout=10,
                             data=dict(refresh, scope="https://www.googleapis.com/auth/calendar"))
    assert narrower.status_code == 200
    wider = requests.post(f"{api.base}/token", timeout=10, data=dict(
        refresh, scope="https://www.googleapis.com/auth/calendar https://www.googleapis.com/auth/drive"))
    assert (wider.status_code, wider.json()["error"]) == (400, "invalid_scope")


def test_no_sync_token_for_an_ordered_or_searched_list(google_sandbox, api):
    add(google_sandbox.state, 2)
    plain = api.get(events_url(api)).json()
    assert "nextSyncToken" in plain
    for params in ({"orderBy": "updated"}, {"orderBy": "startTime", "singleEvents": "true"}, {"q": "e1"}):
        body = api.get(events_url(api), params=params).json()
        assert "nextSyncToken" not in body and "nextPageToken" not in body and body["items"], params
