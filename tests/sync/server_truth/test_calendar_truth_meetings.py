"""Calendar truth for CRM meetings, through Radicale, the iCloud plugin and the engine: series begun before
the sync window, cancellations and declined invitations, and the participant rules mail uses (the three
multi-domain cases: aliases on several domains, a colleague's domain becoming internal once a user has it,
colleagues-only events)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from hub.models import Company, CompanyDomain, Organization, User, UserAlias
from tests.sync.caldav_truth import UTC, today, vcalendar


def utc_stamp(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%SZ")


def invitation(uid: str, start: datetime, *people: str, organizer: str = "dan@globex.example", extra: str = "",
               minutes: int = 60) -> str:
    attendees = "\n".join(f"ATTENDEE;{p}" if ":" in p else f"ATTENDEE;CN={p.split('@')[0]}:mailto:{p}"
                          for p in people)
    return vcalendar(f"UID:{uid}\nDTSTAMP:20260101T000000Z\nDTSTART:{utc_stamp(start)}\n"
                     f"DTEND:{utc_stamp(start + timedelta(minutes=minutes))}\nSUMMARY:{uid}\n"
                     f"ORGANIZER:mailto:{organizer}\n{attendees}\n{extra}".strip())


def soon(days: int, hour: int = 10) -> datetime:
    return datetime.combine(today() + timedelta(days=days), time(hour), UTC)


# --- defect 6: a series begun before the window ------------------------------------------------------------


def test_a_weekly_series_begun_last_month_blocks_time_and_becomes_a_crm_meeting(caldav):
    first = soon(-35)
    caldav.put("weekly", vcalendar(
        f"UID:weekly\nDTSTAMP:20260101T000000Z\nDTSTART:{utc_stamp(first)}\nDTEND:{utc_stamp(first + timedelta(hours=1))}\n"
        "RRULE:FREQ=WEEKLY\nSUMMARY:Weekly with Globex\nORGANIZER:mailto:dan@globex.example\n"
        f"ATTENDEE:mailto:{caldav.user.name}"))
    caldav.sync()
    blocks = caldav.blocks()
    assert blocks and blocks[0][0] == first + timedelta(weeks=5), "the first occurrence inside the window blocks"
    assert all((s - first) % timedelta(weeks=1) == timedelta(0) for s, _ in blocks)
    [meeting] = caldav.meetings()
    assert meeting.title == "Weekly with Globex" and meeting.recurrence == ["RRULE:FREQ=WEEKLY"]


def test_a_series_that_ended_before_the_window_is_not_imported(caldav):
    first = soon(-35)
    caldav.put("over", vcalendar(
        f"UID:over\nDTSTAMP:20260101T000000Z\nDTSTART:{utc_stamp(first)}\nDTEND:{utc_stamp(first + timedelta(hours=1))}\n"
        "RRULE:FREQ=WEEKLY;COUNT=3\nSUMMARY:Finished\nORGANIZER:mailto:dan@globex.example"))
    caldav.sync()
    assert caldav.meetings() == [] and caldav.blocks() == []


# --- defect 7: cancellations and declined invitations ------------------------------------------------------


def test_a_cancelled_invitation_frees_its_time_and_marks_the_meeting_cancelled(caldav):
    caldav.put("call", invitation("call", soon(3), caldav.user.name))
    caldav.sync()
    [meeting] = caldav.meetings()
    assert not meeting.cancelled and caldav.blocks() == [(soon(3), soon(3, 11))]

    caldav.put("call", invitation("call", soon(3), caldav.user.name, extra="STATUS:CANCELLED\nSEQUENCE:1"))
    caldav.sync()
    [after] = caldav.meetings()
    assert after.id == meeting.id and after.cancelled, "kept, and marked cancelled — not deleted"
    assert caldav.blocks() == []


def test_a_cancelled_occurrence_never_blocks(caldav):
    first = soon(2)
    caldav.put("daily", vcalendar(
        f"UID:daily\nDTSTAMP:20260101T000000Z\nDTSTART:{utc_stamp(first)}\nDTEND:{utc_stamp(first + timedelta(hours=1))}\n"
        "RRULE:FREQ=DAILY;COUNT=3\nSUMMARY:Daily\nORGANIZER:mailto:dan@globex.example",
        f"UID:daily\nDTSTAMP:20260101T000000Z\nRECURRENCE-ID:{utc_stamp(first + timedelta(days=1))}\n"
        f"DTSTART:{utc_stamp(first + timedelta(days=1))}\nDTEND:{utc_stamp(first + timedelta(days=1, hours=1))}\n"
        "STATUS:CANCELLED\nSUMMARY:Daily"))
    caldav.sync()
    assert [s for s, _ in caldav.blocks()] == [first, first + timedelta(days=2)]


def test_a_declined_invitation_does_not_block_and_the_meeting_shows_the_answer(caldav):
    me = caldav.user.name
    caldav.put("pitch", invitation("pitch", soon(4), f"PARTSTAT=DECLINED;CN=Me:mailto:{me}", "eve@globex.example"))
    caldav.sync()
    assert caldav.blocks() == [], "declined: the time stays free"
    [meeting] = caldav.meetings()
    mine = [p for p in meeting.participants if p.email == me.lower()]
    assert [p.response for p in mine] == ["declined"] and not meeting.cancelled


# --- defect 8: the participant rules of mail -----------------------------------------------------------------


def make_org(hub, host_user_id: int, *aliases: str) -> int:
    """Karl's company: Karl (the host) with his aliases; no declared domains, so users' domains decide."""
    with hub.db.session() as s:
        org = Organization(name="Ex")
        s.add(org)
        s.flush()
        karl = s.get(User, host_user_id)
        karl.email, karl.organization_id = "karl@ex.se", org.id
        karl.aliases = [UserAlias(email=a) for a in aliases]
        s.add(Company(name="Globex", domains=[CompanyDomain(domain="globex.example")]))
        return org.id


def test_the_three_multi_domain_cases_hold_for_calendar_invitations(caldav, hub):
    org = make_org(hub, caldav.user_id, "karl@sthlm.ex.se")
    # 1. an outsider invites Karl on his other domain with a non-user colleague on Karl's own domain
    caldav.put("one", invitation("one", soon(2), "karl@sthlm.ex.se", "eva@ex.se"))
    # 2. a colleague on a domain no user has yet is an outsider …
    caldav.put("two", invitation("two", soon(3), "johanna@gbg.ex.se", organizer="karl@ex.se"))
    # 3. colleagues only, some on other internal domains, is internal
    caldav.put("three", invitation("three", soon(4), "eva@ex.se", "karl@sthlm.ex.se", organizer="karl@ex.se"))
    caldav.sync()
    found = {m.title: m for m in caldav.meetings()}
    assert set(found) == {"one", "two"}
    people = {p.email: p for p in found["one"].participants}
    assert people["karl@sthlm.ex.se"].user_id == caldav.user_id, "an alias is the user"
    assert people["eva@ex.se"].contact_id is None and people["eva@ex.se"].company_id is None
    assert people["dan@globex.example"].company_id is not None

    # … until a user with that domain is registered: from then on she is a colleague
    with hub.db.session() as s:
        s.add(User(email="lucas@gbg.ex.se", organization_id=org))
    caldav.put("four", invitation("four", soon(5), "johanna@gbg.ex.se", organizer="karl@ex.se"))
    caldav.sync()
    assert {m.title for m in caldav.meetings()} == {"one", "two"}, "internal now: not a CRM meeting"
    assert len(caldav.blocks()) == 4, "every event still blocks time"


def test_an_alias_organizer_with_only_a_room_is_not_a_meeting(caldav, hub):
    make_org(hub, caldav.user_id, "karl@sthlm.ex.se")
    caldav.put("room", invitation("room", soon(2), "CUTYPE=ROOM:mailto:room-1@ex.se", organizer="karl@sthlm.ex.se"))
    caldav.sync()
    assert caldav.meetings() == [] and len(caldav.blocks()) == 1
