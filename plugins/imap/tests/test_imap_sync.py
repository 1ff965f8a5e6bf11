"""Mail sync against Dovecot (CONDSTORE/QRESYNC), pymap (plain IMAP) and Cyrus: cursors, expunges, flags, paging."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest

from hub.exceptions import CursorExpired
from hub.testing.conformance import sync_mail_all

import hub_imap.hooks
import hub_imap.session
from hub_imap.sync import MailCursor
from hub_imap.testing import account_for, connect_params, context_for

SINCE = datetime.now(timezone.utc) - timedelta(days=2)


def mail(subject: str, *, attachment: bytes | None = None, html: str | None = None) -> tuple[bytes, str]:
    msg = EmailMessage()
    msg_id = make_msgid(domain="sync.example")
    msg["Message-ID"], msg["From"], msg["To"] = msg_id, "Sam <sam@example.org>", "me@example.test"
    msg["Subject"], msg["Date"] = subject, format_datetime(datetime.now(timezone.utc))
    msg.set_content(f"text of {subject}")
    if html:
        msg.add_alternative(html, subtype="html")
    if attachment is not None:
        msg.add_attachment(attachment, maintype="application", subtype="pdf", filename="report.pdf")
    return bytes(msg), msg_id


def sync(account, cursor=None, folder="inbox", limit=50, since=SINCE):
    return sync_mail_all(hub_imap.hooks, account, folder, cursor, limit, since)


def test_sync_path_follows_server_extensions(peer, imap_account, mail_user):
    peer.append(mail_user, "INBOX", mail("one")[0])
    _, _, cursor = sync(imap_account)
    state = json.loads(cursor)
    if peer.modern:
        assert isinstance(state["modseq"], int), "Dovecot: CONDSTORE HIGHESTMODSEQ is tracked"
    else:
        assert state["modseq"] is None, "pymap: no CONDSTORE, the plain-IMAP path runs"


def test_expunged_and_flagged_between_syncs(peer, imap_account, mail_user):
    raws = [mail(f"msg {i}") for i in range(3)]
    uids = [peer.append(mail_user, "INBOX", raw) for raw, _ in raws]
    messages, _, cursor = sync(imap_account)
    by_msgid = {m.message_id: m for m in messages}
    assert len(by_msgid) == 3

    with peer.client(mail_user) as imap:
        imap.select_folder("INBOX")
        imap.add_flags([uids[0]], [b"\\Flagged", b"\\Seen"])
        imap.delete_messages([uids[1]])
        imap.expunge()

    messages, deleted, cursor = sync(imap_account, cursor)
    assert messages == [], "a flag change never re-delivers a message"
    assert deleted == [by_msgid[raws[1][1]].remote_id]

    messages, deleted, _ = sync(imap_account, cursor)
    assert (messages, deleted) == ([], [])


def test_expunge_and_new_mail_together(peer, imap_account, mail_user):
    first = peer.append(mail_user, "INBOX", mail("old")[0])
    _, _, cursor = sync(imap_account)
    with peer.client(mail_user) as imap:
        imap.select_folder("INBOX")
        imap.delete_messages([first])
        imap.expunge()
    raw, msg_id = mail("new")
    peer.append(mail_user, "INBOX", raw)
    messages, deleted, _ = sync(imap_account, cursor)
    assert [m.message_id for m in messages] == [msg_id]
    assert len(deleted) == 1 and deleted[0].endswith(f"/{first}")


def test_uidvalidity_change_expires_the_cursor_and_resync_has_new_ids(peer, imap_account, mail_user):
    for i in range(3):
        peer.append(mail_user, "INBOX", mail(f"m{i}")[0])
    old, _, cursor = sync(imap_account)
    peer.expire_uidvalidity(mail_user, "INBOX")
    with pytest.raises(CursorExpired) as caught:
        sync(imap_account, cursor)
    assert "UIDVALIDITY" in caught.value.message
    again, _, _ = sync(imap_account)
    assert sorted(m.message_id for m in again) == sorted(m.message_id for m in old)
    assert not {m.remote_id for m in again} & {m.remote_id for m in old}, "new ids: the engine cannot mix them up"
    assert len({m.remote_id for m in again}) == 3


def test_mail_arriving_during_the_initial_sync_comes_next_time(peer, imap_account, mail_user):
    ids = [msg_id for raw, msg_id in (mail(f"initial {i}") for i in range(5)) if peer.append(mail_user, "INBOX", raw)
           or True]
    page = hub_imap.hooks.hub_sync_mail(account=imap_account, folder="inbox", cursor=None, limit=2, since=SINCE)
    assert not page.done and page.total_estimate == 5
    late_raw, late_id = mail("late")
    peer.append(mail_user, "INBOX", late_raw)
    rest, _, cursor = sync(imap_account, page.next_cursor, limit=2)
    initial = [m.message_id for m in page.messages + rest]
    assert sorted(initial) == sorted(ids)
    messages, _, _ = sync(imap_account, cursor)
    assert [m.message_id for m in messages] == [late_id]


def test_initial_sync_starts_at_since(peer, imap_account, mail_user):
    old_raw, old_id = mail("last year")
    peer.append(mail_user, "INBOX", old_raw, msg_time=datetime.now(timezone.utc) - timedelta(days=300))
    new_raw, new_id = mail("this week")
    peer.append(mail_user, "INBOX", new_raw)
    messages, _, cursor = sync(imap_account)
    assert [m.message_id for m in messages] == [new_id]
    messages, _, _ = sync(imap_account, cursor)
    assert messages == [], "mail older than the start is skipped for good, not delivered later"


def test_paging_a_few_hundred_messages(peer, imap_account, mail_user):
    ids = set()
    raws = []
    for i in range(240):
        raw, msg_id = mail(f"bulk {i}")
        raws.append(raw)
        ids.add(msg_id)
    peer.append_many(mail_user, "INBOX", raws)
    first = hub_imap.hooks.hub_sync_mail(account=imap_account, folder="inbox", cursor=None, limit=100, since=SINCE)
    assert first.total_estimate == 240 and len(first.messages) == 100 and not first.done
    rest, _, cursor = sync(imap_account, first.next_cursor, limit=100)
    got = [m.message_id for m in first.messages + rest]
    assert len(got) == 240 and set(got) == ids
    assert len(MailCursor.loads(cursor).known) < 20, "the known UIDs are stored as ranges"


def test_text_parts_and_attachment_metadata(peer, imap_account, mail_user):
    pdf = b"%PDF-1.4 " + bytes(range(256)) * 400
    raw, msg_id = mail("with attachment", html="<p>Hello <b>there</b></p>", attachment=pdf)
    uid = peer.append(mail_user, "INBOX", raw)
    with peer.client(mail_user) as imap:
        imap.select_folder("INBOX", readonly=True)
        server_size = imap.fetch([uid], ["RFC822.SIZE"])[uid][b"RFC822.SIZE"]
    [message], _, _ = sync(imap_account)
    assert message.message_id == msg_id
    assert message.text_body.strip() == "text of with attachment"
    assert "<b>there</b>" in message.html_body
    [attachment] = message.attachments
    assert (attachment.filename, attachment.content_type) == ("report.pdf", "application/pdf")
    assert abs(attachment.size - len(pdf)) < len(pdf) * 0.05
    # the server's RFC822.SIZE (Dovecot and Cyrus count CRLF line ends, pymap the LF it stores)
    assert message.size == server_size
    assert message.parse_error is None


def ended_sessions(dovecot, user) -> list[int]:
    """Bytes Dovecot sent in each of the user's sessions, once every session has ended
    (Dovecot writes the log line a moment after the client leaves)."""
    log = dovecot.directory / "dovecot.log"
    for _ in range(200):
        text = log.read_text()
        logins = len(re.findall(rf"Login: user=<{user.username}>", text))
        sent = [int(n) for n in re.findall(rf"imap\({user.username}\).*Logged out in=\d+ out=(\d+)", text)]
        if logins == len(sent):
            return sent
        time.sleep(0.05)
    raise AssertionError("a session of the test user never ended")


def test_attachment_bytes_are_never_downloaded(dovecot, smtp_server):
    """Dovecot logs how many bytes each session sent: far fewer than the attachment's size."""
    user = dovecot.add_user()
    account = account_for(context_for(dovecot, smtp_server),
                          connect_params(dovecot, user, smtp_server, imap_security="ssl", smtp_security="ssl"))
    big = bytes(range(256)) * 12_000  # 3 MB
    dovecot.append(user, "INBOX", mail("big", attachment=big)[0])
    before = len(ended_sessions(dovecot, user))
    [message], _, _ = sync(account)
    hub_imap.session.release(account.id)  # log out, so Dovecot logs the session's byte count
    assert message.attachments[0].size > 2_000_000
    [sync_session] = ended_sessions(dovecot, user)[before:]
    assert sync_session < 100_000, "headers, structure and text only: the 3 MB attachment stayed on the server"


def test_one_connection_for_all_pages_of_a_sync(dovecot, smtp_server):
    """Pages reuse the job's connection, and so does the next sync; release() logs it out."""
    user = dovecot.add_user()
    account = account_for(context_for(dovecot, smtp_server),
                          connect_params(dovecot, user, smtp_server, imap_security="ssl", smtp_security="ssl"))
    dovecot.append_many(user, "INBOX", [mail(f"page {i}")[0] for i in range(7)])
    before = len(ended_sessions(dovecot, user))
    messages, _, _ = sync(account, limit=2)  # four pages
    assert len(messages) == 7
    dovecot.append(user, "INBOX", mail("one more")[0])  # (its own session, which ends)
    again, _, _ = sync(account, folder="inbox")  # a fresh initial sync, over the same connection
    assert len(again) == 8
    logins = re.findall(rf"Login: user=<{user.username}>", (dovecot.directory / "dovecot.log").read_text())
    assert len(logins) == before + 2, "the sync's connection stays open for the next sync"
    hub_imap.session.release(account.id)
    assert len(ended_sessions(dovecot, user)) == before + 2, "one login for both syncs, logged out at release"


def test_sent_folder_is_found_and_synced(peer, imap_account, mail_user):
    raw, msg_id = mail("sent by another client")
    peer.append(mail_user, peer.sent_folder, raw)
    peer.append(mail_user, "INBOX", mail("inbox mail")[0])
    messages, _, _ = sync(imap_account, folder="sent")
    assert [(m.message_id, m.folder) for m in messages] == [(msg_id, "sent")]
    assert messages[0].remote_id.startswith(peer.sent_folder + "/")


def test_sent_folder_found_by_name_without_special_use(pymap, smtp_server):
    user = pymap.add_user()
    with pymap.client(user) as imap:
        imap.delete_folder("Sent")
        imap.create_folder("Sent Items")
    raw, msg_id = mail("filed by Outlook")
    pymap.append(user, "Sent Items", raw)
    account = account_for(context_for(pymap, smtp_server),
                          connect_params(pymap, user, smtp_server, imap_security="starttls", smtp_security="ssl"))
    messages, _, _ = sync(account, folder="sent")
    assert [m.message_id for m in messages] == [msg_id]


def test_nothing_changed_is_cheap_and_stable(peer, imap_account, mail_user):
    peer.append(mail_user, "INBOX", mail("only")[0])
    _, _, cursor = sync(imap_account)
    page = hub_imap.hooks.hub_sync_mail(account=imap_account, folder="inbox", cursor=cursor, limit=10, since=SINCE)
    assert page.done and page.messages == [] and page.deleted == []
    assert page.next_cursor == cursor


def test_sent_folder_found_by_name_when_the_server_flags_none(cyrus, smtp_server):
    """Cyrus announces SPECIAL-USE, but a mailbox made before it was set up has no \\Sent flag."""
    user = cyrus.add_user(legacy_sent=True)
    raw, msg_id = mail("filed before special-use")
    cyrus.append(user, "INBOX.Sent", raw)
    account = account_for(context_for(cyrus, smtp_server),
                          connect_params(cyrus, user, smtp_server, imap_security="starttls", smtp_security="ssl"))
    messages, _, _ = sync(account, folder="sent")
    assert [(m.message_id, m.remote_id.split("/")[0]) for m in messages] == [(msg_id, "INBOX.Sent")]


@pytest.mark.parametrize("name", ["Gesendete Elemente", "Skickat", "Envoyés", "Sent Messages"])
def test_sent_folder_found_by_localized_name_in_the_namespace(cyrus, smtp_server, name):
    user = cyrus.add_user(legacy_sent=True)
    with cyrus.client(user) as imap:
        imap.delete_folder("INBOX.Sent")
        imap.create_folder(f"INBOX.{name}")
        imap.create_folder("INBOX.Archive")
    raw, msg_id = mail("localized")
    cyrus.append(user, f"INBOX.{name}", raw)
    account = account_for(context_for(cyrus, smtp_server),
                          connect_params(cyrus, user, smtp_server, imap_security="starttls", smtp_security="ssl"))
    messages, _, _ = sync(account, folder="sent")
    assert [m.message_id for m in messages] == [msg_id]


def test_sent_folder_chosen_by_the_user_wins(peer, mail_user, smtp_server, imap_context):
    """The folder picked on the mail-sync page is used even where a \\Sent-flagged one exists."""
    chosen = peer.sent_folder.removesuffix("Sent") + "Outbox copies"  # "Outbox copies" or "INBOX.Outbox copies"
    with peer.client(mail_user) as imap:
        imap.create_folder(chosen)
    raw, msg_id = mail("kept in a folder of my own")
    peer.append(mail_user, chosen, raw)
    peer.append(mail_user, peer.sent_folder, mail("in the flagged one")[0])
    account = account_for(imap_context, connect_params(peer, mail_user, smtp_server, imap_security="starttls",
                                                       smtp_security="ssl", sent_folder=chosen))
    assert account.settings["sent_folder"] == chosen
    messages, _, _ = sync(account, folder="sent")
    assert [m.message_id for m in messages] == [msg_id]


def test_mail_folders_lists_what_the_user_can_pick(peer, mail_user, imap_account):
    projects = peer.sent_folder.removesuffix("Sent") + "Projects"
    with peer.client(mail_user) as imap:
        imap.create_folder(projects)
    names = hub_imap.hooks.hub_mail_folders(account=imap_account)
    assert {"INBOX", peer.sent_folder, projects} <= set(names)
