"""Finding 4: the BCC receiver parsed hostile headers without bounds.

One 170 KB message with 10,000 encoded words in its Subject took the process from 143 MB to 990 MB.
Sent here over real SMTP to the hub's receiver; the parse's peak allocation is measured in this
process (the receiver runs in a thread here), which is what a memory bound means.
"""

from __future__ import annotations

import smtplib
import tracemalloc

import pytest
import sqlalchemy as sa

from hub.bcc import HEADER_CAP, bcc_address, start_bcc_server
from hub.models import MailMessage, User
from hub.testing.peers.base import free_port

#: far above what a sane mail needs, far below what the attack took
PEAK_BYTES = 64 * 1024 * 1024


@pytest.fixture
def receiver(hub):
    controller = start_bcc_server(hub, "127.0.0.1", free_port())
    yield controller
    controller.stop()


def send(receiver, raw: bytes, rcpt: str):
    with smtplib.SMTP(receiver.hostname, receiver.port, timeout=120) as client:
        return client.sendmail("alice@corp.test", [rcpt], raw)


def logging_address(hub, user_id: int) -> str:
    with hub.db.session() as s:
        return bcc_address(s.get(User, user_id), hub)


def mail(subject: str, extra: str = "") -> bytes:
    return (f"From: Alice <alice@corp.test>\r\nTo: Maria <maria@acme.example>\r\nSubject: {subject}\r\n{extra}"
            "Message-ID: <hostile@corp.test>\r\nDate: Mon, 01 Mar 2027 10:00:00 +0000\r\n\r\nHello\r\n").encode()


def test_ten_thousand_encoded_words_in_a_subject_are_parsed_in_bounded_memory(hub, people, receiver):
    subject = "\r\n ".join(f"=?utf-8?q?w{i}?=" for i in range(10_000))  # folded: SMTP lines stay short
    raw = mail(subject)
    assert len(raw) > 170_000
    tracemalloc.start()
    try:
        assert send(receiver, raw, logging_address(hub, people["alice"])) == {}
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"{peak / 2**20:.0f} MB"
    with hub.db.session() as s:
        stored = s.scalar(sa.select(MailMessage.subject))
    assert stored.startswith("w0w1w2")


def test_a_header_block_past_the_cap_is_cut_and_flagged_not_parsed_whole(hub, people, receiver):
    filler = "".join(f"X-Filler-{i}: {'=?utf-8?q?x?= ' * 20}\r\n" for i in range(HEADER_CAP // 200))
    raw = mail("Quarterly numbers", filler)
    assert len(raw) > HEADER_CAP
    assert send(receiver, raw, logging_address(hub, people["alice"])) == {}
    with hub.db.session() as s:
        subject, problem = s.execute(sa.select(MailMessage.subject, MailMessage.parse_error)).one()
    assert subject == "Quarterly numbers"
    assert "header block too long" in problem


def test_the_receiver_advertises_and_enforces_a_size_limit(hub, people, receiver):
    with smtplib.SMTP(receiver.hostname, receiver.port, timeout=30) as client:
        client.ehlo()
        assert int(client.esmtp_features["size"]) > 0
