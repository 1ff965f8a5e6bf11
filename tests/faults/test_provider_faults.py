"""A 20 % fault rate — 500s, 503s, 429s with Retry-After, answers held past the client's timeout,
answers lost after the provider acted, dropped and refused connections — through a full initial
sync and an hour of incremental syncs (six 10-minute polls) with changes on both sides.

The jobs are the production ones (``hub.jobs.sync_account`` → ``sync_calendar`` / ``sync_mail`` /
``push_outbox``) run by a real RQ worker with their own retry rules; only the clock is moved on
(scheduled retries made due, push backoffs run out). When the faults stop, one more poll must leave
hub and provider in exact agreement: every event, every message, once; every CRM meeting on the
calendar once; no invitation sent twice; the account green.
"""

from __future__ import annotations

import pytest

from tests.faults.driving import drain_until_quiet, failed_jobs, tick
from tests.faults.proxy import FaultProxy
from tests.faults.worlds import CaldavWorld, CrmEdits, ImapWorld

pytestmark = pytest.mark.faults

RATE = 0.2
HOUR_OF_POLLS = 6


def run_calendar_world(hub, world, user_id: int, dice, proxy_rate: float) -> tuple[int, CrmEdits]:
    world.seed(events=24, messages=6)
    account_id = world.connect(hub, user_id)
    dice.rate, world.proxy.rate = RATE - proxy_rate, proxy_rate
    drain_until_quiet(hub)  # the initial sync, through the faults
    crm = CrmEdits(hub, user_id)
    for n in range(HOUR_OF_POLLS):
        world.remote_changes(n)
        crm.round(n)
        tick(hub)
    dice.rate = world.proxy.rate = 0.0
    tick(hub)
    return account_id, crm


def test_google_converges_under_a_20_percent_fault_rate(hub, make_user, google, dice):
    user_id = make_user(google.email)
    account_id, crm = run_calendar_world(hub, google, user_id, dice, proxy_rate=0.05)
    assert sum(dice.drawn.values()) + sum(google.proxy.faults.values()) >= 10  # the faults really happened
    google.assert_agrees(hub, account_id, crm)
    assert not failed_jobs(hub)


def test_microsoft_converges_under_a_20_percent_fault_rate(hub, make_user, graph, dice):
    user_id = make_user(graph.email)
    account_id, crm = run_calendar_world(hub, graph, user_id, dice, proxy_rate=0.05)
    assert sum(dice.drawn.values()) + sum(graph.proxy.faults.values()) >= 10
    graph.assert_agrees(hub, account_id, crm)
    assert not failed_jobs(hub)


def test_caldav_on_radicale_converges_under_a_20_percent_fault_rate(hub, make_user, radicale, dovecot, smtp_server,
                                                                     radicale_proxy):
    world = CaldavWorld(radicale, dovecot, smtp_server, radicale_proxy)
    user_id = make_user(world.email)
    world.seed(events=24)
    account_id = world.connect(hub, user_id)
    radicale_proxy.rate = RATE
    drain_until_quiet(hub)
    crm = CrmEdits(hub, user_id)
    for n in range(HOUR_OF_POLLS):
        world.remote_changes(n)
        crm.round(n)
        tick(hub)
    radicale_proxy.rate = 0.0
    tick(hub)
    world.assert_agrees(hub, account_id, crm)
    assert sum(radicale_proxy.faults.values()) >= 5  # the faults really happened
    assert not failed_jobs(hub)


def test_imap_on_dovecot_converges_under_a_20_percent_fault_rate(hub, make_user, dovecot, smtp_server,
                                                                  dovecot_proxy):
    from hub_imap import session as imap_sessions

    world = ImapWorld(dovecot, smtp_server, dovecot_proxy)
    world.seed(inbox=30, sent=5)
    account_id = world.connect(hub, make_user(world.user.email))
    dovecot_proxy.rate = RATE
    try:
        drain_until_quiet(hub)
        for n in range(HOUR_OF_POLLS):
            world.remote_changes(n)
            tick(hub)
        dovecot_proxy.rate = 0.0
        tick(hub)
    finally:
        imap_sessions.close_all()
    world.assert_agrees(hub, account_id)
    assert sum(dovecot_proxy.faults.values()) >= 5  # the faults really happened
    assert not failed_jobs(hub)


class _LoseOneAnswer(FaultProxy):
    """Lets the TLS handshake and CAPABILITY through, then loses the answer to the next command (LOGIN)."""

    def _draw(self):
        if not self.rate or self.faults["lost_answer"]:
            return None
        self.faults["lost_answer"] += 1
        return "lost_answer"


def test_a_connection_lost_during_imap_login_does_not_ask_for_a_new_password(hub, make_user, dovecot, smtp_server):
    from hub_imap import session as imap_sessions

    with _LoseOneAnswer(dovecot.ssl_port, per="request", spare_first=3) as proxy:
        world = ImapWorld(dovecot, smtp_server, proxy)
        world.seed(inbox=3, sent=1)
        account_id = world.connect(hub, make_user(world.user.email))
        imap_sessions.close_all()  # the sync logs in afresh, and that LOGIN's answer is lost
        proxy.rate = 1.0
        try:
            drain_until_quiet(hub)
        finally:
            imap_sessions.close_all()
    assert proxy.faults["lost_answer"] == 1
    world.assert_agrees(hub, account_id)
