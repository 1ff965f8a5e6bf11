"""The meeting-type form's team, limits and questions fields, and the booking page asking the questions."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import select

from hub.models import Booking, MeetingType, Organization, Role
from tests.web.conftest import add_user, connect_memory, sign_in
from tests.web.test_meetings import slots_on_page

SALES = "salesperson@corp.test"
SALES_MAILBOX_PASSWORD = "sales-mailbox-secret"
TEAM_FORM = {"kind": "round_robin", "members_form": "1", "questions":
             "Company size | choice | 1-10, 11-50 | required\nPhone | phone | optional",
             "max_per_day": "2"}


def test_the_form_saves_a_team_type_with_questions_limits_and_overrides_and_shows_them_again(bookable, hub, people):
    day_off = (date.today() + timedelta(days=2)).isoformat()
    data = {**TEAM_FORM, "slug": "sales", "date_overrides": f"{day_off}: off\n"}
    response = bookable.post("/meetings/new", data={**_base(), **data, "member": [str(people["alice"]),
                                                                               str(people[Role.SALESPERSON])],
                                                    f"weight_{people['alice']}": "3",
                                                    f"member_hours_{people['alice']}": "mon 09:00-12:00; tue 10:00-11:00"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with hub.db.session() as s:
        mt = s.scalar(select(MeetingType).where(MeetingType.slug == "sales"))
        assert (mt.kind, mt.max_per_day, mt.date_overrides) == ("round_robin", 2, {day_off: []})
        assert sorted((m.user_id, m.weight) for m in mt.members) == sorted(
            [(people["alice"], 3), (people[Role.SALESPERSON], 1)])
        assert [q["kind"] for q in mt.questions] == ["choice", "phone"]
        assert {m.user_id: m.weekly_hours for m in mt.members} == {
            people["alice"]: {"mon": [["09:00", "12:00"]], "tue": [["10:00", "11:00"]]}, people[Role.SALESPERSON]: None}
        type_id = mt.id
    page = bookable.get(f"/meetings/{type_id}/edit").get_data(as_text=True)
    assert f"{day_off}: off" in page and "Company size | choice | 1-10, 11-50 | required" in page
    assert f'value="{people["alice"]}" checked' in page and 'value="mon 09:00-12:00; tue 10:00-11:00"' in page
    assert 'data-kind="round_robin"' in bookable.get("/meetings/").get_data(as_text=True)


def test_a_member_s_hours_in_a_wrong_form_are_explained(bookable, people):
    response = bookable.post("/meetings/new", data={**_base(), **TEAM_FORM, "slug": "sales",
                                                    "member": [str(people["alice"])],
                                                    f"member_hours_{people['alice']}": "someday 9-5"})
    assert response.status_code == 400 and "mon 09:00-12:00; tue 10:00-16:00" in response.get_data(as_text=True)


def test_a_member_from_another_organization_is_refused(bookable, hub):
    with hub.db.session() as s:
        org = Organization(name="Elsewhere")
        s.add(org)
        s.flush()
        org_id = org.id
    stranger = add_user(hub, "stranger@elsewhere.test", Role.SALESPERSON, org_id)
    response = bookable.post("/meetings/new", data={**_base(), **TEAM_FORM, "slug": "sales",
                                                    "member": [str(stranger)]})
    assert response.status_code == 400 and "not a colleague" in response.get_data(as_text=True)


def test_the_booking_page_asks_the_questions_and_refuses_a_missing_required_answer(bookable, app, hub, people):
    assert bookable.post("/meetings/new", data={**_base(), **TEAM_FORM, "slug": "sales",
                                                "member": [str(people["alice"])]}).status_code == 302
    guest = app.test_client()
    page = guest.get("/book/sales?tz=UTC").get_data(as_text=True)
    slot = slots_on_page(page)[0]
    form = guest.get(f"/book/sales?tz=UTC&slot={quote(slot)}").get_data(as_text=True)
    assert 'name="q_company_size"' in form and '<option>11-50</option>' in form and 'type="tel"' in form
    data = {"start": slot, "guest_name": "Ann", "guest_email": "ann@example.org", "tz": "UTC"}
    missing = guest.post("/book/sales?tz=UTC", data=data)
    assert missing.status_code == 400 and "Please enter an answer to “Company size”" in missing.get_data(as_text=True)
    done = guest.post("/book/sales?tz=UTC", data={**data, "q_company_size": "11-50", "q_phone": "+49 30 1234567"})
    assert done.status_code == 302
    with hub.db.session() as s:
        booking = s.scalar(select(Booking))
        assert booking.answers == [{"key": "company_size", "label": "Company size", "answer": "11-50"},
                                   {"key": "phone", "label": "Phone", "answer": "+49 30 1234567"}]
        contact_id = booking.contact_id
    contact_page = bookable.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert "<strong>Company size:</strong> 11-50" in contact_page


def _base() -> dict:
    return {"name": "Talk to sales", "duration_minutes": "30", "timezone": "UTC", "min_notice_minutes": "60",
            "horizon_days": "14", "slot_step_minutes": "30",
            **{f"hours_{d}": "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}


def test_a_member_without_a_calendar_limits_a_team_page_but_the_others_stay_bookable(bookable, app, people):
    assert bookable.post("/meetings/new", data={**_base(), **TEAM_FORM, "slug": "sales", "member": [
        str(people["alice"]), str(people[Role.SALESPERSON])]}).status_code == 302
    page = app.test_client().get("/book/sales?tz=UTC").get_data(as_text=True)
    assert "some team members' calendars cannot be read" in page and slots_on_page(page)
    assert "with one of Salesperson or Alice" in page


@pytest.fixture
def memory(memory):
    """Alice's account and the salesperson's, each with a calendar."""
    memory.add_account(SALES, SALES_MAILBOX_PASSWORD, "Salesperson", calendars=("primary",))
    return memory


def test_a_collective_booking_is_listed_for_every_member(bookable, app, worker, people):
    member = app.test_client()
    sign_in(member, SALES)
    connect_memory(member, worker, SALES, SALES_MAILBOX_PASSWORD)
    assert bookable.post("/meetings/new", data={**_base(), **TEAM_FORM, "name": "Panel", "kind": "collective",
                                                "slug": "panel", "questions": "",
                                                "member": [str(people[Role.SALESPERSON])]}).status_code == 302
    guest = app.test_client()
    slot = slots_on_page(guest.get("/book/panel?tz=UTC").get_data(as_text=True))[0]
    booked = guest.post("/book/panel?tz=UTC", data={"start": slot, "guest_name": "Grace",
                                                    "guest_email": "grace@example.org", "tz": "UTC"})
    assert booked.status_code == 302
    for host in (bookable, member):
        page = host.get("/meetings/").get_data(as_text=True)
        assert "Grace &lt;grace@example.org&gt;</td><td>Panel</td>" in page
