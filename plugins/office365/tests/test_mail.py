"""Mail hooks against the sandbox: selected fields only, attachment metadata, replies, sent folder, faults."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest

from hub.exceptions import CursorExpired, RateLimited
from hub.testing.conformance import sync_mail_all
from hub.types import Address, OutgoingAttachment, OutgoingMessage


@pytest.fixture
def since():
    return datetime.now(timezone.utc) - timedelta(days=30)


def test_only_needed_fields_and_no_attachment_bytes(hooks, account, state, since):
    state.deliver_mail(account.email, "inbox", subject="with file", sender=("Ana", "ana@northwind.example"),
                       html="<p>See <b>attached</b></p>", message_id="<m1@northwind.example>",
                       attachments=[{"name": "quote.pdf", "contentType": "application/pdf", "content": b"%PDF" * 500}])
    [message], _, _ = sync_mail_all(hooks, account, "inbox", None, 10, since)
    assert message.html_body == "<p>See <b>attached</b></p>" and message.text_body == ""
    assert message.sender == Address("ana@northwind.example", "Ana")
    assert message.message_id == "<m1@northwind.example>" and message.thread_id
    [attachment] = message.attachments
    assert (attachment.filename, attachment.content_type, attachment.size) == ("quote.pdf", "application/pdf", 2000)

    queries = {path: query for method, path, query, _ in state.requests}
    delta_query = next(q for p, q in queries.items() if p.endswith("/messages/delta"))
    assert "%24select=" in delta_query and "body" in delta_query and "attachments" not in delta_query
    attachment_query = next(q for p, q in queries.items() if p.endswith("/attachments"))
    assert "contentBytes" not in attachment_query and "%24select=" in attachment_query


def test_threads_and_old_mail(hooks, account, state, since):
    state.deliver_mail(account.email, "inbox", subject="too old", received=since - timedelta(days=1))
    first = state.deliver_mail(account.email, "inbox", subject="Pricing", message_id="<p1@x.example>")
    state.deliver_mail(account.email, "inbox", subject="RE: Pricing", in_reply_to="<p1@x.example>",
                       references=["<p1@x.example>"], conversation_id=first["conversationId"])
    messages, _, _ = sync_mail_all(hooks, account, "inbox", None, 10, since)
    by_subject = {m.subject: m for m in messages}
    assert set(by_subject) == {"Pricing", "RE: Pricing"}, "mail before `since` is not synced"
    reply = by_subject["RE: Pricing"]
    assert reply.in_reply_to == "<p1@x.example>" and reply.references == ["<p1@x.example>"]
    assert reply.thread_id == by_subject["Pricing"].thread_id


def test_deleted_mail_and_expired_cursor(hooks, account, state, since):
    doomed = state.deliver_mail(account.email, "inbox", subject="doomed")
    _, _, cursor = sync_mail_all(hooks, account, "inbox", None, 10, since)
    state.delete_message(account.email, doomed["id"])
    messages, deleted, cursor = sync_mail_all(hooks, account, "inbox", cursor, 10, since)
    assert (messages, deleted) == ([], [doomed["id"]])
    state.expire_delta_tokens()
    with pytest.raises(CursorExpired):
        sync_mail_all(hooks, account, "inbox", cursor, 10, since)


def test_duplicate_delta_items_are_folded(hooks, account, state, since):
    for i in range(3):
        state.deliver_mail(account.email, "inbox", subject=f"m{i}")
    state.knobs.duplicate_delta_items = True
    messages, _, _ = sync_mail_all(hooks, account, "inbox", None, 4, since)
    assert sorted(m.subject for m in messages) == ["m0", "m1", "m2"]


def test_reply_keeps_the_thread(hooks, account, state, since):
    original = state.deliver_mail(account.email, "inbox", subject="Contract", sender="dmitri@fabrikam.example",
                                  message_id="<c1@fabrikam.example>")
    sent = hooks.hub_send_mail(account=account, message=OutgoingMessage(
        sender=Address(account.email), to=[Address("dmitri@fabrikam.example")], subject="RE: Contract",
        html_body="<p>Signed.</p>", in_reply_to="<c1@fabrikam.example>", references=["<c1@fabrikam.example>"]))
    assert sent.thread_id == original["conversationId"] and sent.message_id
    messages, _, _ = sync_mail_all(hooks, account, "sent", None, 10, since)
    [copy] = messages
    assert copy.in_reply_to == "<c1@fabrikam.example>" and copy.thread_id == original["conversationId"]
    assert copy.message_id == sent.message_id and copy.html_body == "<p>Signed.</p>"
    assert not [m for m in state.mailbox(account.email).messages.values() if m["isDraft"]], "no draft left behind"


def test_send_to_a_colleague_reaches_their_inbox(hooks, account, state):
    state.add_mailbox("bob@contoso.example")
    hooks.hub_send_mail(account=account, message=OutgoingMessage(
        sender=Address(account.email), to=[Address("bob@contoso.example")], subject="lunch?", text_body="12:30"))
    [received] = state.mailbox("bob@contoso.example").messages.values()
    assert received["subject"] == "lunch?" and received["from"]["emailAddress"]["address"] == account.email


def test_an_attachment_is_sent_as_a_file_attachment(hooks, account, state):
    """A booking's .ics goes out with its calendar content type (method included)."""
    state.add_mailbox("bob@contoso.example")
    ics = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    hooks.hub_send_mail(account=account, message=OutgoingMessage(
        sender=Address(account.email), to=[Address("bob@contoso.example")], subject="Booked", text_body="see invite",
        attachments=[OutgoingAttachment("invite.ics", "text/calendar; method=REQUEST", ics)]))
    [received] = state.mailbox("bob@contoso.example").messages.values()
    [attachment] = received["attachments"]
    assert (attachment["name"], attachment["contentType"]) == ("invite.ics", "text/calendar; method=REQUEST")
    assert base64.b64decode(attachment["contentBytes"]) == ics


def test_throttled_mail_sync(hooks, account, state, since):
    state.inject_fault(429, retry_after=11, path="/messages/delta")
    with pytest.raises(RateLimited) as caught:
        hooks.hub_sync_mail(account=account, folder="inbox", cursor=None, limit=10, since=since)
    assert caught.value.retry_after == 11


def test_an_update_listed_with_only_its_read_state_keeps_the_message_whole(hooks, account, state, since):
    made = state.deliver_mail(account.email, "inbox", subject="Quote", sender="ana@northwind.example",
                              message_id="<q1@northwind.example>", text="numbers inside")
    _, _, cursor = sync_mail_all(hooks, account, "inbox", None, 10, since)
    state.update_message(account.email, made["id"], {"isRead": True})  # read in Outlook
    messages, deleted, _ = sync_mail_all(hooks, account, "inbox", cursor, 10, since)
    assert deleted == []
    assert [(m.remote_id, m.subject, m.message_id, m.text_body) for m in messages] == [
        (made["id"], "Quote", "<q1@northwind.example>", "numbers inside")]
