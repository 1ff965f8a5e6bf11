"""Matching a page of calendar events at once (:func:`hub.crm.matching.page_cache`): the same
answers as address by address, from a few queries for the whole page instead of two per event."""

from __future__ import annotations

from sqlalchemy import event

from hub.crm.matching import match_addresses, page_cache
from tests.sync.test_matching import _org

ADDRESSES = ["alice@acme.com", "Alice@acme-labs.io", "carol@acme.com", "bob@acme-research.org",
             "dan@globex.com", "DAN.private@gmail.com", "new@globex.de", "stranger@nowhere.example", ""]


def _answers(matches) -> dict:
    return {e: (m.kind, m.user_id, m.contact_id, m.company_id) for e, m in matches.items()}


def test_same_answers_as_without_the_cache(hub):
    ids = _org(hub)
    with hub.db.session() as s:
        plain = [_answers(match_addresses(s, ids["alice"], ADDRESSES[i:i + 3])) for i in range(0, 9, 3)]
    with hub.db.session() as s, page_cache(s, ids["alice"], ADDRESSES[:4]):  # half known up front
        cached = [_answers(match_addresses(s, ids["alice"], ADDRESSES[i:i + 3])) for i in range(0, 9, 3)]
    assert cached == plain


def test_a_page_of_events_costs_no_query_per_event(hub):
    ids = _org(hub)
    events = [[f"guest{i}@client{i % 7}.example", "dan@globex.com", "alice@acme.com"] for i in range(60)]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with hub.db.session() as s:
        s.connection()  # the session's own first statements are not the page's
        event.listen(hub.db.engine, "before_cursor_execute", count)
        try:
            with page_cache(s, ids["alice"], [a for people in events for a in people]):
                for people in events:  # _people, then set_participants, as meeting_import.on_event does
                    match_addresses(s, ids["alice"], people)
                    match_addresses(s, ids["alice"], people)
        finally:
            event.remove(hub.db.engine, "before_cursor_execute", count)
    assert len(statements) == 2, statements  # the organization directory, the page's contacts and domains
