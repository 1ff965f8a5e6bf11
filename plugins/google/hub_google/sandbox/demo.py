"""Demo data for ``hub demo``: a believable Google account to connect to.

:func:`seed_demo` gives one address a primary calendar, a team calendar and a read-only holiday
calendar with meetings (some with external guests and Meet links), a weekly stand-up with a moved
and a cancelled occurrence, all-day and "free" events — and a mailbox of a few dozen messages in
threads with contacts at several companies, including replies, an attachment and non-ASCII text.
The same address always gets the same data (seeded randomness), dated relative to today.
:func:`demo_sandbox` runs the sandbox for the demo (the ``hub_demo_sandbox`` hook).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from hub.types import DemoSandbox

from hub_google.sandbox.recurrence import instance_id
from hub_google.sandbox.state import SandboxState

CONTACTS = [
    ("Maria Lopez", "maria.lopez@acme-industries.example"),
    ("Tom Becker", "tom@acme-industries.example"),
    ("Priya Natarajan", "priya@globex.example"),
    ("Jonas Weber", "j.weber@globex.example"),
    ("Chloé Martin", "chloe.martin@initech.example"),
    ("Sam Okafor", "sam.okafor@initech.example"),
    ("Lena Fischer", "lena@umbrella-labs.example"),
    ("Ahmed Haddad", "ahmed.haddad@gmail.com"),
]
TOPICS = ["Renewal quote for 2025", "Kick-off next week", "Pilot results", "Pricing question",
          "Contract draft v3", "Onboarding checklist", "Follow-up from our call", "Invoice #4471",
          "Workshop agenda", "Intro: data team"]


def seed_demo(state: SandboxState, email: str, name: str = "", time_zone: str = "Europe/Berlin") -> dict:
    """Fill the sandbox with a demo account for ``email``; returns counts of what was made."""
    rng = random.Random(email)
    with state.lock:
        user = state.add_user(email, name, time_zone)
        team = state.add_calendar(email, "Team", time_zone=time_zone, description="Shared team calendar")
        holidays = state.add_public_calendar("en.german#holiday@group.v.calendar.google.com",
                                             "Holidays in Germany", time_zone)
        state.share(holidays.id, email, "reader")
        made = _calendar(state, email, user.name, team.id, holidays.id, time_zone, rng)
        messages = _mailbox(state, email, user.name, rng)
    return {"events": made, "messages": messages, "calendars": len(user.calendar_list)}


def _at(day: date, hour: int, minute: int, zone: str) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(zone))


def _timed(start: datetime, minutes: int, zone: str) -> dict:
    return {"start": {"dateTime": start.isoformat(), "timeZone": zone},
            "end": {"dateTime": (start + timedelta(minutes=minutes)).isoformat(), "timeZone": zone}}


def _calendar(state: SandboxState, email: str, name: str, team_id: str, holidays_id: str, zone: str,
              rng: random.Random) -> int:
    primary = state.calendars[email]
    today = date.today()
    count = 0
    for offset in range(-7, 21):
        day = today + timedelta(days=offset)
        if day.weekday() >= 5 or rng.random() < 0.45:
            continue
        guest_name, guest = rng.choice(CONTACTS)
        body = _timed(_at(day, rng.choice([10, 11, 14, 15, 16]), rng.choice([0, 30]), zone), rng.choice([30, 45, 60]),
                      zone)
        body.update(summary=f"{rng.choice(TOPICS)} — {guest_name}", location=rng.choice(["", "Room Ada", "Phone"]),
                    attendees=[{"email": email, "displayName": name}, {"email": guest, "displayName": guest_name,
                               "responseStatus": rng.choice(["accepted", "tentative", "needsAction"])}])
        if rng.random() < 0.5:
            body["conferenceData"] = {"createRequest": {"requestId": f"demo-{offset}",
                                                        "conferenceSolutionKey": {"type": "hangoutsMeet"}}}
        primary.insert(body, conference=True)
        count += 1
    monday = today - timedelta(days=today.weekday())
    standup = _timed(_at(monday - timedelta(days=7), 9, 30, zone), 15, zone)
    standup.update(summary="Team stand-up", recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR"],
                   attendees=[{"email": email}, {"email": "tom@acme-industries.example"}])
    team = state.calendars[team_id]
    master = team.insert(standup)
    moved = instance_id(master["id"], _at(monday + timedelta(days=2), 9, 30, zone))
    team.patch(moved, _timed(_at(monday + timedelta(days=2), 11, 0, zone), 15, zone))
    team.delete(instance_id(master["id"], _at(monday + timedelta(days=4), 9, 30, zone)))
    offsite = monday + timedelta(days=10)
    primary.insert({"summary": "Sales offsite", "start": {"date": offsite.isoformat()},
                    "end": {"date": (offsite + timedelta(days=2)).isoformat()}, "location": "Lisbon"})
    focus = _timed(_at(today + timedelta(days=1), 8, 0, zone), 90, zone)
    primary.insert(focus | {"summary": "Focus time", "transparency": "transparent"})
    for days, title in ((12, "Regional holiday"), (40, "Public holiday")):
        day = today + timedelta(days=days)
        state.calendars[holidays_id].insert({"summary": title, "start": {"date": day.isoformat()},
                                             "end": {"date": (day + timedelta(days=1)).isoformat()},
                                             "transparency": "transparent"})
    return count + 6


def _mailbox(state: SandboxState, email: str, name: str, rng: random.Random) -> int:
    box = state.user(email).mailbox
    now = datetime.now(ZoneInfo("UTC"))
    count = 0
    for thread, topic in enumerate(TOPICS):
        contact_name, contact = CONTACTS[thread % len(CONTACTS)]
        when = now - timedelta(days=20 - thread * 2, hours=rng.randint(0, 8))
        previous: list[str] = []
        for turn in range(rng.randint(2, 5)):
            incoming = turn % 2 == 0
            msg = EmailMessage()
            msg_id = make_msgid(domain=(contact if incoming else email).split("@")[1])
            msg["Message-ID"] = msg_id
            msg["From"] = f"{contact_name} <{contact}>" if incoming else f"{name} <{email}>"
            msg["To"] = f"{name} <{email}>" if incoming else f"{contact_name} <{contact}>"
            msg["Subject"] = topic if turn == 0 else f"Re: {topic}"
            msg["Date"] = format_datetime(when)
            if previous:
                msg["In-Reply-To"] = previous[-1]
                msg["References"] = " ".join(previous)
            greeting = contact_name.split()[0] if not incoming else name.split()[0]
            msg.set_content(f"Hi {greeting},\n\n{_sentence(rng)}\n\n{_sentence(rng)}\n\nBest,\n"
                            f"{contact_name if incoming else name}\n")
            if thread == 4 and turn == 0:
                msg.add_attachment(b"%PDF-1.4\n% demo contract\n" + bytes(rng.getrandbits(8) for _ in range(2048)),
                                   maintype="application", subtype="pdf", filename="contract-v3.pdf")
            labels = ["INBOX"] + (["UNREAD"] if turn >= 2 else []) if incoming else ["SENT"]
            box.add(bytes(msg), labels, internal_date=int(when.timestamp() * 1000))
            previous.append(msg_id)
            when += timedelta(hours=rng.randint(1, 20))
            count += 1
    return count


def _sentence(rng: random.Random) -> str:
    parts = ["Thanks for the quick turnaround", "as discussed on the phone", "please find the details below",
             "the team is happy with the pilot", "we'd like to move forward", "could you confirm the numbers",
             "I've looped in our finance contact", "let's keep the timeline as planned", "Grüße aus München",
             "see you at the workshop"]
    return ", ".join(rng.sample(parts, 3)).capitalize() + "."


def demo_sandbox(people: dict[str, str]) -> DemoSandbox:
    """The sandbox running for ``hub demo``, with demo data for each of ``people`` (address → name)."""
    from hub_google.sandbox.server import SandboxServer

    server = SandboxServer().start()
    try:
        server.state.loopback_http_push = True  # the demo hub listens on plain http on this machine
        for email, name in people.items():
            seed_demo(server.state, email, name)
        config = server.provider_config()
    except BaseException:
        server.stop()
        raise
    return DemoSandbox(config=config, consent_form=_allow_everything, stop=server.stop)


def _allow_everything(url: str, email: str) -> dict[str, Any]:
    """The consent page's answer of a person who signs in as ``email`` and grants every scope asked."""
    scopes = dict(parse_qsl(urlsplit(url).query)).get("scope", "").split()
    return {"decision": "allow", "email": email, "grant": scopes}
