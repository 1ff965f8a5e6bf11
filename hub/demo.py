"""``hub demo``: the whole product, offline, in one command.

:func:`run_demo` starts local stand-ins for everything a hub talks to — each provider's sandbox that
its plugin contributes through the ``hub_demo_sandbox`` hook (Google, Microsoft 365), Radicale for
iCloud's CalDAV, an IMAP server (Dovecot when it is installed and we are root, else pymap) and an
SMTP submission server — then seeds a demo company with one user of each role, CRM companies and
contacts, mailboxes with a few hundred messages and calendars with events, points every provider at
its stand-in (``ProviderSetting`` configuration, private hosts allowed), connects four of the users'
accounts through each provider's real connect flow, and serves the web app with workers exactly as
``hub serve`` does. It prints the URL and the logins. Everything lives in a fresh instance folder
(the sandboxes keep their data in memory, so a previous run's tokens would be worthless).

The stand-ins come from the plugins' sandboxes and :mod:`hub.peers` (plain runtime code: the demo needs
no test library); a piece that is not installed is skipped with a note, and the rest of the demo runs.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import partial
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

import click
import requests
from werkzeug.security import generate_password_hash

log = logging.getLogger(__name__)

DOMAIN = "demo-corp.test"
PASSWORD = "demo-pass-2024"
#: (login, name, role, what is connected for them at start)
USERS = [
    ("admin", "Ada Admin", "admin", None),
    ("claire", "Claire Chen", "company_manager", "icloud"),
    ("mark", "Mark Miller", "marketing_manager", None),
    ("sophie", "Sophie Schmidt", "sales_manager", "office365"),
    ("sam", "Sam Sato", "salesperson", "google"),
    ("jules", "Jules Jansen", "junior_salesperson", "imap"),
]
#: the CRM's customers: the people the sandboxes' demo mailboxes write with, and a few more
COMPANIES = {
    "Acme Industries": ("acme-industries.example", [("Maria Lopez", "maria.lopez"), ("Tom Becker", "tom")]),
    "Globex": ("globex.example", [("Priya Natarajan", "priya"), ("Jonas Weber", "j.weber")]),
    "Initech": ("initech.example", [("Chloé Martin", "chloe.martin"), ("Sam Okafor", "sam.okafor")]),
    "Umbrella Labs": ("umbrella-labs.example", [("Lena Fischer", "lena")]),
    "Northwind": ("northwind.example", [("Ana Souza", "ana"), ("Ben Carter", "ben")]),
    "Contoso Partners": ("contoso-partners.example", [("Chloé Martin", "chloe")]),
    "Fabrikam": ("fabrikam.example", [("Dmitri Ivanov", "dmitri"), ("Emma Schulz", "emma")]),
    "Adatum": ("adatum.example", [("Goro Tanaka", "goro"), ("Hana Novak", "hana")]),
}
FREE_MAIL_CONTACTS = [("Ahmed Haddad", "ahmed.haddad@gmail.com"), ("Farah Khan", "farah@gmail.com")]
IMAP_MESSAGES = 320
TOPICS = ["Renewal quote", "Kick-off next week", "Pilot results", "Pricing question", "Contract draft",
          "Onboarding checklist", "Follow-up from our call", "Invoice", "Workshop agenda", "Security review"]


def address(login: str) -> str:
    return f"{login}@{DOMAIN}"


def customer_addresses() -> list[tuple[str, str]]:
    """Every CRM contact as (name, email)."""
    people = [(name, f"{local}@{domain}") for domain, members in COMPANIES.values() for name, local in members]
    return people + FREE_MAIL_CONTACTS


# --- the stand-ins --------------------------------------------------------------------------------


@dataclass
class Peers:
    """The running stand-ins; ``config`` is each provider's admin configuration pointing at them."""

    stack: ExitStack
    config: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: provider → the consent form its sandbox expects (see ``DemoSandbox.consent_form``)
    consent: dict[str, Callable[[str, str], dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    radicale: Any = None
    imap: Any = None
    smtp: Any = None

    def skip(self, what: str, exc: BaseException) -> None:
        self.notes.append(f"{what} is not available ({type(exc).__name__}: {exc}); its part of the demo is skipped.")


def start_peers(hub, folder: Path) -> Peers:
    """Start every stand-in that is installed; each one is stopped when ``peers.stack`` closes."""
    peers = Peers(ExitStack())
    start_sandboxes(hub, peers)
    _try(peers, "The SMTP server (aiosmtpd)", lambda: _smtp(peers, folder / "smtp"))
    _try(peers, "An IMAP server (Dovecot or pymap)", lambda: _imap(peers))
    _try(peers, "Radicale (CalDAV)", lambda: _radicale(peers, folder / "caldav"))
    if peers.imap is not None and peers.smtp is not None:
        pem = peers.imap.cert_path.read_text() + peers.smtp.cert_path.read_text()
        peers.config["imap"] = {"ca_certificates": pem}
        if peers.radicale is not None:
            peers.config["icloud"] = {
                "caldav_url": peers.radicale.url, "ca_certificates": pem,
                "imap_host": peers.imap.host, "imap_port": str(peers.imap.port), "imap_security": "starttls",
                "smtp_host": peers.smtp.host, "smtp_port": str(peers.smtp.ssl_port), "smtp_security": "ssl"}
    return peers


def _try(peers: Peers, what: str, start: Callable[[], None]) -> None:
    try:
        start()
    except Exception as exc:  # a missing package or binary: the rest of the demo still runs
        log.debug("could not start %s", what, exc_info=True)
        peers.skip(what, exc)


def start_sandboxes(hub, peers: Peers) -> None:
    """Start the stand-in each provider's plugin offers (``hub_demo_sandbox``), with every demo user in it."""
    people = {address(login): name for login, name, _role, _provider in USERS}
    for name, info in hub.plugins.providers.items():
        _try(peers, f"The {info.label} sandbox", partial(_sandbox, hub, peers, name, people))


def _sandbox(hub, peers: Peers, provider: str, people: dict[str, str]) -> None:
    sandbox = hub.plugins.maybe_call("hub_demo_sandbox", context=hub.provider_context(provider), people=people)
    if sandbox is None:
        return  # no stand-in of its own (IMAP, iCloud: the demo's own servers)
    peers.stack.callback(sandbox.stop)
    peers.config[provider], peers.consent[provider] = sandbox.config, sandbox.consent_form


def _smtp(peers: Peers, folder: Path) -> None:
    from hub.peers.smtp import SmtpServer

    folder.mkdir(parents=True)
    server = SmtpServer(folder).start()
    peers.stack.callback(server.stop)
    peers.smtp = server


def _imap(peers: Peers) -> None:
    from hub.peers.base import peer_directory
    from hub.peers.imap import DovecotServer, ImapPeer, PymapServer

    # a folder of its own, not under the instance: Dovecot's mail processes run as nobody and must get
    # in, and the instance may sit under a folder only its owner can enter
    folder = peer_directory("hub-demo-imap-")
    peers.stack.callback(shutil.rmtree, folder, ignore_errors=True)
    server: ImapPeer | None = None
    dovecot = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if dovecot and os.geteuid() == 0:
        (folder / "dovecot").mkdir()
        try:
            server = DovecotServer(folder / "dovecot", dovecot).start()
        except Exception as exc:  # installed but broken (a missing imap binary, a bad config): pymap will do
            log.debug("Dovecot did not start", exc_info=True)
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            peers.notes.append(f"Dovecot is installed but did not start ({reason}); the demo's IMAP server "
                               "is pymap instead.")
    if server is None:
        (folder / "pymap").mkdir()
        pymap = shutil.which("pymap") or str(Path(sys.executable).parent / "pymap")
        server = PymapServer(folder / "pymap", pymap).start()
    peers.stack.callback(server.stop)
    peers.imap = server


def _radicale(peers: Peers, folder: Path) -> None:
    from hub.peers.caldav import Radicale

    folder.mkdir(parents=True)
    server = Radicale(folder).start()
    peers.stack.callback(server.stop)
    peers.radicale = server


# --- demo data -------------------------------------------------------------------------------------


def seed_company(hub) -> dict[str, int]:
    """The demo company, its plans, one user of each role, and the CRM's companies and contacts."""
    from hub.models import (
        Company,
        CompanyDomain,
        Contact,
        ContactAddress,
        Organization,
        OrganizationDomain,
        Plan,
        Role,
        User,
    )

    ids = {}
    with hub.db.session() as s:
        org = Organization(name="Demo Corp", domains=[OrganizationDomain(domain=DOMAIN)])
        free, team = Plan(name="free", daily_mail_cap=100), Plan(name="team", daily_mail_cap=5000)
        s.add_all([org, free, team])
        s.flush()
        for login, name, role, _provider in USERS:
            user = User(email=address(login), name=name, role=Role(role), timezone="Europe/Berlin",
                        password_hash=generate_password_hash(PASSWORD), organization_id=org.id,
                        plan_id=(free if login == "mark" else team).id)
            s.add(user)
            s.flush()
            ids[login] = user.id
        for company_name, (domain, members) in COMPANIES.items():
            company = Company(name=company_name, domains=[CompanyDomain(domain=domain)])
            s.add(company)
            for name, local in members:
                s.add(Contact(name=name, company=company, addresses=[ContactAddress(email=f"{local}@{domain}")]))
        for name, email in FREE_MAIL_CONTACTS:
            s.add(Contact(name=name, is_lead=True, addresses=[ContactAddress(email=email)]))
    return ids


def demo_mailbox(owner: str, owner_name: str, count: int, seed: str) -> tuple[list[bytes], list[bytes]]:
    """``count`` messages for a mailbox over the last four weeks: threads with customers, newsletters.

    :return: (inbox messages, sent messages) as RFC 822 bytes.
    """
    rng = random.Random(seed)
    inbox: list[bytes] = []
    sent: list[bytes] = []
    now = datetime.now(timezone.utc)
    customers = customer_addresses()
    while len(inbox) + len(sent) < count:
        if rng.random() < 0.35:  # a newsletter: external, not a contact, never logged
            sender = f"news@{rng.choice(['saas-weekly', 'events-digest', 'market-letter'])}.example"
            inbox.append(_message(sender, "Newsletter", owner, f"This week: {rng.choice(TOPICS).lower()}",
                                  now - timedelta(days=rng.uniform(0, 27)), [], rng))
            continue
        name, contact = rng.choice(customers)
        when = now - timedelta(days=rng.uniform(2, 27))
        thread: list[str] = []
        topic = rng.choice(TOPICS)
        for turn in range(rng.randint(1, 4)):
            incoming = turn % 2 == 0
            raw, message_id = _message_with_id(
                contact if incoming else owner, name if incoming else owner_name, owner if incoming else contact,
                topic if turn == 0 else f"Re: {topic}", when, thread, rng)
            (inbox if incoming else sent).append(raw)
            thread.append(message_id)
            when += timedelta(hours=rng.uniform(1, 30))
    return inbox, sent


def _message(sender: str, sender_name: str, to: str, subject: str, when: datetime, thread: list[str], rng) -> bytes:
    return _message_with_id(sender, sender_name, to, subject, when, thread, rng)[0]


def _message_with_id(sender: str, sender_name: str, to: str, subject: str, when: datetime, thread: list[str],
                     rng) -> tuple[bytes, str]:
    msg = EmailMessage()
    message_id = make_msgid(domain=sender.split("@")[1])
    msg["Message-ID"], msg["From"], msg["To"] = message_id, f"{sender_name} <{sender}>", to
    msg["Subject"], msg["Date"] = subject, format_datetime(min(when, datetime.now(timezone.utc)))
    if thread:
        msg["In-Reply-To"], msg["References"] = thread[-1], " ".join(thread)
    lines = ["Thanks for the quick turnaround.", "As discussed on the phone, details below.",
             "Could you confirm the numbers by Friday?", "The team is happy with the pilot.",
             "I've looped in our finance contact.", "Let's keep the timeline as planned."]
    msg.set_content(f"Hi,\n\n{' '.join(rng.sample(lines, 3))}\n\nBest,\n{sender_name}\n")
    return bytes(msg), message_id


def seed_calendar(radicale, user, owner: str) -> int:
    """A "Work" calendar with meetings over the next two weeks and a "Personal" one; returns the count."""
    from icalendar import Calendar, Event, vCalAddress

    rng = random.Random(owner)
    work = radicale.make_calendar(user, "work", "Work")
    personal = radicale.make_calendar(user, "personal", "Personal")
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    made = 0
    for offset in range(1, 15):
        day = today + timedelta(days=offset)
        if day.weekday() >= 5 or rng.random() < 0.4:
            continue
        start = day + timedelta(hours=rng.choice([8, 9, 12, 13, 14]), minutes=rng.choice([0, 30]))
        name, guest = rng.choice(customer_addresses())
        event = Event()
        event.add("uid", f"demo-{offset}-{owner}")
        event.add("summary", f"{rng.choice(TOPICS)} — {name}")
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(minutes=rng.choice([30, 45, 60])))
        event.add("dtstamp", datetime.now(timezone.utc))
        event.add("organizer", vCalAddress(f"mailto:{owner}"))
        event.add("attendee", vCalAddress(f"mailto:{guest}"))
        calendar = Calendar()
        calendar.add("prodid", "-//crm-hub demo//EN")
        calendar.add("version", "2.0")
        calendar.add_component(event)
        radicale.put_object(user, f"{work}demo-{offset}.ics", calendar.to_ical())
        made += 1
    gym = Event()
    gym.add("uid", f"gym-{owner}")
    gym.add("summary", "Gym")
    gym.add("dtstart", today + timedelta(days=1, hours=17))
    gym.add("dtend", today + timedelta(days=1, hours=18))
    gym.add("dtstamp", datetime.now(timezone.utc))
    gym.add("rrule", {"freq": "weekly", "count": 8})
    calendar = Calendar()
    calendar.add("prodid", "-//crm-hub demo//EN")
    calendar.add("version", "2.0")
    calendar.add_component(gym)
    radicale.put_object(user, f"{personal}gym.ics", calendar.to_ical())
    return made + 1 + seed_time_zone_cases(radicale, user, work, owner)


#: what Outlook puts in an invitation: a Windows zone name with its own VTIMEZONE
OUTLOOK_ZONE = ("BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\nBEGIN:STANDARD\r\nDTSTART:16010101T030000\r\n"
                "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\n"
                "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\n"
                "TZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\n"
                "END:VTIMEZONE\r\n")


def seed_time_zone_cases(radicale, user, work: str, owner: str) -> int:
    """What calendars written elsewhere hold, on the "Work" calendar (zone Europe/Berlin): an all-day
    series across the next DST change, a weekly Outlook invitation with a Windows zone name, and a
    floating event. Returns how many objects were written."""
    from zoneinfo import ZoneInfo

    from icalendar import Timezone

    berlin = ZoneInfo("Europe/Berlin")
    zone = Timezone.from_tzid("Europe/Berlin").to_ical().decode()
    body = ('<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:calendar-timezone>'
            f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//crm-hub demo//EN\r\n{zone}END:VCALENDAR\r\n"
            "</C:calendar-timezone></D:prop></D:set></D:propertyupdate>")
    radicale.request(user, "PROPPATCH", work, body, {"Content-Type": "application/xml"})
    today = datetime.now(berlin).date()
    change = next(today + timedelta(days=n) for n in range(1, 400)
                  if datetime.combine(today + timedelta(days=n), datetime.min.time(), berlin).utcoffset()
                  != datetime.combine(today + timedelta(days=n + 1), datetime.min.time(), berlin).utcoffset())
    first = today + timedelta(days=3)
    fair = [change - timedelta(days=1) + timedelta(days=i) for i in range(4)]
    dentist = next(first + timedelta(days=k) for k in range(1, 9) if first + timedelta(days=k) not in fair)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    objects = {
        "trade-fair": (f"UID:trade-fair-{owner}\r\nSUMMARY:Trade fair (all day)\r\n"
                       f"DTSTART;VALUE=DATE:{change - timedelta(days=1):%Y%m%d}\r\n"
                       f"DTEND;VALUE=DATE:{change:%Y%m%d}\r\nRRULE:FREQ=DAILY;COUNT=4\r\n", ""),
        "outlook-sync": (f"UID:outlook-sync-{owner}\r\nSUMMARY:Weekly sync (Outlook invitation)\r\n"
                         f"DTSTART;TZID=W. Europe Standard Time:{first:%Y%m%d}T100000\r\n"
                         f"DTEND;TZID=W. Europe Standard Time:{first:%Y%m%d}T110000\r\nRRULE:FREQ=WEEKLY;COUNT=20\r\n"
                         "ORGANIZER:mailto:maria.lopez@acme-industries.example\r\n"
                         f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{owner}\r\n", OUTLOOK_ZONE),
        "dentist": (f"UID:dentist-{owner}\r\nSUMMARY:Dentist (floating time)\r\n"
                    f"DTSTART:{dentist:%Y%m%d}T140000\r\nDTEND:{dentist:%Y%m%d}T150000\r\n", ""),
    }
    for name, (vevent, vtimezone) in objects.items():
        radicale.put_object(user, f"{work}{name}.ics", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//crm-hub demo//EN\r\n"
                            f"{vtimezone}BEGIN:VEVENT\r\nDTSTAMP:{stamp}\r\n{vevent}END:VEVENT\r\nEND:VCALENDAR\r\n")
    return len(objects)


# --- connecting the demo users' accounts ---------------------------------------------------------------


def _consent(url: str, answer: dict[str, Any]) -> str:
    """Answer a sandbox consent page the way its form would (the person clicks Allow); returns the code."""
    parts = urlsplit(url)
    fields = list(parse_qsl(parts.query)) + [(k, v) for k, values in answer.items()
                                            for v in (values if isinstance(values, list) else [values])]
    response = requests.post(parts._replace(query="").geturl(), data=fields, allow_redirects=False, timeout=30)
    location = response.headers.get("Location", "")
    code = dict(parse_qsl(urlsplit(location).query)).get("code")
    if response.status_code not in (302, 303) or not code:
        raise RuntimeError(f"the consent page answered {response.status_code}: {response.text[:200]}")
    return code


def connect_oauth(hub, peers: Peers, user_id: int, provider: str, email: str) -> int:
    """Connect through the provider's real OAuth flow against its sandbox (state + PKCE by the core)."""
    from hub import oauth
    from hub.accounts import connect_account

    begin = oauth.start(f"{hub.settings.base_url.rstrip('/')}/connect/{provider}/callback", login_hint=email)
    url = hub.plugins.call("hub_authorization_url", context=hub.provider_context(provider), start=begin)
    code = _consent(url, peers.consent[provider](url, email))
    return connect_account(hub, user_id, provider, {"code": code, "code_verifier": begin.code_verifier,
                                                    "redirect_uri": begin.redirect_uri})


def connect_demo_accounts(hub, peers: Peers, ids: dict[str, int]) -> list[str]:
    """Connect each demo user's account (see :data:`USERS`); returns one line per account."""
    from hub.accounts import connect_account
    from hub.sync.calendars import refresh_calendars
    from hub.types import CALENDAR_READ

    lines = []
    for login, _name, _role, provider in USERS:
        if provider is None or provider not in peers.config:
            continue
        email = address(login)
        try:
            if provider in peers.consent:
                account_id = connect_oauth(hub, peers, ids[login], provider, email)
            elif provider == "imap":
                account_id = connect_account(hub, ids[login], "imap", _imap_mailbox(peers, login, email))
            else:
                account_id = connect_account(hub, ids[login], "icloud", _icloud_account(peers, login, email))
            if hub.plugins.provider(provider).can(CALENDAR_READ):
                refresh_calendars(hub, account_id)  # the default calendar exists before the first sync job
            lines.append(f"{email}: {hub.plugins.provider(provider).label} connected")
        except Exception as exc:  # the user can still connect by hand
            log.warning("could not connect %s's %s account: %s", login, provider, exc)
            lines.append(f"{email}: {provider} not connected ({exc})")
    _meeting_type(hub, ids["sam"])
    _team_types(hub, ids["sam"], [ids["sam"], ids["sophie"], ids["claire"]])  # each with a calendar
    return lines


def _imap_mailbox(peers: Peers, login: str, email: str) -> dict[str, str]:
    user = peers.imap.add_user(email)
    peers.smtp.add_user(email, user.password)
    inbox, sent = demo_mailbox(email, dict((u[0], u[1]) for u in USERS)[login], IMAP_MESSAGES, email)
    peers.imap.append_many(user, "INBOX", inbox)
    peers.imap.append_many(user, "Sent", sent)
    return {"email": email, "preset": "custom", "username": email, "password": user.password,
            "imap_host": peers.imap.host, "imap_port": str(peers.imap.port), "imap_security": "starttls",
            "smtp_host": peers.smtp.host, "smtp_port": str(peers.smtp.ssl_port), "smtp_security": "ssl"}


def _icloud_account(peers: Peers, login: str, email: str) -> dict[str, str]:
    from hub.peers.caldav import app_password

    password = app_password()
    caldav_user = peers.radicale.add_user(email, password)
    seed_calendar(peers.radicale, caldav_user, email)
    mail_user = peers.imap.add_user(email, password)
    peers.smtp.add_user(email, password)
    inbox, sent = demo_mailbox(email, dict((u[0], u[1]) for u in USERS)[login], 60, email)
    peers.imap.append_many(mail_user, "INBOX", inbox)
    peers.imap.append_many(mail_user, "Sent", sent)
    return {"email": email, "password": password}


def _meeting_type(hub, user_id: int) -> None:
    """Sam's primary meeting type, live when his calendar is connected (the others get the prompt)."""
    from hub.models import Account, MeetingType
    from hub.sync.calendars import default_calendar, usable

    with hub.db.session() as s:
        calendar = default_calendar(s, user_id)
        bookable = calendar is not None and usable(s.get(Account, calendar.account_id))
        s.add(MeetingType(user_id=user_id, name="Intro call", slug="sam-intro", duration_minutes=30,
                          timezone="Europe/Berlin", is_primary=True, active=bookable,
                          weekly_hours={d: [["09:00", "12:00"], ["13:00", "17:00"]]
                                        for d in ("mon", "tue", "wed", "thu", "fri")}))


#: the team meeting types seeded for Sam's team: (slug, name, kind)
TEAM_TYPES = (("sales-team", "Talk to sales", "round_robin"), ("team-demo", "Product demo with the team", "collective"))


def _team_types(hub, owner: int, members: list[int]) -> None:
    """A round-robin and a collective type of Sam's team, so a new user sees both kinds (and questions)."""
    from hub.models import MeetingType, MeetingTypeMember

    with hub.db.session() as s:
        for slug, name, kind in TEAM_TYPES:
            s.add(MeetingType(
                user_id=owner, name=name, slug=slug, kind=kind, duration_minutes=30, timezone="Europe/Berlin",
                active=True, max_per_day=4 if kind == "round_robin" else None,
                weekly_hours={d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
                questions=[{"key": "company_size", "label": "Company size", "kind": "choice", "required": True,
                            "choices": ["1-10", "11-50", "51-500", "500+"]},
                           {"key": "phone", "label": "Phone", "kind": "phone", "required": False, "choices": []}],
                members=[MeetingTypeMember(user_id=uid) for uid in members]))


# --- running it --------------------------------------------------------------------------------------


def configure(hub, peers: Peers) -> None:
    """Point every provider at its stand-in (the admin's Providers page shows the same settings)."""
    from hub.models import ProviderSetting

    with hub.db.session() as s:
        for name in hub.plugins.providers:
            config = peers.config.get(name)
            s.merge(ProviderSetting(name=name, enabled=config is not None, config=config or {}))
    hub.refresh_disabled_providers()


def welcome(url: str, connected: list[str], notes: list[str]) -> str:
    """What the demo prints: where to go and who to sign in as."""
    from hub.models import Role
    from hub.permissions import ROLE_LABELS

    lines = ["", f"CRM hub demo: open {url}", "", "Sign in as (password for everyone: " + PASSWORD + "):"]
    for login, name, role, _provider in USERS:
        lines.append(f"  {address(login):<26} {ROLE_LABELS[Role(role)]:<18} {name}")
    lines += ["", "Connected at start (their first sync runs now):"] + [f"  {line}" for line in connected]
    lines += ["", f"Public booking page: {url}/book/sam-intro",
              f"Team booking pages: {url}/book/sales-team (round-robin), {url}/book/team-demo (collective)",
              "Connect more: “Sign in with Google” / “Connect Microsoft 365” open the sandboxes' consent pages.",
              "Everything runs locally and is reset at every start; stop with Ctrl-C.",
              "For real use: python3 dev.py run --real (keeps its data in ./instance; later runs serve it)."]
    lines += [f"Note: {note}" for note in notes]
    return "\n".join(lines) + "\n"


def run_demo(host: str = "127.0.0.1", port: int = 5000, instance: Path | None = None, workers: int = 2) -> None:
    """Start the stand-ins, seed the demo, and serve the hub until Ctrl-C."""
    from hub.config import Settings
    from hub.core import Hub, set_process_hub
    from hub.peers.base import free_port
    from hub.supervisor import listen

    listen(host, port).close()  # a taken port is said now, not after a minute of seeding
    instance = (instance or Path.cwd() / "hub-demo").resolve()
    if instance.exists():
        shutil.rmtree(instance)  # the sandboxes start empty: old tokens would only fail
    instance.mkdir(parents=True)
    url = f"http://{host}:{port}"
    os.environ.update({"HUB_INSTANCE_PATH": str(instance), "HUB_BASE_URL": url, "HUB_ALLOW_PRIVATE_HOSTS": "1",
                       "HUB_DEMO": "1",  # the web pages show the demo banner
                       "HUB_MAIL_DOMAIN": f"log.{DOMAIN}", "HUB_SMTP_PORT": str(free_port()),
                       # the Google and Microsoft stand-ins speak plain http on loopback: oauthlib's switch
                       "OAUTHLIB_INSECURE_TRANSPORT": "1"})
    for name in ("HUB_DATABASE_URL", "HUB_REDIS_URL", "HUB_LOAD_PLUGINS", "HUB_KEYS"):
        os.environ.pop(name, None)  # the demo is self-contained: its own SQLite and embedded Redis
    for chatty in ("mail.log", "alembic", "werkzeug"):  # the stand-ins' request logs drown the welcome text
        logging.getLogger(chatty).setLevel(logging.WARNING)
    click.echo(f"Starting the demo's stand-ins and seeding it in {instance} …")
    hub = Hub(Settings.load(), create_keys=True)
    set_process_hub(hub)
    try:
        hub.db.upgrade()
        peers = start_peers(hub, instance / "peers")
        with peers.stack:
            configure(hub, peers)
            ids = seed_company(hub)
            connected = connect_demo_accounts(hub, peers, ids)
            click.echo(welcome(url, connected, peers.notes))
            _serve(host, port, workers)
    finally:
        hub.close()  # last: its embedded Redis served the workers too


def _serve(host: str, port: int, workers: int) -> None:
    """Run what ``hub serve`` runs (web, workers, scheduler, IDLE listener, BCC receiver) with the demo's settings."""
    from hub.config import Settings
    from hub.core import Hub, set_process_hub
    from hub.supervisor import serve_all

    hub = Hub(Settings.load(), create_keys=True)  # serve_all closes it; the demo's own hub stays open
    set_process_hub(hub)
    serve_all(hub, host, port, worker_count=workers, say=click.echo)
