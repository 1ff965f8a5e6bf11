"""End to end: the mail engine with the real IMAP plugin (plugins/imap) against Dovecot, sending
through the SMTP peer — initial and incremental sync through the job, the broken-message corpus,
expunges, a UIDVALIDITY reset, and sending from the CRM."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.accounts import connect_account
from hub.models import MailMessage, ProviderSetting, TimelineEntry, UserAlias
from hub.sending import send_mail
from hub.sync.mail import folder_progress, sync_folder
from hub.types import Address, OutgoingMessage
from tests.mail_corpus.world import mail

hub_imap = pytest.importorskip("hub_imap.hooks", reason="the IMAP plugin (plugins/imap) is not installed")
from hub_imap import session as imap_sessions  # noqa: E402
from hub_imap.testing import connect_params, trusted  # noqa: E402

CORPUS = Path(__file__).parents[1] / "mail_corpus" / "broken"


@pytest.fixture
def hub_plugins():
    return [("imap", hub_imap)]


def mailbox_on(hub, acme, peer, smtp_server):
    """A new mailbox of Alice's on ``peer``: its server trusted by the hub, its address one of hers."""
    user = peer.add_user()
    with hub.db.session() as s:
        s.add(ProviderSetting(name="imap", enabled=True, config={"ca_certificates": trusted(peer, smtp_server)}))
        s.add(UserAlias(user_id=acme.alice, email=user.email))
    return user


@pytest.fixture
def mailbox(hub, acme, dovecot, smtp_server):
    """Alice's Dovecot mailbox, connected through the hub like the connect form does."""
    yield mailbox_on(hub, acme, dovecot, smtp_server)
    imap_sessions.close_all()


def connect(hub, acme, peer, smtp_server, user) -> int:
    params = connect_params(peer, user, smtp_server, imap_security="starttls", smtp_security="ssl")
    return connect_account(hub, acme.alice, "imap", params)


def rows(hub, *where) -> list[MailMessage]:
    with hub.db.session() as s:
        return s.scalars(sa.select(MailMessage).where(*where).order_by(MailMessage.id)).all()


def dan_entries(hub, acme) -> int:
    with hub.db.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(TimelineEntry).where(TimelineEntry.contact_id == acme.dan))


def test_engine_and_imap_plugin_against_dovecot(hub, acme, dovecot, smtp_server, mailbox, worker):
    me = mailbox.email
    corpus = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml")) if p.stat().st_size]  # IMAP refuses empty mail
    pdf = [("a.pdf", b"%PDF" + b"x" * 150_000)]
    good = [mail("Dan <dan@globex.com>", me, f"good {i}", attachments=pdf if i == 2 else ()) for i in range(5)]
    dovecot.append_many(mailbox, "INBOX", good + corpus)
    dovecot.append(mailbox, "Sent", mail(me, "dan@globex.com", "sent by Alice"))

    account = connect(hub, acme, dovecot, smtp_server, mailbox)  # enqueues the account's first sync
    worker.drain()
    assert worker.failed() == []

    inbox = rows(hub, MailMessage.folder == "inbox")
    assert len(inbox) == len(good) + len(corpus)
    assert folder_progress(hub, account)["inbox"] == (len(inbox), len(inbox), True)
    subjects = {m.subject for m in inbox}
    assert {f"good {i}" for i in range(5)} <= subjects
    with_attachment = next(m for m in inbox if m.subject == "good 2")
    assert with_attachment.attachments[0]["filename"] == "a.pdf" and with_attachment.size > 150_000
    assert any(m.parse_error for m in inbox)
    [sent] = rows(hub, MailMessage.folder == "sent")
    assert sent.direction == "out"
    logged_before = dan_entries(hub, acme)
    assert logged_before >= 6

    # incremental: one new message comes in, one is expunged elsewhere
    dovecot.append(mailbox, "INBOX", mail("dan@globex.com", me, "new one"))
    with dovecot.client(mailbox) as imap:
        imap.select_folder("INBOX")
        [uid] = imap.search(["SUBJECT", "good 0"])
        imap.delete_messages([uid])
        imap.expunge()
    result = sync_folder(hub, account, "inbox")
    assert (result["fetched"], result["stored"], result["deleted"]) == (1, 1, 1)
    assert "good 0" not in {m.subject for m in rows(hub)}
    assert sync_folder(hub, account, "inbox")["fetched"] == 0  # nothing new: nothing fetched

    # the server is restored from a backup: every UID is void, the same mail comes back once
    before = sorted((m.message_id or "", m.subject) for m in rows(hub, MailMessage.folder == "inbox"))
    entries_before = dan_entries(hub, acme)
    dovecot.expire_uidvalidity(mailbox, "INBOX")
    result = sync_folder(hub, account, "inbox")
    assert result["restarted"]
    assert sorted((m.message_id or "", m.subject) for m in rows(hub, MailMessage.folder == "inbox")) == before
    assert dan_entries(hub, acme) == entries_before


def test_sending_from_the_crm_through_smtp_is_logged_once(hub, acme, dovecot, smtp_server, mailbox):
    account = connect(hub, acme, dovecot, smtp_server, mailbox)
    row_id = send_mail(hub, acme.alice, account, OutgoingMessage(
        sender=Address(mailbox.email, "Alice"), to=[Address("dan@globex.com", "Dan")], subject="Quote",
        text_body="Here is the quote."))
    [captured] = smtp_server.messages
    assert captured.rcpt_tos == ["dan@globex.com"] and captured.message()["Subject"] == "Quote"
    with hub.db.session() as s:
        assert s.get(MailMessage, row_id).message_id in captured.data.decode()
    sync_folder(hub, account, "sent")  # the plugin's copy in Sent is the same mail
    assert dan_entries(hub, acme) == 1


@pytest.fixture(params=["dovecot", "pymap", "cyrus"])
def server(request):
    """Each IMAP peer in turn."""
    return request.getfixturevalue(request.param)


def _undated(sender: str, to: str, subject: str, date_header: str | None, message_id: str | None) -> bytes:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}"]
    lines += [f"Date: {date_header}"] if date_header is not None else []
    lines += [f"Message-ID: {message_id}"] if message_id else []
    return ("\r\n".join(lines) + "\r\n\r\nbody of " + subject + "\r\n").encode()


def test_uidvalidity_reset_recovers_in_one_sync_without_duplicates(hub, acme, server, smtp_server):
    """A restored mailbox (new UIDVALIDITY): the next sync alone recovers — over the connection the
    last sync left open, which Cyrus closes — and each mail is stored once, matched by Message-ID and,
    without one, by content; also those whose Date cannot place them in the window."""
    user = mailbox_on(hub, acme, server, smtp_server)
    me = user.email
    server.append_many(user, "INBOX", [
        mail("Dan <dan@globex.com>", me, "dated"),
        _undated("dan@globex.com", me, "no date header", None, "<nodate@globex.com>"),
        _undated("dan@globex.com", me, "year 1900", "Mon, 1 Jan 1900 00:00:00 +0000", "<old@globex.com>"),
        _undated("dan@globex.com", me, "garbage date", "the day before yesterday", "<garbage@globex.com>"),
        _undated("dan@globex.com", me, "no message-id, year 1900", "Mon, 1 Jan 1900 00:00:00 +0000", None),
        _undated("dan@globex.com", me, "no message-id, no date", None, None),
    ])
    try:
        account = connect(hub, acme, server, smtp_server, user)
        sync_folder(hub, account, "inbox")
        before = sorted((m.message_id or "", m.subject) for m in rows(hub, MailMessage.folder == "inbox"))
        assert len(before) == 6
        entries_before = dan_entries(hub, acme)

        server.expire_uidvalidity(user, "INBOX")
        result = sync_folder(hub, account, "inbox")
        assert result["restarted"]
        after = sorted((m.message_id or "", m.subject) for m in rows(hub, MailMessage.folder == "inbox"))
        assert after == before
        assert dan_entries(hub, acme) == entries_before
        assert sync_folder(hub, account, "inbox")["fetched"] == 0
    finally:
        imap_sessions.close_all()


def test_a_contact_deep_in_a_huge_recipient_list_is_logged(hub, acme, server, smtp_server):
    """3,000 addresses in To, Dan at position 2,500: matched and logged; the stored list is bounded,
    the full count kept, and the cut noted on the message."""
    from hub.models import MailParticipant
    from hub.sync.mail_rows import MAX_PARTICIPANTS

    user = mailbox_on(hub, acme, server, smtp_server)
    crowd = [f"member{i}@list.example" for i in range(3000)]
    crowd[2499] = "dan@globex.com"
    server.append(user, "INBOX", mail("newsletter@list.example", crowd, "to everyone"))
    try:
        account = connect(hub, acme, server, smtp_server, user)
        sync_folder(hub, account, "inbox")
        [message] = rows(hub, MailMessage.folder == "inbox")
        assert dan_entries(hub, acme) == 1
        assert message.recipient_count == 3000
        assert "3,000" in (message.parse_error or "") and "recipients" in message.parse_error
        with hub.db.session() as s:
            stored = s.scalar(sa.select(sa.func.count()).select_from(MailParticipant)
                              .where(MailParticipant.message_id == message.id))
        assert stored <= MAX_PARTICIPANTS + 1  # the sender and a bounded list of recipients
    finally:
        imap_sessions.close_all()


@pytest.fixture
def small_parts(monkeypatch):
    """Parts of 10 messages, pages of 4: a 40-message folder exercises what 10,000 do."""
    from hub.sync import mail as engine

    from hub_imap import sync as imap_sync

    monkeypatch.setattr(imap_sync, "MIN_PARTITION", 10)
    monkeypatch.setattr(engine, "PAGE_SIZE", 4)


def _distinct_ids(hub) -> tuple[int, int]:
    inbox = rows(hub, MailMessage.folder == "inbox")
    return len(inbox), len({m.message_id for m in inbox})


def test_a_large_initial_sync_runs_in_parts_exactly_once(hub, acme, server, smtp_server, small_parts):
    """The folder is cut into 4 UID ranges; parts run in any order (one twice), mail that arrives
    meanwhile comes with the folder's next sync, and every message is stored exactly once."""
    user = mailbox_on(hub, acme, server, smtp_server)
    server.append_many(user, "INBOX", [mail("dan@globex.com", user.email, f"bulk {i}") for i in range(40)])
    try:
        account = connect(hub, acme, server, smtp_server, user)
        first = sync_folder(hub, account, "inbox")
        assert first["parts"] == [0, 1, 2, 3] and first["fetched"] == 0
        assert folder_progress(hub, account)["inbox"] == (0, 40, False)
        assert sync_folder(hub, account, "inbox")["parts"] == [0, 1, 2, 3], "a folder sync names pending parts"

        sync_folder(hub, account, "inbox", part=2)
        assert sync_folder(hub, account, "inbox", part=2)["skipped"], "a part runs once"
        sync_folder(hub, account, "inbox", part=0)
        assert folder_progress(hub, account)["inbox"] == (20, 40, False)
        server.append(user, "INBOX", mail("dan@globex.com", user.email, "arrived during the parts"))
        assert not sync_folder(hub, account, "inbox", part=1)["again"]
        last = sync_folder(hub, account, "inbox", part=3)
        assert last["again"], "the last part asks for one more folder sync"
        assert _distinct_ids(hub) == (40, 40)
        assert folder_progress(hub, account)["inbox"] == (40, 40, True)

        after = sync_folder(hub, account, "inbox")
        assert (after["fetched"], after["parts"]) == (1, [])
        assert _distinct_ids(hub) == (41, 41)
        assert dan_entries(hub, acme) == 41
        assert sync_folder(hub, account, "inbox")["fetched"] == 0
    finally:
        imap_sessions.close_all()


def test_parts_run_as_jobs_and_a_reset_mailbox_restarts_the_folder(hub, acme, dovecot, smtp_server, small_parts,
                                                                    worker):
    user = mailbox_on(hub, acme, dovecot, smtp_server)
    dovecot.append_many(user, "INBOX", [mail("dan@globex.com", user.email, f"bulk {i}") for i in range(30)])
    try:
        account = connect(hub, acme, dovecot, smtp_server, user)
        assert sync_folder(hub, account, "inbox")["parts"] == [0, 1, 2]
        sync_folder(hub, account, "inbox", part=0)
        dovecot.expire_uidvalidity(user, "INBOX")
        restarted = sync_folder(hub, account, "inbox", part=1)
        assert restarted["restarted"] and restarted["again"]
        worker.drain()  # the connect's jobs, then the folder again: split anew, its parts as jobs
        assert worker.failed() == []
        assert _distinct_ids(hub) == (30, 30)
        assert folder_progress(hub, account)["inbox"] == (30, 30, True)
    finally:
        imap_sessions.close_all()
