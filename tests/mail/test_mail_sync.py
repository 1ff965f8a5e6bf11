"""The mail sync engine against MemoryProvider: paging with cursors, idempotency, Message-ID copies,
threads, deletions, expired cursors, the initial window, what is stored, and the job that runs it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from hub import work
from hub.exceptions import CursorExpired, ProviderUnavailable
from hub.models import (
    MailMessage,
    MailParticipant,
    MailThread,
    SyncCursor,
    TimelineEntry,
)
from hub.plugins import hookimpl
from hub.sync import mail as engine
from hub.sync.mail import folder_progress, sync_folder
from hub.testing.memory import MemoryProvider
from tests.mail_corpus.world import connect, mail

ALICE = "alice@acme.com"


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(engine, "PAGE_SIZE", 3)


def rows(hub, model, *where):
    with hub.db.session() as s:
        return s.scalars(sa.select(model).where(*where)).all()


def count(hub, model, *where) -> int:
    with hub.db.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_initial_sync_pages_through_inbox_and_sent_and_stores_each_page_with_its_cursor(hub, backend, acme, small_pages):
    account = connect(hub, backend, acme.alice, ALICE)
    for i in range(7):
        backend.deliver(ALICE, "inbox", mail("Dan <dan@globex.com>", ALICE, f"Question {i}"))
    backend.deliver(ALICE, "sent", mail(ALICE, "dan@globex.com", "Answer"))

    inbox = sync_folder(hub, account, "inbox")
    sent = sync_folder(hub, account, "sent")

    assert (inbox["pages"], inbox["stored"], inbox["logged"]) == (3, 7, 7)
    assert (sent["stored"], sent["logged"]) == (1, 1)
    assert folder_progress(hub, account) == {"inbox": (7, 7, True), "sent": (1, 1, True)}
    [cursor] = rows(hub, SyncCursor, SyncCursor.account_id == account, SyncCursor.key == "inbox")
    assert cursor.kind == "mail" and cursor.cursor and cursor.finished_at is not None
    directions = {m.subject: m.direction for m in rows(hub, MailMessage)}
    assert directions["Answer"] == "out" and directions["Question 0"] == "in"


def test_a_second_run_fetches_only_new_mail_and_stores_nothing_twice(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "one"))
    sync_folder(hub, account, "inbox")
    again = sync_folder(hub, account, "inbox")
    assert (again["fetched"], again["stored"]) == (0, 0)
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "two"))
    third = sync_folder(hub, account, "inbox")
    assert (third["fetched"], third["stored"], third["logged"]) == (1, 1, 1)
    assert count(hub, MailMessage) == 2
    assert count(hub, TimelineEntry, TimelineEntry.contact_id == acme.dan) == 2


class CrashingMemory(MemoryProvider):
    """A provider whose connection drops on the n-th page request (as a worker crash would)."""

    def __init__(self, backend, crash_on: int):
        super().__init__(backend)
        self.crash_on = crash_on
        self.pages = 0

    @hookimpl
    def hub_sync_mail(self, account, folder, cursor, limit, since):
        self.pages += 1
        if self.pages == self.crash_on:
            raise ProviderUnavailable("The connection dropped.")
        return super().hub_sync_mail(account=account, folder=folder, cursor=cursor, limit=limit, since=since)


class TestCrashBetweenPages:
    @pytest.fixture
    def hub_plugins(self, backend):
        return [("memory", CrashingMemory(backend, crash_on=3))]

    def test_resumes_from_the_last_stored_page_without_duplicates(self, hub, backend, acme, small_pages):
        account = connect(hub, backend, acme.alice, ALICE)
        for i in range(10):
            backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, f"m{i}"))
        with pytest.raises(ProviderUnavailable):
            sync_folder(hub, account, "inbox")
        assert count(hub, MailMessage) == 6  # two pages stored, with their cursor
        assert folder_progress(hub, account)["inbox"] == (6, 10, False)
        resumed = sync_folder(hub, account, "inbox")
        assert (resumed["fetched"], resumed["stored"], resumed["duplicates"]) == (4, 4, 0)
        assert sorted(m.subject for m in rows(hub, MailMessage)) == sorted(f"m{i}" for i in range(10))
        assert count(hub, TimelineEntry, TimelineEntry.contact_id == acme.dan) == 10


def test_same_mail_in_two_accounts_of_a_user_is_one_message_on_the_timeline(hub, backend, acme):
    work = connect(hub, backend, acme.alice, ALICE)
    other = connect(hub, backend, acme.alice, "alice@acme.de")
    raw = mail("dan@globex.com", [ALICE, "alice@acme.de"], "To both of you", message_id="<both@globex.com>")
    backend.deliver(ALICE, "inbox", raw)
    backend.deliver("alice@acme.de", "inbox", raw)
    backend.deliver(ALICE, "sent", mail(ALICE, "dan@globex.com", "Reply", in_reply_to="<both@globex.com>",
                                        references=["<both@globex.com>"]))

    sync_folder(hub, work, "inbox")
    second = sync_folder(hub, other, "inbox")
    sync_folder(hub, work, "sent")

    assert second["stored"] == 1 and second["logged"] == 0
    assert count(hub, MailMessage, MailMessage.message_id == "both@globex.com") == 2
    entries = rows(hub, TimelineEntry, TimelineEntry.contact_id == acme.dan)
    assert len(entries) == 2  # the mail once, and the reply
    assert count(hub, TimelineEntry, TimelineEntry.company_id == acme.globex) == 2
    assert count(hub, TimelineEntry, TimelineEntry.opportunity_id == acme.opportunity) == 2
    # the reply joins the thread of the original (References root)
    assert len({m.thread_id for m in rows(hub, MailMessage)}) == 1


def test_deleted_mail_leaves_the_store_and_the_timeline(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    keep = backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "keep"))
    gone = backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "gone"))
    sync_folder(hub, account, "inbox")
    backend.expunge(ALICE, "inbox", gone)
    result = sync_folder(hub, account, "inbox")
    assert result["deleted"] == 1
    assert [m.subject for m in rows(hub, MailMessage)] == ["keep"]
    assert count(hub, TimelineEntry) == 3  # contact, company, opportunity of "keep"
    assert count(hub, MailParticipant) == 2
    assert keep


def test_expired_cursor_resyncs_fully_without_duplicates(hub, backend, acme, small_pages):
    account = connect(hub, backend, acme.alice, ALICE)
    for i in range(4):
        backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, f"old {i}"))
    sync_folder(hub, account, "inbox")
    backend.expire_cursors()
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "new"))
    result = sync_folder(hub, account, "inbox")
    assert result["restarted"] is True
    assert (result["fetched"], result["stored"], result["duplicates"]) == (5, 1, 4)
    assert count(hub, MailMessage) == 5
    assert count(hub, TimelineEntry, TimelineEntry.contact_id == acme.dan) == 5


class ExpiringAlways(MemoryProvider):
    @hookimpl
    def hub_sync_mail(self, account, folder, cursor, limit, since):
        raise CursorExpired("The mailbox was recreated.")


class TestCursorThatNeverWorks:
    @pytest.fixture
    def hub_plugins(self, backend):
        return [("memory", ExpiringAlways(backend))]

    def test_a_provider_refusing_even_a_fresh_start_raises_instead_of_looping(self, hub, backend, acme):
        account = connect(hub, backend, acme.alice, ALICE)
        with pytest.raises(CursorExpired):
            sync_folder(hub, account, "inbox")


class TestInitialWindow:
    @pytest.fixture
    def hub_settings_overrides(self):
        return {"mail_initial_days": 10}

    def test_only_mail_of_the_initial_window_is_imported(self, hub, backend, acme):
        backend.add_account(ALICE, "correct horse")
        now = datetime.now(timezone.utc)
        backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "recent"), received=now - timedelta(days=9))
        backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "too old"), received=now - timedelta(days=11))
        account = connect(hub, backend, acme.alice, ALICE)
        sync_folder(hub, account, "inbox")
        assert [m.subject for m in rows(hub, MailMessage)] == ["recent"]


def test_default_window_is_thirty_days(hub, backend, acme):
    backend.add_account(ALICE, "correct horse")
    now = datetime.now(timezone.utc)
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "29 days"), received=now - timedelta(days=29))
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "31 days"), received=now - timedelta(days=31))
    account = connect(hub, backend, acme.alice, ALICE)
    sync_folder(hub, account, "inbox")
    assert [m.subject for m in rows(hub, MailMessage)] == ["29 days"]


def test_stores_headers_text_html_and_attachment_metadata_only(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    backend.deliver(ALICE, "inbox", mail(
        "Dan <dan@globex.com>", ALICE, "Offer", cc=["Carol <carol@acme.com>"], body="",
        html="<html><head><style>p{}</style></head><body><p>Our <b>offer</b>:</p><p>10&nbsp;% off</p></body></html>",
        attachments=[("offer.pdf", b"%PDF" + b"x" * 200_000)]))
    sync_folder(hub, account, "inbox")
    [m] = rows(hub, MailMessage)
    assert m.text_body == "Our offer:\n\n10 % off"
    assert "<b>offer</b>" in m.html_body
    assert m.attachments == [{"filename": "offer.pdf", "content_type": "application/octet-stream",
                              "size": 200_004, "remote_id": None}]
    assert m.size > 200_000 and m.from_email == "dan@globex.com" and m.from_name == "Dan"
    assert sorted((p.role, p.email) for p in rows(hub, MailParticipant)) == [
        ("cc", "carol@acme.com"), ("from", "dan@globex.com"), ("to", ALICE)]
    with hub.db.session() as s:  # no attachment bytes anywhere in the row
        stored = s.execute(sa.select(MailMessage.__table__)).one()
        assert not any(isinstance(v, (bytes, str)) and "xxxxxxxx" in str(v) for v in stored)


def test_threads_by_references_root_across_folders(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "Plan", message_id="<root@globex.com>"))
    backend.deliver(ALICE, "sent", mail(ALICE, "dan@globex.com", "Re: Plan", message_id="<r1@acme.com>",
                                        in_reply_to="<root@globex.com>", references=["<root@globex.com>"]))
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "Re: Re: Plan", in_reply_to="<r1@acme.com>",
                                         references=["<root@globex.com>", "<r1@acme.com>"]))
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "Something else"))
    sync_folder(hub, account, "inbox")
    sync_folder(hub, account, "sent")
    threads = rows(hub, MailThread)
    assert len(threads) == 2
    plan = next(t for t in threads if t.thread_key == "root@globex.com")
    assert count(hub, MailMessage, MailMessage.thread_id == plan.id) == 3
    assert plan.subject == "Plan"


def test_a_conversation_split_by_in_reply_to_only_clients_is_joined_whatever_the_order(hub, backend, acme):
    """Clients that send In-Reply-To without References, and replies stored before what they answer:
    the three messages of one conversation end in one thread, in each folder order."""
    account = connect(hub, backend, acme.alice, ALICE)
    # the last reply names only its direct parent, which arrives (in Sent) after it
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "Re: Re: Plan", message_id="<r2@globex.com>",
                                         in_reply_to="<r1@acme.com>"))
    backend.deliver(ALICE, "inbox", mail("erin@initech.com", ALICE, "Unrelated"))
    sync_folder(hub, account, "inbox")
    assert count(hub, MailThread) == 2
    backend.deliver(ALICE, "sent", mail(ALICE, "dan@globex.com", "Re: Plan", message_id="<r1@acme.com>",
                                        in_reply_to="<root@globex.com>"))
    sync_folder(hub, account, "sent")
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "Plan", message_id="<root@globex.com>"))
    sync_folder(hub, account, "inbox")

    by_subject = {m.subject: m.thread_id for m in rows(hub, MailMessage)}
    assert by_subject["Plan"] == by_subject["Re: Plan"] == by_subject["Re: Re: Plan"] != by_subject["Unrelated"]
    assert count(hub, MailThread) == 2, "the emptied thread is gone"
    [plan] = rows(hub, MailThread, MailThread.id == by_subject["Plan"])
    assert plan.last_message_at is not None


def test_split_threads_in_one_page_are_joined(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "Plan", message_id="<root@globex.com>"))
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "Re: Plan", message_id="<r1@globex.com>",
                                         in_reply_to="<root@globex.com>"))
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "Re: Re: Plan", in_reply_to="<r1@globex.com>"))
    sync_folder(hub, account, "inbox")
    assert len({m.thread_id for m in rows(hub, MailMessage)}) == 1
    assert count(hub, MailThread) == 1


def test_mail_sync_runs_as_a_job_through_a_real_worker(hub, backend, acme, worker):
    account = connect(hub, backend, acme.alice, ALICE)  # connecting enqueues the account sync
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "via the worker"))
    worker.drain()
    assert worker.failed() == []
    assert [m.subject for m in rows(hub, MailMessage)] == ["via the worker"]
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "second"))
    work.enqueue_mail_sync(hub, account, "inbox")
    worker.drain()
    assert count(hub, MailMessage) == 2


def test_disabled_mail_sync_makes_the_engine_skip(hub, backend, acme):
    from hub.models import Account

    account = connect(hub, backend, acme.alice, ALICE)
    with hub.db.session() as s:
        s.get(Account, account).mail_enabled = False
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "x"))
    assert sync_folder(hub, account, "inbox")["skipped"]
    assert backend.calls["hub_sync_mail"] == 0


def test_mail_deleted_while_the_cursor_was_lost_goes_after_the_resync(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "stays"))
    doomed = backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "deleted meanwhile"))
    sync_folder(hub, account, "inbox")
    backend.expire_cursors()
    with backend.lock:  # expunged without a trace in the change log: only a full resync can tell
        del backend.accounts[ALICE].folders["inbox"].messages[doomed]
    result = sync_folder(hub, account, "inbox")
    assert result["restarted"] and result["deleted"] == 1
    assert [m.subject for m in rows(hub, MailMessage)] == ["stays"]
    assert count(hub, TimelineEntry, TimelineEntry.contact_id == acme.dan) == 1


def test_a_full_resync_on_request_adds_nothing_twice_and_shows_fresh_progress(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    for i in range(3):
        backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, f"m{i}"))
    sync_folder(hub, account, "inbox")
    result = sync_folder(hub, account, "inbox", full=True)
    assert (result["fetched"], result["stored"], result["duplicates"], result["deleted"]) == (3, 0, 3, 0)
    assert folder_progress(hub, account)["inbox"] == (3, 3, True)
    assert count(hub, TimelineEntry, TimelineEntry.contact_id == acme.dan) == 3
