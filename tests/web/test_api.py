"""The JSON API: the OpenAPI document matches the routes, token auth, and each area's behaviour."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from hub.models import Calendar, Event, OutboxEntry, User
from tests.web.conftest import ALICE, ALICE_MAILBOX_PASSWORD
from web.access import PUBLIC
from web.api import hash_token
from web.api.spec import PATHS, PREFIX, openapi_path

TOKEN = {"Authorization": "Bearer alice-token"}


@pytest.fixture
def api(app, hub, people):
    with hub.db.session() as s:
        s.get(User, people["alice"]).api_token_hash = hash_token("alice-token")
    return app.test_client()


@pytest.fixture
def connected(api, worker):
    response = api.post("/api/v1/accounts", headers=TOKEN,
                        json={"provider": "memory", "email": ALICE, "password": ALICE_MAILBOX_PASSWORD})
    assert response.status_code == 201, response.json
    worker.drain()
    return response.json["id"]


def test_the_document_describes_exactly_the_api_routes(app):
    routes = {(openapi_path(r.rule), m.lower()) for r in app.url_map.iter_rules() if r.rule.startswith(PREFIX)
              for m in r.methods - {"HEAD", "OPTIONS"}} - {("/openapi.json", "get")}
    documented = {(path, method) for path, ops in PATHS.items() for method in ops}
    assert routes == documented


def test_public_operations_are_marked_public_in_the_document(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX) or rule.rule.endswith("openapi.json"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            op = PATHS[openapi_path(rule.rule)][method.lower()]
            assert (op.get("security") == []) is (app.view_functions[rule.endpoint].access == PUBLIC), rule.rule


def test_the_document_is_served(api):
    doc = api.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.") and doc["servers"] == [{"url": "/api/v1"}]
    assert "/meeting-types/{slug}/availability" in doc["paths"]


def test_tokens(api, hub):
    assert api.get("/api/v1/me").status_code == 401
    assert api.get("/api/v1/me", headers={"Authorization": "Bearer wrong"}).status_code == 401
    me = api.get("/api/v1/me", headers=TOKEN).json
    assert me["email"] == ALICE and me["role"] == "salesperson" and "meetings" in me["permissions"]
    assert "admin" not in me["permissions"]


def test_making_a_token_in_settings_replaces_the_old_one(app, api, people):
    from tests.web.conftest import sign_in

    client = app.test_client()
    sign_in(client, ALICE)
    html = client.post("/settings/token").get_data(as_text=True)
    token = html.split('<code id="api-token">')[1].split("</code>")[0]
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert api.get("/api/v1/me", headers=TOKEN).status_code == 401


def test_connect_with_wrong_password_then_right(api, hub):
    wrong = api.post("/api/v1/accounts", headers=TOKEN, json={"provider": "memory", "email": ALICE, "password": "x"})
    assert wrong.status_code == 502 and wrong.json["error"] == "AuthenticationFailed" and wrong.json["fix"]
    right = api.post("/api/v1/accounts", headers=TOKEN,
                     json={"provider": "memory", "email": ALICE, "password": ALICE_MAILBOX_PASSWORD})
    assert right.status_code == 201 and right.json["status"] == "enabled"
    assert [a["email"] for a in api.get("/api/v1/accounts", headers=TOKEN).json] == [ALICE]


def test_bad_input_names_the_field(api):
    response = api.post("/api/v1/meetings", headers=TOKEN, json={"title": "x", "start": "tomorrow", "end": 5})
    assert response.status_code == 400 and response.json["field"] in ("start", "end")
    response = api.post("/api/v1/meetings", headers=TOKEN, json={"title": "x"})
    assert response.status_code == 400 and response.json["field"] == "start"
    response = api.get("/api/v1/meetings?start=2025-01-01", headers=TOKEN)  # no time, no offset
    assert response.status_code == 400 and response.json["field"] == "start"


def test_someone_elses_account_is_not_found(api, app, connected, people, hub):
    with hub.db.session() as s:
        s.get(User, people["salesperson"]).api_token_hash = hash_token("bob")
    bob = {"Authorization": "Bearer bob"}
    assert api.get(f"/api/v1/accounts/{connected}", headers=bob).status_code == 404
    assert api.delete(f"/api/v1/accounts/{connected}", headers=bob).status_code == 404


def test_sync_status_and_triggers(api, connected, hub):
    status = api.get(f"/api/v1/accounts/{connected}/sync-status", headers=TOKEN).json
    assert status["finished"] is True and {f["folder"] for f in status["folders"]} == {"inbox", "sent"}
    assert api.post(f"/api/v1/accounts/{connected}/sync", headers=TOKEN).json["queued"] is True
    assert api.post("/api/v1/sync", headers=TOKEN).json == {"queued": []}  # already queued: not twice


def test_calendars_default_and_conflict(api, connected, hub):
    calendars = {c["name"]: c for c in api.get("/api/v1/calendars", headers=TOKEN).json}
    assert calendars["primary"]["is_default"] and not calendars["Team calendar"]["is_default"]
    team = calendars["Team calendar"]["id"]
    updated = api.patch(f"/api/v1/calendars/{team}", headers=TOKEN,
                        json={"is_default": True, "sync_direction": "to_calendar", "appointment_type": "demo"})
    assert updated.status_code == 200
    assert updated.json["is_default"] and updated.json["is_conflict"] and updated.json["sync_direction"] == "to_calendar"
    holidays = calendars["Holidays"]["id"]
    refused = api.patch(f"/api/v1/calendars/{holidays}", headers=TOKEN, json={"is_default": True})
    assert refused.status_code == 400 and "only read" in refused.json["message"]
    assert api.patch(f"/api/v1/calendars/{holidays}", headers=TOKEN, json={"is_conflict": True}).json["is_conflict"]
    with hub.db.session() as s:
        assert s.scalar(select(Calendar.name).where(Calendar.is_default.is_(True))) == "Team calendar"


def test_meetings_create_update_delete(api, connected, hub, worker, memory):
    start = (datetime.now(timezone.utc) + timedelta(days=3)).replace(microsecond=0)
    created = api.post("/api/v1/meetings", headers=TOKEN, json={
        "title": "Demo", "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat(),
        "attendees": ["maria@acme.test"], "want_video": True, "send_invites": False})
    assert created.status_code == 201, created.json
    meeting = created.json
    assert [a["email"] for a in meeting["attendees"] if not a["organizer"]] == ["maria@acme.test"]
    worker.drain()
    assert api.get(f"/api/v1/meetings/{meeting['id']}", headers=TOKEN).json["video_url"]
    assert memory.invitations == []  # saved without inviting
    moved = api.patch(f"/api/v1/meetings/{meeting['id']}", headers=TOKEN,
                      json={"start": (start + timedelta(hours=1)).isoformat(),
                            "end": (start + timedelta(hours=2)).isoformat(), "title": "Demo (moved)"})
    assert moved.status_code == 200 and moved.json["title"] == "Demo (moved)"
    assert [m["id"] for m in api.get("/api/v1/meetings", headers=TOKEN).json] == [meeting["id"]]
    assert api.delete(f"/api/v1/meetings/{meeting['id']}", headers=TOKEN).status_code == 204
    assert api.get(f"/api/v1/meetings/{meeting['id']}", headers=TOKEN).json["cancelled"] is True
    with hub.db.session() as s:
        assert [e.op for e in s.scalars(select(OutboxEntry).order_by(OutboxEntry.id))] == ["create", "update", "delete"]


def test_meeting_types_availability_and_booking(api, connected, client):
    created = api.post("/api/v1/meeting-types", headers=TOKEN, json={
        "name": "Demo", "slug": "alice-demo", "duration_minutes": 30, "timezone": "UTC", "slot_step_minutes": 30,
        "weekly_hours": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})
    assert created.status_code == 201, created.json
    assert created.json["active"] and created.json["booking_url"].endswith("/book/alice-demo")
    free = client.get("/api/v1/meeting-types/alice-demo/availability?tz=Asia/Tokyo").json  # public
    assert free["slots"] and free["timezone"] == "Asia/Tokyo" and free["limited"] is False
    first = free["slots"][0]
    assert datetime.fromisoformat(first["local"]).utcoffset() == timedelta(hours=9)
    booked = client.post("/api/v1/bookings", json={"slug": "alice-demo", "start": first["start"],
                                                   "guest_name": "Ann", "guest_email": "ann@example.org"})
    assert booked.status_code == 201, booked.json
    again = client.post("/api/v1/bookings", json={"slug": "alice-demo", "start": first["start"],
                                                  "guest_name": "Bo", "guest_email": "bo@example.org"})
    assert again.status_code == 409 and again.json["error"] == "SlotUnavailable"
    after = client.get("/api/v1/meeting-types/alice-demo/availability").json
    assert first["start"] not in [s["start"] for s in after["slots"]]
    assert client.get("/api/v1/meeting-types/nobody/availability").status_code == 404
    too_long = client.get("/api/v1/meeting-types/alice-demo/availability?start=2030-01-01T00:00:00Z"
                          "&end=2030-06-01T00:00:00Z")
    assert too_long.status_code == 400


def test_the_host_reads_reschedules_and_cancels_a_booking(api, connected, client, hub, people):
    api.post("/api/v1/meeting-types", headers=TOKEN, json={
        "name": "Demo", "slug": "alice-demo", "duration_minutes": 30, "timezone": "UTC", "slot_step_minutes": 30,
        "weekly_hours": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})
    slots = [s["start"] for s in client.get("/api/v1/meeting-types/alice-demo/availability").json["slots"]]
    booked = client.post("/api/v1/bookings", json={"slug": "alice-demo", "start": slots[0],
                                                   "guest_name": "Ann", "guest_email": "ann@example.org"}).json
    client.post("/api/v1/bookings", json={"slug": "alice-demo", "start": slots[2], "guest_name": "Bo",
                                          "guest_email": "bo@example.org"})
    path = f"/api/v1/bookings/{booked['id']}"
    assert api.get(path, headers=TOKEN).json["version"] == 1
    taken = api.post(path + "/reschedule", headers=TOKEN, json={"start": slots[2]})
    assert taken.status_code == 409 and taken.json["error"] == "SlotUnavailable"
    moved = api.post(path + "/reschedule", headers=TOKEN, json={"start": slots[4]})
    assert moved.status_code == 200, moved.json
    assert (moved.json["start"], moved.json["version"], moved.json["status"]) == (
        datetime.fromisoformat(slots[4]).isoformat(), 2, "confirmed")
    assert client.post(path + "/cancel", json={}).status_code == 401, "the host's, not the public's"
    with hub.db.session() as s:
        s.get(User, people["salesperson"]).api_token_hash = hash_token("someone-else")
    assert api.post(path + "/cancel", headers={"Authorization": "Bearer someone-else"}, json={}).status_code == 404
    cancelled = api.post(path + "/cancel", headers=TOKEN, json={"reason": "Double-booked"})
    assert (cancelled.json["status"], cancelled.json["cancel_reason"], cancelled.json["version"]) == (
        "cancelled", "Double-booked", 3)
    again = api.post(path + "/reschedule", headers=TOKEN, json={"start": slots[6]})
    assert again.status_code == 410 and "cancelled" in again.json["message"]
    with hub.db.session() as s:
        types = [e.type for e in s.scalars(select(Event).order_by(Event.id))]
    assert types.count("booking.rescheduled") == 1 and types.count("booking.cancelled") == 1


def test_disconnect_makes_the_booking_link_not_active(api, connected, client):
    created = api.post("/api/v1/meeting-types", headers=TOKEN, json={"name": "Demo", "slug": "alice-demo"})
    assert created.status_code == 201 and created.json["weekly_hours"]["mon"] == [["09:00", "17:00"]]
    assert api.delete(f"/api/v1/accounts/{connected}", headers=TOKEN).status_code == 204
    response = client.get("/api/v1/meeting-types/alice-demo/availability")
    assert response.status_code == 410 and response.json["error"] == "NotActive"


def test_role_without_meetings_gets_403(api, hub, people):
    with hub.db.session() as s:
        s.get(User, people["marketing_manager"]).api_token_hash = hash_token("mm")
    response = api.get("/api/v1/meetings", headers={"Authorization": "Bearer mm"})
    assert response.status_code == 403 and "Marketing Manager" in response.json["message"]


def test_unknown_api_paths_answer_json(api):
    response = api.get("/api/v1/nothing-here", headers=TOKEN)
    assert response.status_code == 404 and response.json["message"] == "Not found."


def test_team_types_questions_and_limits_through_the_api(api, connected, client, people, hub):
    from hub.models import Organization, Role
    from tests.web.conftest import add_user

    with hub.db.session() as s:
        other_org = Organization(name="Elsewhere")
        s.add(other_org)
        s.flush()
        other_org_id = other_org.id
    stranger = add_user(hub, "stranger@elsewhere.test", Role.SALESPERSON, other_org_id)
    every_day = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).date().isoformat()
    created = api.post("/api/v1/meeting-types", headers=TOKEN, json={
        "name": "Sales", "slug": "sales", "timezone": "UTC", "slot_step_minutes": 30, "weekly_hours": every_day,
        "kind": "round_robin", "members": [{"user_id": people["alice"], "weight": 2},
                                           {"user_id": people[Role.SALESPERSON]}],
        "questions": [{"label": "Company size", "kind": "choice", "choices": ["1-10", "11+"], "required": True}],
        "max_per_day": 3, "date_overrides": {tomorrow: []}})
    assert created.status_code == 201, created.json
    body = created.json
    assert (body["kind"], body["max_per_day"], body["date_overrides"]) == ("round_robin", 3, {tomorrow: []})
    assert [(m["user_id"], m["weight"]) for m in body["members"]] == sorted(
        [(people["alice"], 2), (people[Role.SALESPERSON], 1)])
    assert body["questions"] == [{"key": "company_size", "label": "Company size", "kind": "choice",
                                  "required": True, "choices": ["1-10", "11+"]}]
    refused = api.patch(f"/api/v1/meeting-types/{body['id']}", headers=TOKEN,
                        json={"members": [{"user_id": stranger}]})
    assert refused.status_code == 400 and refused.json["field"] == "members"
    changed = api.patch(f"/api/v1/meeting-types/{body['id']}", headers=TOKEN, json={"kind": "collective"})
    assert changed.status_code == 200 and changed.json["kind"] == "collective" and len(changed.json["members"]) == 2
    assert api.patch("/api/v1/meeting-types/999999", headers=TOKEN, json={"kind": "single"}).status_code == 404
    api.patch(f"/api/v1/meeting-types/{body['id']}", headers=TOKEN, json={"kind": "round_robin"})
    slots = client.get("/api/v1/meeting-types/sales/availability?start="
                       f"{tomorrow}T00:00:00Z&end={tomorrow}T23:59:00Z").json["slots"]
    assert slots == []  # the day off
    start = client.get("/api/v1/meeting-types/sales/availability").json["slots"][0]["start"]
    missing = client.post("/api/v1/bookings", json={"slug": "sales", "start": start, "guest_name": "Ann",
                                                    "guest_email": "ann@example.org"})
    assert missing.status_code == 400 and missing.json["field"] == "q_company_size"
    booked = client.post("/api/v1/bookings", json={"slug": "sales", "start": start, "guest_name": "Ann",
                                                   "guest_email": "ann@example.org",
                                                   "answers": {"company_size": "11+"}})
    assert booked.status_code == 201, booked.json
    # the salesperson has no calendar to put a booking on: Alice hosts
    assert booked.json["host_user_id"] == people["alice"]
    assert booked.json["answers"] == [{"key": "company_size", "label": "Company size", "answer": "11+"}]
    from hub.models import Booking
    with hub.db.session() as s:
        contact_id = s.get(Booking, booked.json["id"]).contact_id
    contact = api.get(f"/api/v1/contacts/{contact_id}", headers=TOKEN)
    assert contact.status_code == 200 and contact.json["booking_answers"] == {"Company size": "11+"}


def test_a_meeting_type_s_reminders_are_set_through_the_api_and_the_form(api, connected, client, hub):
    created = api.post("/api/v1/meeting-types", headers=TOKEN, json={"name": "Demo", "slug": "demo-reminders"})
    assert created.status_code == 201 and created.json["reminder_minutes"] is None  # the defaults: 24 h and 1 h
    type_id = created.json["id"]
    changed = api.patch(f"/api/v1/meeting-types/{type_id}", headers=TOKEN, json={"reminder_minutes": [15, 2880]})
    assert changed.status_code == 200 and changed.json["reminder_minutes"] == [2880, 15]
    for wrong, field in (([3], "reminder_minutes.0"), ([60] * 6, "reminder_minutes"), (["soon"], "reminder_minutes.0")):
        refused = api.patch(f"/api/v1/meeting-types/{type_id}", headers=TOKEN, json={"reminder_minutes": wrong})
        assert refused.status_code == 400 and refused.json["field"] == field, wrong
    listed = api.get("/api/v1/meeting-types", headers=TOKEN).json
    assert [t["reminder_minutes"] for t in listed if t["id"] == type_id] == [[2880, 15]]

    from hub.models import MeetingType
    from hub.scheduling.reminders import minutes_of
    from tests.web.conftest import sign_in

    sign_in(client, ALICE)
    page = client.get(f"/meetings/{type_id}/edit")
    assert page.status_code == 200 and 'value="2880, 15"' in page.get_data(as_text=True)
    with hub.db.session() as s:
        assert minutes_of(s.get(MeetingType, type_id)) == (2880, 15)
    none = api.patch(f"/api/v1/meeting-types/{type_id}", headers=TOKEN, json={"reminder_minutes": []})
    assert none.status_code == 200 and none.json["reminder_minutes"] == []
    with hub.db.session() as s:
        assert minutes_of(s.get(MeetingType, type_id)) == ()
