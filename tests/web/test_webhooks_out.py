"""Events to the host CRM: written with the change, fed in order, and delivered signed to a real receiver.

The receiver (``tests/webhook_receiver.py``) is real HTTP on loopback and checks every signature with
the ``standardwebhooks`` library; the events come from the places that make the changes (BCC logging,
the API's meetings, the booking engine, account disconnects, re-evaluation of stored mail).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hub.bcc import log_raw_mail
from hub.events import EVENT_TYPES, delivery
from hub.models import Event, Meeting, Role, User, WebhookDelivery, WebhookEndpoint, utcnow
from hub.scheduling.booking import cancel_booking
from hub.types import Participant, RemoteEvent
from tests.web.conftest import ALICE, ALICE_MAILBOX_PASSWORD
from tests.web.mailboxes import deliver_thread, raw_mail
from tests.webhook_receiver import Receiver, serve
from web.api import hash_token

ADMIN = {"Authorization": "Bearer admin-token"}
ALICE_TOKEN = {"Authorization": "Bearer alice-token"}


@pytest.fixture
def receiver():
    found = Receiver()
    server, found.url = serve(found)
    yield found
    server.shutdown()
    server.server_close()


@pytest.fixture
def api(app, hub, people, monkeypatch):
    monkeypatch.setattr(delivery, "RETRY_DELAYS", (0,))  # retries at once instead of after 5 s, 5 min …
    with hub.db.session() as s:
        s.get(User, people[Role.ADMIN]).api_token_hash = hash_token("admin-token")
        s.get(User, people["alice"]).api_token_hash = hash_token("alice-token")
    return app.test_client()


def register(api, receiver, **extra) -> dict:
    response = api.post("/api/v1/webhook-endpoints", headers=ADMIN,
                        json={"url": receiver.url, "allow_private": True, **extra})
    assert response.status_code == 201, response.json
    receiver.secret = response.json["secret"]
    return response.json


def feed(api) -> list[dict]:
    return api.get("/api/v1/events?limit=1000", headers=ADMIN).json["events"]


def test_every_event_type_arrives_signed_exactly_once_per_event_id_despite_three_500s(
        api, hub, people, worker, receiver):
    endpoint = register(api, receiver)
    receiver.fail_first = 3
    account = api.post("/api/v1/accounts", headers=ALICE_TOKEN,
                       json={"provider": "memory", "email": ALICE, "password": ALICE_MAILBOX_PASSWORD}).json["id"]
    worker.drain()
    # BCC logging makes a contact of a stranger and logs the mail on it
    log_raw_mail(hub, raw_mail("ann@newco.test", ALICE, "Hello")[0], [people["alice"]])
    # the stranger turns out to be Alice's own alias: the mail becomes internal
    alias = api.patch(f"/api/v1/users/{people['alice']}", headers=ADMIN, json={"aliases": ["ann@newco.test"]})
    assert alias.status_code == 200, alias.json
    # a meeting made, moved and cancelled through the API
    start = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    meeting = api.post("/api/v1/meetings", headers=ALICE_TOKEN, json={
        "title": "Demo", "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat(),
        "send_invites": False}).json
    api.patch(f"/api/v1/meetings/{meeting['id']}", headers=ALICE_TOKEN, json={"title": "Demo (moved)"})
    assert api.delete(f"/api/v1/meetings/{meeting['id']}", headers=ALICE_TOKEN).status_code == 204
    # a booking on the public page, cancelled again
    api.post("/api/v1/meeting-types", headers=ALICE_TOKEN, json={
        "name": "Intro", "slug": "alice-intro", "duration_minutes": 30, "timezone": "UTC",
        "weekly_hours": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})
    slot = api.get("/api/v1/meeting-types/alice-intro/availability").json["slots"][0]
    booking = api.post("/api/v1/bookings", json={"slug": "alice-intro", "start": slot["start"],
                                                 "guest_name": "Bo", "guest_email": "bo@guest.test"})
    assert booking.status_code == 201, booking.json
    cancel_booking(hub, booking.json["id"])
    # and the account disconnected
    assert api.delete(f"/api/v1/accounts/{account}", headers=ALICE_TOKEN).status_code == 204
    worker.drain()

    events = feed(api)
    assert {e["type"] for e in events} == set(EVENT_TYPES) - {"booking.rescheduled"}  # nothing reschedules yet
    assert [r.status for r in receiver.requests[:3]] == [500, 500, 500]
    assert all(r.verified for r in receiver.requests)
    assert Counter(r.event_id for r in receiver.accepted()) == Counter(e["id"] for e in events)
    assert all(Counter(e["id"] for e in events)[e["id"]] == 1 for e in events)
    by_id = {e["id"]: e for e in events}
    assert all(r.payload["type"] == by_id[r.event_id]["type"] for r in receiver.accepted())

    log = api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries?limit=500", headers=ADMIN).json
    assert len(log) == len(events) and all(d["delivered_at"] and d["last_status"] == 200 for d in log)
    assert sum(d["attempts"] for d in log) == len(events) + 3
    unlogged = next(e for e in events if e["type"] == "message.unlogged")
    logged = next(e for e in events if e["type"] == "message.logged")
    assert unlogged["data"]["message_id"] == logged["data"]["message_id"]


def test_the_feed_pages_in_order_filters_by_type_and_forgets_after_the_retention(api, hub, people):
    for n in range(3):
        log_raw_mail(hub, raw_mail(f"p{n}@out{n}.test", ALICE, "Hi")[0], [people["alice"]])
    events = feed(api)
    assert [e["type"] for e in events] == ["contact.created", "message.logged"] * 3
    page = api.get(f"/api/v1/events?after={events[1]['cursor']}&limit=2", headers=ADMIN).json
    assert [e["id"] for e in page["events"]] == [e["id"] for e in events[2:4]]
    assert page["next_cursor"] == events[3]["cursor"]
    end = api.get(f"/api/v1/events?after={events[-1]['cursor']}", headers=ADMIN).json
    assert end == {"events": [], "next_cursor": events[-1]["cursor"]}
    only = api.get("/api/v1/events?type=contact.created", headers=ADMIN).json["events"]
    assert [e["data"]["emails"] for e in only] == [["p0@out0.test"], ["p1@out1.test"], ["p2@out2.test"]]
    assert api.get("/api/v1/events", headers=ALICE_TOKEN).status_code == 403  # administrators or read tokens

    with hub.db.session() as s:
        s.execute(sa.update(Event).where(Event.id == int(events[0]["cursor"]))
                  .values(created_at=utcnow() - timedelta(days=31)))
    assert delivery.purge_old_events(hub) == 1
    assert [e["id"] for e in feed(api)] == [e["id"] for e in events[1:]]


def test_an_endpoint_failing_for_days_is_disabled_with_a_reason_and_a_delivery_can_be_resent(
        api, hub, people, worker, receiver):
    endpoint = register(api, receiver, event_types=["contact.created"])
    receiver.fail_first = 1
    log_raw_mail(hub, raw_mail("ann@newco.test", ALICE, "Hello")[0], [people["alice"]])
    with hub.db.session() as s:  # the endpoint has been failing for six days
        s.get(WebhookEndpoint, endpoint["id"]).failing_since = utcnow() - timedelta(days=6)
    worker.drain()
    shown = api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=ADMIN).json
    assert shown["enabled"] is False and "HTTP 500" in shown["disabled_reason"]
    [entry] = api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=ADMIN).json
    assert entry["event_type"] == "contact.created" and entry["last_status"] == 500 and entry["failed_at"]
    assert [r.status for r in receiver.requests] == [500]  # message.logged was not asked for

    assert api.patch(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=ADMIN,
                     json={"enabled": True}).json["disabled_reason"] is None
    resent = api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries/{entry['id']}/resend", headers=ADMIN)
    assert resent.status_code == 202
    worker.drain()
    assert [(r.event_id, r.status) for r in receiver.requests] == [(entry["event_id"], 500), (entry["event_id"], 200)]
    with hub.db.session() as s:
        assert s.get(WebhookDelivery, entry["id"]).delivered_at is not None


def test_endpoint_urls_pass_the_ssrf_guard_and_only_administrators_allow_private_hosts(api, receiver):
    refused = api.post("/api/v1/webhook-endpoints", headers=ADMIN, json={"url": receiver.url})
    assert refused.status_code == 400 and "https" in refused.json["message"]
    loopback = api.post("/api/v1/webhook-endpoints", headers=ADMIN, json={"url": "https://127.0.0.1/hook"})
    assert loopback.status_code == 400 and "loopback" in loopback.json["message"]
    token = api.post("/api/v1/integration-tokens", headers=ADMIN,
                     json={"name": "CRM", "scopes": ["webhooks_admin"]}).json["token"]
    crm = {"Authorization": f"Bearer {token}"}
    assert api.post("/api/v1/webhook-endpoints", headers=crm,
                    json={"url": receiver.url, "allow_private": True}).status_code == 403
    assert api.get("/api/v1/webhook-endpoints", headers=crm).status_code == 200
    assert api.get("/api/v1/webhook-endpoints", headers=ALICE_TOKEN).status_code == 403


def test_a_new_contact_address_logs_past_mail_and_a_new_alias_unlogs_it(api, hub, people, worker, memory):
    api.post("/api/v1/accounts", headers=ALICE_TOKEN,
             json={"provider": "memory", "email": ALICE, "password": ALICE_MAILBOX_PASSWORD})
    deliver_thread(memory, ALICE, "Quote", turns=2)  # with maria@acme.test, not yet a contact
    worker.drain()
    contact = api.put("/api/v1/contacts/by-external-id/maria", headers=ADMIN, json={"name": "Maria"}).json
    assert api.get(f"/api/v1/contacts/{contact['id']}/messages", headers=ALICE_TOKEN).json == []

    api.patch(f"/api/v1/contacts/{contact['id']}", headers=ADMIN, json={"emails": ["maria@acme.test"]})
    [thread] = api.get(f"/api/v1/contacts/{contact['id']}/messages", headers=ALICE_TOKEN).json
    assert len(thread["messages"]) == 2
    logged = [e for e in feed(api) if e["type"] == "message.logged"]
    assert sorted(e["data"]["message_id"] for e in logged) == sorted(m["id"] for m in thread["messages"])
    assert all(e["data"]["contact_ids"] == [contact["id"]] for e in logged)

    api.patch(f"/api/v1/users/{people['alice']}", headers=ADMIN, json={"aliases": ["maria@acme.test"]})
    assert api.get(f"/api/v1/contacts/{contact['id']}/messages", headers=ALICE_TOKEN).json == []
    unlogged = [e for e in feed(api) if e["type"] == "message.unlogged"]
    assert sorted(e["data"]["message_id"] for e in unlogged) == sorted(m["id"] for m in thread["messages"])


def test_a_new_organization_domain_makes_mail_with_it_internal(api, hub, people):
    log_raw_mail(hub, raw_mail("ann@newco.test", ALICE, "Hello")[0], [people["alice"]])
    [org] = api.get("/api/v1/organizations", headers=ADMIN).json
    api.patch(f"/api/v1/organizations/{org['id']}", headers=ADMIN, json={"domains": ["corp.test", "newco.test"]})
    [logged] = [e for e in feed(api) if e["type"] == "message.logged"]
    [unlogged] = [e for e in feed(api) if e["type"] == "message.unlogged"]
    assert unlogged["data"]["message_id"] == logged["data"]["message_id"]


def test_meetings_made_moved_and_deleted_in_the_calendar_fire_meeting_events(api, hub, people, worker, memory):
    account = api.post("/api/v1/accounts", headers=ALICE_TOKEN,
                       json={"provider": "memory", "email": ALICE, "password": ALICE_MAILBOX_PASSWORD}).json["id"]
    worker.drain()

    def pull() -> list[dict]:
        assert api.post(f"/api/v1/accounts/{account}/sync", headers=ALICE_TOKEN).status_code == 202
        worker.drain()
        return [e for e in feed(api) if e["type"].startswith("meeting.")]

    start = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    made = memory.put_event(ALICE, "primary", RemoteEvent(
        remote_id="", start=start, end=start + timedelta(minutes=30), summary="Call with Dan",
        organizer=Participant(ALICE, organizer=True), attendees=[Participant("dan@globex.test")]))
    [created] = pull()
    assert created["type"] == "meeting.created"
    assert created["data"]["title"] == "Call with Dan" and created["data"]["user_id"] == people["alice"]
    assert created["data"]["changed_in"] == "calendar" and created["data"]["origin"] == "calendar"
    meeting_id = created["data"]["meeting_id"]

    memory.bump_etag(ALICE, "primary", made.remote_id)  # seen again, nothing the CRM shows changed
    assert pull() == [created]

    later = start + timedelta(hours=1)
    memory.put_event(ALICE, "primary", made.replace(summary="Call with Dan (moved)", start=later,
                                                    end=later + timedelta(minutes=30)))
    [_, updated] = pull()
    assert updated["type"] == "meeting.updated" and updated["data"]["meeting_id"] == meeting_id
    assert updated["data"]["changed"] == ["end", "start", "title"]
    assert updated["data"]["start"] == later.isoformat() and updated["data"]["changed_in"] == "calendar"

    memory.delete_event(ALICE, "primary", made.remote_id)
    [_, _, cancelled] = pull()
    assert cancelled["type"] == "meeting.cancelled" and cancelled["data"]["meeting_id"] == meeting_id
    with hub.db.session() as s:
        assert s.get(Meeting, meeting_id).cancelled


def test_an_organization_free_mail_domain_never_makes_a_company(api, hub, people):
    [org] = api.get("/api/v1/organizations", headers=ADMIN).json
    api.patch(f"/api/v1/organizations/{org['id']}", headers=ADMIN, json={"free_mail_domains": ["mail.example"]})
    log_raw_mail(hub, raw_mail("fred@mail.example", ALICE, "Hello")[0], [people["alice"]])
    log_raw_mail(hub, raw_mail("ann@newco.test", ALICE, "Hello")[0], [people["alice"]])
    [fred] = api.get("/api/v1/contacts?email=fred@mail.example", headers=ADMIN).json
    [ann] = api.get("/api/v1/contacts?email=ann@newco.test", headers=ADMIN).json
    assert fred["company_id"] is None and ann["company_id"] is not None  # the built-in rule as before
    assert api.get("/api/v1/companies?domain=mail.example", headers=ADMIN).json == []


def test_a_changed_free_mail_list_re_evaluates_mail_at_those_domains(api, hub, people, worker, memory):
    api.post("/api/v1/accounts", headers=ALICE_TOKEN,
             json={"provider": "memory", "email": ALICE, "password": ALICE_MAILBOX_PASSWORD})
    deliver_thread(memory, ALICE, "Quote", turns=2)  # with maria@acme.test
    worker.drain()
    # Alice's alias at acme.test makes everyone there a colleague: Maria's mail stays off timelines
    api.patch(f"/api/v1/users/{people['alice']}", headers=ADMIN, json={"aliases": ["alice@acme.test"]})
    contact = api.put("/api/v1/contacts/by-external-id/maria", headers=ADMIN,
                      json={"name": "Maria", "emails": ["maria@acme.test"]}).json
    messages = f"/api/v1/contacts/{contact['id']}/messages"
    assert api.get(messages, headers=ALICE_TOKEN).json == []

    # acme.test is a free-mail provider after all: an alias there says nothing about colleagues
    [org] = api.get("/api/v1/organizations", headers=ADMIN).json
    api.patch(f"/api/v1/organizations/{org['id']}", headers=ADMIN, json={"free_mail_domains": ["acme.test"]})
    [thread] = api.get(messages, headers=ALICE_TOKEN).json
    assert len(thread["messages"]) == 2
    logged = [e for e in feed(api) if e["type"] == "message.logged"]
    assert sorted(e["data"]["message_id"] for e in logged) == sorted(m["id"] for m in thread["messages"])

    api.patch(f"/api/v1/organizations/{org['id']}", headers=ADMIN, json={"free_mail_domains": []})
    assert api.get(messages, headers=ALICE_TOKEN).json == []
    assert len([e for e in feed(api) if e["type"] == "message.unlogged"]) == 2
