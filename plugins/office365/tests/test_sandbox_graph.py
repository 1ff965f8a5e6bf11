"""The sandbox's Graph endpoints behave as Graph documents them (raw HTTP, no plugin involved)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from hub.types import WebhookResult

from hub_office365.sandbox.state import Grant
from hub_office365.testing import USER


@pytest.fixture
def graph(office365_sandbox):
    """A requests session with a live bearer token for alice, and the Graph base URL."""
    state = office365_sandbox.state
    grant = Grant(id=str(uuid.uuid4()), email=USER, client_id="sandbox-client", scopes=["User.Read"])
    state.grants[grant.id] = grant
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + state.issue_tokens(grant)["access_token"]
    session.base = office365_sandbox.graph_base
    return session


def _when(days: int, hour: int) -> dict:
    day = (datetime.now(timezone.utc) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return {"dateTime": day.replace(tzinfo=None).isoformat(), "timeZone": "UTC"}


def _window(days: int = 30) -> dict:
    now = datetime.now(timezone.utc)
    return {"startDateTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endDateTime": (now + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")}


def _delta_all(graph, url, params=None, page=2):
    pages, body = [], graph.get(url, params=params, headers={"Prefer": f"odata.maxpagesize={page}"}).json()
    while True:
        pages.append(body)
        assert not ("@odata.nextLink" in body and "@odata.deltaLink" in body), "never both on one page"
        if "@odata.deltaLink" in body:
            return pages, body["@odata.deltaLink"]
        body = graph.get(body["@odata.nextLink"], headers={"Prefer": f"odata.maxpagesize={page}"}).json()


def test_calendar_view_delta_pages_then_reports_changes(graph, state):
    ids = [state.add_event(USER, {"subject": f"e{i}", "start": _when(2, 8 + i), "end": _when(2, 9 + i)})["id"]
           for i in range(5)]
    url = graph.base + "/me/calendarView/delta"
    pages, delta_link = _delta_all(graph, url, _window())
    assert len(pages) == 3 and all(len(p["value"]) <= 2 for p in pages)
    assert sorted(i["id"] for p in pages for i in p["value"]) == sorted(ids)

    state.update_event(USER, ids[0], {"subject": "moved"})
    state.delete_event(USER, ids[1])
    pages, delta_link = _delta_all(graph, delta_link)
    items = [i for p in pages for i in p["value"]]
    assert {"id": ids[1], "@removed": {"reason": "deleted"}} in items
    assert [i["subject"] for i in items if i["id"] == ids[0]] == ["moved"]
    assert len(items) == 2

    pages, _ = _delta_all(graph, delta_link)
    assert not [i for p in pages for i in p["value"]]


def test_same_next_link_gives_the_same_page(graph, state):
    for i in range(3):
        state.add_event(USER, {"subject": f"e{i}", "start": _when(3, 8 + i), "end": _when(3, 9 + i)})
    first = graph.get(graph.base + "/me/calendarView/delta", params=_window(),
                      headers={"Prefer": "odata.maxpagesize=1"}).json()
    again = [graph.get(first["@odata.nextLink"]).json()["value"] for _ in range(2)]
    assert again[0] == again[1]


def test_delta_needs_a_window_and_expires(graph, state):
    missing = graph.get(graph.base + "/me/calendarView/delta")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "ErrorInvalidParameter"
    _, delta_link = _delta_all(graph, graph.base + "/me/calendarView/delta", _window())
    state.expire_delta_tokens()
    gone = graph.get(delta_link)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "syncStateNotFound"
    state.knobs.delta_expiry_style = "invalid"
    invalid = graph.get(delta_link)
    assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "syncStateInvalid"


def test_series_expands_into_occurrences_exceptions_and_cancellations(graph, state):
    start = datetime.now(timezone.utc).date() + timedelta(days=1)
    master = state.add_event(USER, {
        "subject": "standup", "start": {"dateTime": f"{start}T09:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": f"{start}T09:15:00", "timeZone": "Europe/Berlin"},
        "recurrence": {"pattern": {"type": "daily", "interval": 1},
                       "range": {"type": "numbered", "numberOfOccurrences": 4, "startDate": str(start)}}})
    items = graph.get(graph.base + "/me/calendarView", params=_window()).json()["value"]
    assert [i["type"] for i in items] == ["occurrence"] * 4
    assert {i["seriesMasterId"] for i in items} == {master["id"]}
    state.update_event(USER, items[1]["id"], {"subject": "standup (late)"})
    state.delete_event(USER, items[2]["id"])
    after = graph.get(graph.base + "/me/calendarView", params=_window()).json()["value"]
    assert [i["type"] for i in after] == ["occurrence", "exception", "occurrence"]
    assert after[1]["id"] == items[1]["id"] and after[1]["subject"] == "standup (late)"
    assert after[1]["originalStart"] == items[1]["originalStart"]
    series = graph.get(graph.base + f"/me/events/{master['id']}").json()
    assert series["type"] == "seriesMaster" and series["recurrence"]["pattern"]["type"] == "daily"
    # 09:00 in Berlin, whatever the offset that day
    assert all(i["start"]["dateTime"][11:16] in ("07:00", "08:00") for i in after)


def test_transaction_id_dedupes_and_if_match_guards(graph, state):
    body = {"subject": "once", "start": _when(4, 9), "end": _when(4, 10), "transactionId": "tx-1"}
    first = graph.post(graph.base + "/me/events", json=body)
    second = graph.post(graph.base + "/me/events", json=body)
    assert first.status_code == 201 and second.json()["id"] == first.json()["id"]
    stale = first.json()["@odata.etag"]
    graph.patch(graph.base + f"/me/events/{first.json()['id']}", json={"subject": "twice"})
    conflict = graph.patch(graph.base + f"/me/events/{first.json()['id']}", json={"subject": "x"},
                           headers={"If-Match": stale})
    assert conflict.status_code == 412 and conflict.json()["error"]["code"] == "ErrorIrresolvableConflict"


def test_teams_link_and_show_as(graph):
    made = graph.post(graph.base + "/me/events", json={
        "subject": "call", "start": _when(5, 9), "end": _when(5, 10), "isOnlineMeeting": True,
        "onlineMeetingProvider": "teamsForBusiness", "showAs": "workingElsewhere"}).json()
    assert made["onlineMeeting"]["joinUrl"].startswith("https://teams.microsoft.com/l/meetup-join/")
    assert made["showAs"] == "workingElsewhere"
    bad = graph.post(graph.base + "/me/events", json={"subject": "x", "start": _when(5, 9), "end": _when(5, 10),
                                                      "showAs": "sleeping"})
    assert bad.status_code == 400


def test_get_schedule(graph, state):
    start = _when(6, 0)
    state.add_event(USER, {"subject": "busy", "start": _when(6, 1), "end": _when(6, 2)})
    state.add_event(USER, {"subject": "away", "showAs": "workingElsewhere", "start": _when(6, 3), "end": _when(6, 4)})
    answer = graph.post(graph.base + "/me/calendar/getSchedule", json={
        "schedules": [USER, "nobody@else.example"], "startTime": start, "endTime": _when(6, 5),
        "availabilityViewInterval": 60}).json()["value"]
    assert answer[0]["availabilityView"] == "02040"
    assert [i["status"] for i in answer[0]["scheduleItems"]] == ["busy", "workingElsewhere"]
    assert answer[1]["error"]["responseCode"] == "ErrorMailRecipientNotFound"


def test_send_mail_lands_in_sent_items(graph, state):
    answer = graph.post(graph.base + "/me/sendMail", json={"message": {
        "subject": "hi", "body": {"contentType": "Text", "content": "hello"},
        "toRecipients": [{"emailAddress": {"address": "bob@example.org"}}]}})
    assert answer.status_code == 202 and not answer.content
    sent = graph.get(graph.base + "/me/mailFolders/sentitems/messages",
                     params={"$select": "subject,toRecipients"}).json()["value"]
    assert [m["subject"] for m in sent] == ["hi"]
    assert set(sent[0]) == {"@odata.etag", "id", "subject", "toRecipients"}, "$select is honoured"
    refused = graph.post(graph.base + "/me/sendMail", json={"message": {
        "subject": "x", "toRecipients": [{"emailAddress": {"address": "b@example.org"}}],
        "internetMessageHeaders": [{"name": "In-Reply-To", "value": "<a@b>"}]}})
    assert refused.status_code == 400, "Graph only accepts X- headers from clients"


def test_messages_delta_filters_and_removes(graph, state):
    old = state.deliver_mail(USER, "inbox", subject="old", received=datetime.now(timezone.utc) - timedelta(days=40))
    new = state.deliver_mail(USER, "inbox", subject="new")
    since = (datetime.now(timezone.utc) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pages, link = _delta_all(graph, graph.base + "/me/mailFolders/inbox/messages/delta",
                             {"$select": "subject", "$filter": f"receivedDateTime ge {since}"})
    assert [m["id"] for p in pages for m in p["value"]] == [new["id"]]
    state.delete_message(USER, new["id"])
    pages, _ = _delta_all(graph, link)
    assert [m for p in pages for m in p["value"]] == [{"id": new["id"], "@removed": {"reason": "deleted"}}]
    assert old["id"] not in str(pages)


def test_throttling_and_faults(graph, state):
    state.inject_fault(429, retry_after=7, path="/me/calendars")
    throttled = graph.get(graph.base + "/me/calendars")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert graph.get(graph.base + "/me/calendars").status_code == 200
    state.inject_fault(503, times=2)
    assert [graph.get(graph.base + "/me").status_code for _ in range(3)] == [503, 503, 200]


def test_on_premises_mailbox(graph, office365_sandbox):
    state = office365_sandbox.state
    state.mailbox(USER).on_premises = True
    assert graph.get(graph.base + "/me").status_code == 200, "/me is a directory object"
    answer = graph.get(graph.base + "/me/calendars")
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert (error["code"], error["message"]) == ("MailboxNotEnabledForRESTAPI",
                                                 "REST API is not yet supported for this mailbox.")


def test_subscription_validation_handshake(graph, state, office365_webhook_receiver):
    expires = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"changeType": "created,updated", "notificationUrl": office365_webhook_receiver.url + "/hook",
            "resource": "me/events", "expirationDateTime": expires, "clientState": "secret-1"}
    created = graph.post(graph.base + "/subscriptions", json=body)
    assert created.status_code == 201
    [handshake] = office365_webhook_receiver.requests
    assert handshake.args["validationToken"] and handshake.path == "/hook"

    office365_webhook_receiver.handler = lambda req: WebhookResult(status=200, body="wrong")
    refused = graph.post(graph.base + "/subscriptions", json=body)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "ValidationError"
    office365_webhook_receiver.handler = None

    sub = created.json()
    state.add_event(USER, {"subject": "ping", "start": _when(1, 9), "end": _when(1, 10)})
    state.wait_for_deliveries()
    [note] = [r for r in office365_webhook_receiver.notifications()]
    payload = json.loads(note.body)["value"][0]
    assert payload["subscriptionId"] == sub["id"] and payload["clientState"] == "secret-1"
    assert payload["changeType"] == "created" and payload["resource"].startswith("Users/")

    too_long = (datetime.now(timezone.utc) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert graph.patch(graph.base + f"/subscriptions/{sub['id']}",
                       json={"expirationDateTime": too_long}).status_code == 400
    assert graph.delete(graph.base + f"/subscriptions/{sub['id']}").status_code == 204
    assert graph.delete(graph.base + f"/subscriptions/{sub['id']}").status_code == 404


def test_knobs_over_http(graph, office365_sandbox, state):
    base = office365_sandbox.url + "/_sandbox"
    assert requests.post(base + "/knobs", json={"delta_expiry_style": "invalid"}, timeout=5).ok
    assert state.knobs.delta_expiry_style == "invalid"
    assert requests.post(base + "/knobs", json={"no_such_knob": 1}, timeout=5).status_code == 400
    requests.post(base + "/fault", json={"status": 429, "retry_after": 4, "path": "/me"}, timeout=5)
    assert graph.get(graph.base + "/me").headers["Retry-After"] == "4"
    requests.post(base + "/revoke", json={"email": USER, "code": 700082}, timeout=5)
    assert graph.get(graph.base + "/me").status_code == 401
    assert all(g.failure == 700082 for g in state.grants.values())


def test_get_schedule_refuses_more_than_62_days(graph):
    body = {"schedules": [USER], "startTime": _when(0, 0), "availabilityViewInterval": 60}
    ok = graph.post(graph.base + "/me/calendar/getSchedule", json=dict(body, endTime=_when(62, 0)))
    assert ok.status_code == 200
    refused = graph.post(graph.base + "/me/calendar/getSchedule", json=dict(body, endTime=_when(63, 0)))
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "ErrorTimeIntervalTooBig")


@pytest.mark.parametrize("zone, accepted", [
    ("W. Europe Standard Time", True), ("Pacific Standard Time", True), ("UTC", True),
    ("Europe/Berlin", True), ("America/New_York", True),  # on Graph's IANA list
    ("America/Toronto", False), ("Europe/Vienna", False), ("Mars/Olympus_Mons", False),
])
def test_event_time_zones_are_windows_names_or_graphs_iana_list(graph, zone, accepted):
    start = {"dateTime": "2030-03-04T09:00:00", "timeZone": zone}
    answer = graph.post(graph.base + "/me/events", json={"subject": "z", "start": start,
                                                          "end": dict(start, dateTime="2030-03-04T10:00:00")})
    if accepted:
        assert answer.status_code == 201, answer.text
    else:
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "TimeZoneNotSupportedException"
        assert f"not supported: '{zone}'" in answer.json()["error"]["message"]


def test_unknown_event_properties_are_refused(graph, state):
    start, end = _when(3, 9), _when(3, 10)
    answer = graph.post(graph.base + "/me/events", json={"subject": "x", "start": start, "end": end, "colour": "red"})
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "RequestBodyRead")
    assert "'colour' does not exist on type 'microsoft.graph.event'" in answer.json()["error"]["message"]
    made = graph.post(graph.base + "/me/events", json={"subject": "x", "start": start, "end": end,
                                                       "@odata.type": "#microsoft.graph.event"})
    assert made.status_code == 201
    patch = graph.patch(graph.base + f"/me/events/{made.json()['id']}", json={"subjectLine": "y"})
    assert (patch.status_code, patch.json()["error"]["code"]) == (400, "RequestBodyRead")


def test_transaction_id_cannot_change(graph, state):
    start, end = _when(3, 9), _when(3, 10)
    made = graph.post(graph.base + "/me/events", json={"subject": "x", "start": start, "end": end,
                                                       "transactionId": "first"}).json()
    same = graph.patch(graph.base + f"/me/events/{made['id']}", json={"transactionId": "first", "subject": "y"})
    assert same.status_code == 200
    other = graph.patch(graph.base + f"/me/events/{made['id']}", json={"transactionId": "second"})
    assert other.status_code == 400
    assert graph.get(graph.base + f"/me/events/{made['id']}").json()["transactionId"] == "first"


def test_calendar_view_delta_refuses_select_and_accepts_the_sdk_forms(graph, state):
    state.add_event(USER, {"subject": "e", "start": _when(2, 8), "end": _when(2, 9)})
    refused = graph.get(graph.base + "/me/calendarView/delta", params=dict(_window(), **{"$select": "subject"}))
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "ErrorInvalidUrlQuery")
    window = _window()
    sdk = graph.get(graph.base + "/me/calendarView/delta()", params={
        "StartDateTime": window["startDateTime"], "EndDateTime": window["endDateTime"]})
    assert sdk.status_code == 200 and [i["subject"] for i in sdk.json()["value"]] == ["e"]
    mail = graph.get(graph.base + "/me/mailFolders/inbox/messages/delta()")
    assert mail.status_code == 200 and "@odata.deltaLink" in mail.json()


def test_messages_delta_lists_an_update_minimally(graph, state):
    made = state.deliver_mail(USER, "inbox", subject="hello", sender="someone@example.org")
    url = graph.base + "/me/mailFolders/inbox/messages/delta"
    _, delta_link = _delta_all(graph, url, {"$select": "subject,internetMessageId"})
    state.update_message(USER, made["id"], {"isRead": True})
    pages, _ = _delta_all(graph, delta_link)
    [item] = [i for p in pages for i in p["value"]]
    assert set(item) == {"@odata.type", "@odata.etag", "id", "isRead", "parentFolderId"} and item["isRead"] is True


def test_notification_urls_must_be_https_but_for_the_loopback_exception(graph, state, office365_webhook_receiver):
    expiry = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"changeType": "created", "resource": "me/events", "expirationDateTime": expiry, "clientState": "s"}

    def subscribe(url: str, **extra):
        return graph.post(graph.base + "/subscriptions", json=dict(body, notificationUrl=url, **extra))

    assert state.knobs.loopback_http_push, "the office365_sandbox fixture turns the exception on"
    for url in ("http://hub.example.org/webhooks/office365/1", "http://192.168.1.5/w"):
        refused = subscribe(url)
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "InvalidRequest")
    assert subscribe(office365_webhook_receiver.url + "/w", latestSupportedTlsVersion="v1_3").status_code == 201
    assert subscribe(office365_webhook_receiver.url + "/w", latestSupportedTlsVersion="v2_0").status_code == 400
    state.knobs.loopback_http_push = False
    assert subscribe(office365_webhook_receiver.url + "/w").status_code == 400


def _session_with(office365_sandbox, *scopes: str) -> requests.Session:
    state = office365_sandbox.state
    grant = Grant(id=str(uuid.uuid4()), email=USER, client_id="sandbox-client", scopes=list(scopes))
    state.grants[grant.id] = grant
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + state.issue_tokens(grant)["access_token"]
    return session


def test_mailbox_settings_need_the_mailbox_settings_scope(office365_sandbox):
    """Graph serves mailbox settings only to MailboxSettings.Read(Write); calendar scopes are not enough."""
    session = _session_with(office365_sandbox, "offline_access", "User.Read", "Calendars.ReadWrite")
    answer = session.get(office365_sandbox.graph_base + "/me/mailboxSettings")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "ErrorAccessDenied"
    assert session.get(office365_sandbox.graph_base + "/me/mailboxSettings/timeZone").status_code == 403


def test_mailbox_settings_report_the_zone_as_the_mailbox_names_it(office365_sandbox):
    office365_sandbox.state.mailbox(USER).time_zone = "W. Europe Standard Time"
    session = _session_with(office365_sandbox, "https://graph.microsoft.com/MailboxSettings.Read")
    whole = session.get(office365_sandbox.graph_base + "/me/MailboxSettings").json()
    assert whole["timeZone"] == "W. Europe Standard Time"
    assert whole["workingHours"]["timeZone"] == {"name": "W. Europe Standard Time"}
    assert {"archiveFolder", "automaticRepliesSetting", "language", "dateFormat", "timeFormat", "userPurpose",
            "delegateMeetingMessageDeliveryOptions"} <= set(whole)
    one = session.get(office365_sandbox.graph_base + "/me/mailboxSettings/timeZone").json()
    assert one["value"] == "W. Europe Standard Time" and one["@odata.context"].endswith("/mailboxSettings/timeZone")
    office365_sandbox.state.mailbox(USER).time_zone = "Europe/Berlin"  # a tenant set up with IANA names
    assert session.get(office365_sandbox.graph_base + "/me/mailboxSettings").json()["timeZone"] == "Europe/Berlin"
    unknown = session.get(office365_sandbox.graph_base + "/me/mailboxSettings/colour")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "BadRequest"
