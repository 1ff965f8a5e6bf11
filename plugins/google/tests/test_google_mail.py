"""Gmail behaviour of the plugin: what a synced message holds, history paging, deletions, threads."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from hub.types import Address, OutgoingMessage

from hub_google import hooks
from hub_google.testing import SANDBOX_USER


def since() -> datetime:
    return datetime.now(timezone.utc) - timedelta(days=3)


def sync(account, folder="inbox", cursor=None, limit=50):
    messages, deleted, pages = [], [], 0
    for _ in range(100):
        page = hooks.hub_sync_mail(account=account, folder=folder, cursor=cursor, limit=limit, since=since())
        assert len(page.messages) <= limit
        pages += 1
        messages.extend(page.messages)
        deleted.extend(page.deleted)
        cursor = page.next_cursor
        if page.done:
            return messages, deleted, cursor, pages
    raise AssertionError("never done")


def mail(subject: str, **headers) -> EmailMessage:
    msg = EmailMessage()
    msg["Message-ID"] = make_msgid(domain="acme.example")
    msg["From"] = headers.pop("sender", "Maria López <maria@acme.example>")
    msg["To"] = SANDBOX_USER
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    return msg


def test_message_content_text_html_and_attachment_metadata(google_sandbox, google_account):
    msg = mail("Angebot für Q3 ✓", Cc="Tom <tom@acme.example>")
    msg.set_content("Hallo Alice,\nanbei das Angebot.\n")
    msg.add_alternative("<p>Hallo Alice, <b>anbei</b> das Angebot.</p>", subtype="html")
    msg.add_attachment(b"%PDF-1.4 " + b"x" * 5000, maintype="application", subtype="pdf", filename="angebot.pdf")
    google_sandbox.state.deliver_mail(SANDBOX_USER, bytes(msg))
    [got], _, _, _ = sync(google_account)
    assert got.subject == "Angebot für Q3 ✓"
    assert (got.sender.email, got.sender.name) == ("maria@acme.example", "Maria López")
    assert [a.email for a in got.cc] == ["tom@acme.example"]
    assert "anbei das Angebot" in got.text_body and "<b>anbei</b>" in got.html_body
    [attachment] = got.attachments
    assert (attachment.filename, attachment.content_type) == ("angebot.pdf", "application/pdf")
    assert attachment.size == 5009 and attachment.remote_id
    assert "%PDF" not in got.text_body + got.html_body, "attachment bytes are never fetched"
    assert got.message_id == msg["Message-ID"] and got.thread_id and got.parse_error is None


def test_history_pages_respect_the_limit_and_see_deletions(google_sandbox, google_account):
    state = google_sandbox.state
    first = state.deliver_mail(SANDBOX_USER, bytes(mail("first")))
    _, _, cursor, _ = sync(google_account, limit=2)
    ids = [state.deliver_mail(SANDBOX_USER, bytes(mail(f"new {i}"))).id for i in range(5)]
    state.user(SANDBOX_USER).mailbox.delete(first.id)
    messages, deleted, cursor, pages = sync(google_account, cursor=cursor, limit=2)
    assert [m.remote_id for m in messages] == ids, "every new message once, in order"
    assert deleted == [first.id] and pages >= 3
    assert sync(google_account, cursor=cursor)[0] == []


def test_mail_outside_the_folder_is_not_synced(google_sandbox, google_account):
    state = google_sandbox.state
    _, _, cursor, _ = sync(google_account)
    state.deliver_mail(SANDBOX_USER, bytes(mail("spam")), labels=("SPAM",))
    state.deliver_mail(SANDBOX_USER, bytes(mail("inbox")))
    messages, _, _, _ = sync(google_account, cursor=cursor)
    assert [m.subject for m in messages] == ["inbox"]


def test_initial_sync_starts_at_since(google_sandbox, google_account):
    old = mail("old")
    google_sandbox.state.deliver_mail(SANDBOX_USER, bytes(old),
                                      internal_date=int((datetime.now() - timedelta(days=30)).timestamp() * 1000))
    google_sandbox.state.deliver_mail(SANDBOX_USER, bytes(mail("recent")))
    messages, _, _, _ = sync(google_account)
    assert [m.subject for m in messages] == ["recent"]


def test_reply_stays_in_its_thread_and_reaches_a_sandbox_user(google_sandbox, google_account):
    state = google_sandbox.state
    state.add_user("bob@example.com", "Bob")
    original = mail("Kick-off", sender="Bob <bob@example.com>")
    original.set_content("Shall we meet?")
    delivered = state.deliver_mail(SANDBOX_USER, bytes(original))
    reply = OutgoingMessage(sender=Address(SANDBOX_USER, "Alice Example"), to=[Address("bob@example.com", "Bob")],
                            subject="Re: Kick-off", text_body="Yes, Tuesday.", in_reply_to=original["Message-ID"],
                            references=[original["Message-ID"]], thread_id=delivered.thread_id)
    sent = hooks.hub_send_mail(account=google_account, message=reply)
    assert sent.thread_id == delivered.thread_id
    stored = state.user(SANDBOX_USER).mailbox.get(sent.remote_id)
    assert stored.labels == ["SENT"] and stored.header("Message-ID") == sent.message_id
    [received] = [m for m in state.user("bob@example.com").mailbox.messages.values()]
    assert received.header("In-Reply-To") == original["Message-ID"]
    messages, _, _, _ = sync(google_account, folder="sent")
    assert [(m.subject, m.thread_id) for m in messages] == [("Re: Kick-off", delivered.thread_id)]


def test_bcc_recipients_are_delivered_but_not_shown(google_sandbox, google_account):
    message = OutgoingMessage(sender=Address(SANDBOX_USER), to=[Address("x@external.example")], subject="hi",
                              text_body="…", bcc=[Address("log+abc@hub.example")])
    hooks.hub_send_mail(account=google_account, message=message)
    outbound = {m["to"]: m["raw"] for m in google_sandbox.state.outbound}
    assert set(outbound) == {"x@external.example", "log+abc@hub.example"}
    assert b"log+abc" not in outbound["x@external.example"]


def test_a_reply_names_its_parent_in_references_even_when_the_chain_is_older(google_sandbox, google_account):
    """RFC 5322 §3.6.4: References is the parent's References followed by the parent's Message-ID."""
    google_sandbox.state.add_user("bob@example.com", "Bob")
    reply = OutgoingMessage(sender=Address(SANDBOX_USER), to=[Address("bob@example.com")], subject="Re: Plan",
                            text_body="Agreed.", in_reply_to="<parent@example.com>",
                            references=["<root@example.com>"])
    sent = hooks.hub_send_mail(account=google_account, message=reply)
    stored = google_sandbox.state.user(SANDBOX_USER).mailbox.get(sent.remote_id)
    assert stored.header("References") == "<root@example.com> <parent@example.com>"
