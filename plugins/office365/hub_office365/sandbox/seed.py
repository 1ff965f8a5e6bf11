"""Demo data for one mailbox: calendars, a realistic fortnight of events, a few dozen messages.

``seed_demo`` backs ``hub demo`` and gives tests a mailbox that looks lived-in. It is deterministic
for a given address (a seeded ``random.Random``), relative to today. :func:`demo_sandbox` runs the
sandbox for the demo (the ``hub_demo_sandbox`` hook).
"""

from __future__ import annotations

import random
from contextlib import ExitStack
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from hub.types import DemoSandbox

from hub_office365.sandbox.state import SandboxState

PEOPLE = [
    ("Ana Souza", "ana@northwind.example"), ("Ben Carter", "ben@northwind.example"),
    ("Chloé Martin", "chloe@contoso-partners.example"), ("Dmitri Ivanov", "dmitri@fabrikam.example"),
    ("Emma Schulz", "emma@fabrikam.example"), ("Farah Khan", "farah@gmail.com"),
    ("Goro Tanaka", "goro@adatum.example"), ("Hana Novak", "hana@adatum.example"),
]
TOPICS = ["Renewal quote", "Onboarding plan", "Pilot feedback", "Security questionnaire", "Pricing for 50 seats",
          "Contract redlines", "Quarterly review", "Integration timeline", "Invoice 2024-118", "Demo follow-up"]
ZONE = "Europe/Berlin"


def _slot(day: date, hour: int, minute: int = 0) -> dict:
    return {"dateTime": datetime.combine(day, time(hour, minute)).isoformat(), "timeZone": ZONE}


def _days(monday: date, first: int, last: int) -> dict:
    """An all-day span from ``monday + first`` to ``monday + last`` days (end exclusive)."""
    def midnight(offset: int) -> dict:
        """Midnight of ``monday + offset`` days, Graph-style."""
        return {"dateTime": f"{monday + timedelta(days=offset)}T00:00:00", "timeZone": ZONE}

    return {"isAllDay": True, "start": midnight(first), "end": midnight(last)}


def _attendees(*people) -> list[dict]:
    return [{"emailAddress": {"name": n, "address": a}, "type": "required"} for n, a in people]


def seed_demo(state: SandboxState, email: str, messages: int = 40) -> None:
    """Fill ``email``'s mailbox (created if missing) with demo calendars, events and mail."""
    rng = random.Random(email)
    if email.lower() not in state.mailboxes:
        state.add_mailbox(email)
    team = state.add_calendar(email, "Team")
    holidays = state.add_calendar(email, "Public holidays", can_edit=False, owner="calendar@holidays.example")
    today = date.today()
    monday = today - timedelta(days=today.weekday())

    for offset in range(10):
        day = monday + timedelta(days=offset + (offset // 5) * 2)
        person = PEOPLE[offset % len(PEOPLE)]
        state.add_event(email, {
            "subject": f"{rng.choice(TOPICS)} with {person[0].split()[0]}", "start": _slot(day, 10 + offset % 5),
            "end": _slot(day, 11 + offset % 5), "attendees": _attendees(person),
            "location": {"displayName": "Teams" if offset % 3 == 0 else "Office 3.14"},
            "isOnlineMeeting": offset % 3 == 0, "onlineMeetingProvider": "teamsForBusiness",
            "body": {"contentType": "html", "content": f"<p>Agenda: {rng.choice(TOPICS).lower()}.</p>"},
        })
    weekly = state.add_event(email, {
        "subject": "1:1 with Ben", "start": _slot(monday, 9), "end": _slot(monday, 9, 30),
        "attendees": _attendees(PEOPLE[1]),
        "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                                   "firstDayOfWeek": "monday"},
                       "range": {"type": "noEnd", "startDate": monday.isoformat(), "recurrenceTimeZone": ZONE}},
    })
    occurrences = _series_ids(state, email, weekly["id"], monday)
    if len(occurrences) >= 3:  # one 1:1 moved, one cancelled
        moved_to = monday + timedelta(days=8)
        state.update_event(email, occurrences[1], {"subject": "1:1 with Ben (moved)", "start": _slot(moved_to, 15),
                                                   "end": _slot(moved_to, 15, 30)})
        state.delete_event(email, occurrences[2])
    state.add_event(email, {"subject": "Team offsite", **_days(monday, 3, 4)}, calendar_id=team)
    state.add_event(email, {"subject": "Focus time", "showAs": "free", "start": _slot(monday + timedelta(days=1), 14),
                            "end": _slot(monday + timedelta(days=1), 16)})
    state.add_event(email, {"subject": "Working from the Hamburg office", "showAs": "workingElsewhere",
                            **_days(monday, 2, 3)})
    # read-only for the user; its owner fills it
    state.add_event(email, {"subject": "Public holiday", "showAs": "oof", **_days(monday, 11, 12)},
                    calendar_id=holidays, by_owner=True)

    _seed_mail(state, email, rng, messages)


def _series_ids(state: SandboxState, email: str, master_id: str, start: date) -> list[str]:
    from hub_office365.sandbox import events

    box = state.mailbox(email)
    with state.lock:
        window_end = datetime.combine(start + timedelta(days=28), time(), tzinfo=timezone.utc)
        window_start = datetime.combine(start, time(), tzinfo=timezone.utc)
        return [i["id"] for i in events.instances(box, [box.events[master_id]["calendar_id"]], window_start, window_end)
                if i.get("seriesMasterId") == master_id]


def _seed_mail(state: SandboxState, email: str, rng: random.Random, count: int) -> None:
    now = datetime.now(timezone.utc)
    threads: list[dict] = []
    for index in range(count):
        person = rng.choice(PEOPLE)
        received = now - timedelta(hours=(count - index) * 7 + rng.randint(0, 5))
        outgoing = index % 4 == 3
        parent = rng.choice(threads) if threads and rng.random() < 0.3 else None
        subject = f"RE: {parent['subject']}" if parent else rng.choice(TOPICS)
        attachments = [{"name": "proposal.pdf", "contentType": "application/pdf",
                        "content": bytes(rng.getrandbits(8) for _ in range(2048))}] if index % 7 == 0 else []
        fields = {
            "subject": subject, "received": received, "attachments": attachments,
            "html": f"<p>Hi,</p><p>{subject} — see below.</p><p>Best,<br>{person[0] if not outgoing else ''}</p>",
            "in_reply_to": parent["internetMessageId"] if parent else None,
            "references": [parent["internetMessageId"]] if parent else None,
            "conversation_id": parent["conversationId"] if parent else None,
            "is_read": outgoing or rng.random() < 0.6,
        }
        if outgoing:
            message = state.deliver_mail(email, "sentitems", sender=email, to=[person], **fields)
        else:
            cc = [rng.choice(PEOPLE)] if rng.random() < 0.2 else []
            message = state.deliver_mail(email, "inbox", sender=person, to=[email], cc=cc, **fields)
        if not parent:
            threads.append(message)


def demo_sandbox(people: dict[str, str]) -> DemoSandbox:
    """The sandbox running for ``hub demo``, with a demo mailbox for each of ``people`` (address → name)."""
    from hub_office365.sandbox.server import serve

    with ExitStack() as stack:
        sandbox = stack.enter_context(serve())
        sandbox.state.knobs.loopback_http_push = True  # the demo hub listens on plain http on this machine
        for email in people:
            seed_demo(sandbox.state, email)
        config = sandbox.config()
        running = stack.pop_all()  # from here on the demo stops it
    return DemoSandbox(config=config, consent_form=_accept, stop=running.close)


def _accept(url: str, email: str) -> dict[str, Any]:
    """The consent page's answer of a person who signs in as ``email`` and accepts."""
    return {"consent": "accept", "login": email}
