"""The first hour's small things: permissions by their names, read-only calendars without directions
they cannot have, a favicon on every page."""

from __future__ import annotations

from tests.web.conftest import ALICE, connect_memory, sign_in


def test_settings_names_permissions_as_people_say_them(client, people):
    sign_in(client, ALICE)
    html = client.get("/settings/").get_data(as_text=True)
    assert "Your role allows: Connect accounts, Choose calendars, Mail sync, Meetings and booking links, " \
           "Contacts and companies." in html
    assert "mail_sync" not in html


def test_a_read_only_calendar_offers_only_calendar_to_crm(client, people, worker):
    sign_in(client, ALICE)
    connect_memory(client, worker)
    html = client.get("/calendars/").get_data(as_text=True)
    holidays = html[html.index('<h3>Holidays'):]
    holidays = holidays[:holidays.index("</form>")]
    assert "Calendar → CRM only" in holidays
    assert "Two-way" not in holidays and "CRM → calendar only" not in holidays
    team = html[html.index('<h3>Team calendar'):]
    assert "Two-way" in team[:team.index("</form>")]


def test_every_page_has_a_favicon(client, people):
    html = client.get("/login").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg"' in html
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and b"<svg" in icon.data
