"""Broken mail never breaks a sync: the corpus of broken messages (tests/mail_corpus/broken), generated
monsters, and Hypothesis garbage — in raw bytes through MemoryProvider's parser, and in every field of
RemoteMessage straight into the engine. Each message is stored as best it can be; the page goes on."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.models import MailMessage, MailParticipant, TimelineEntry
from hub.plugins import hookimpl
from hub.sync.mail import sync_folder
from hub.sync.mail_rows import MAX_SUBJECT
from hub.testing.memory import MemoryProvider
from hub.types import Address, AttachmentInfo, MailPage, RemoteMessage
from tests.mail_corpus.world import connect, mail

ALICE = "alice@acme.com"
CORPUS = Path(__file__).parents[1] / "mail_corpus" / "broken"


def monsters() -> dict[str, bytes]:
    """Broken messages too big to keep as files."""
    nested = EmailMessage()
    nested.set_content("innermost")
    for _ in range(150):  # deeper than any sane parser recursion budget should need
        outer = EmailMessage()
        outer["Content-Type"] = "multipart/mixed"
        outer.set_payload([nested])
        nested = outer
    deep = b"From: dan@globex.com\r\nTo: alice@acme.com\r\nSubject: Deep\r\n" + nested.as_bytes()
    return {
        "huge_subject": b"From: dan@globex.com\r\nTo: alice@acme.com\r\nSubject: " + b"S" * 1_000_000 + b"\r\n\r\nx\r\n",
        "huge_folded_header": (b"From: dan@globex.com\r\nTo: alice@acme.com\r\nSubject: folded\r\nX-Long: "
                               + b"\r\n ".join([b"part"] * 50_000) + b"\r\n\r\nbody\r\n"),
        "many_references": (b"From: dan@globex.com\r\nTo: alice@acme.com\r\nSubject: refs\r\nReferences: "
                            + b" ".join(b"<r%d@x>" % i for i in range(5000)) + b"\r\n\r\nbody\r\n"),
        "many_recipients": (b"From: dan@globex.com\r\nTo: " + b", ".join(b"p%d@globex.com" % i for i in range(3000))
                            + b"\r\nSubject: everyone\r\n\r\nbody\r\n"),
        "deep_nesting": deep,
        "long_message_id": b"From: dan@globex.com\r\nMessage-ID: <" + b"m" * 5000 + b"@x>\r\nSubject: long id\r\n\r\nb\r\n",
    }


def stored(hub) -> dict[str, MailMessage]:
    with hub.db.session() as s:
        return {m.remote_id: m for m in s.scalars(sa.select(MailMessage))}


def test_broken_corpus_and_monsters_are_stored_and_the_mailbox_goes_on(hub, backend, acme):
    account = connect(hub, backend, acme.alice, ALICE)
    delivered: dict[str, str] = {}
    good = []
    broken = {p.stem: p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))} | monsters()
    assert len(broken) >= 20
    for name, raw in broken.items():
        good.append(backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, f"good before {name}")))
        delivered[name] = f"inbox/{backend.deliver(ALICE, 'inbox', raw, received=datetime.now(timezone.utc))}"
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "good at the end"))

    result = sync_folder(hub, account, "inbox")

    rows = stored(hub)
    assert set(delivered.values()) <= set(rows)
    assert result["stored"] == len(rows) == 2 * len(broken) + 1
    assert result["parse_errors"] >= 5
    with hub.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(TimelineEntry).where(
            TimelineEntry.contact_id == acme.dan)) >= len(good) + 1
    by_name = {name: rows[rid] for name, rid in delivered.items()}
    assert by_name["missing_message_id"].message_id is None
    assert by_name["missing_message_id"].subject == "No Message-ID header at all"
    assert "\x00" not in by_name["nul_bytes"].subject + by_name["nul_bytes"].text_body
    assert len(by_name["huge_subject"].subject) <= MAX_SUBJECT
    assert by_name["long_message_id"].message_id == "m" * 998  # cut to the column, kept for threading
    assert by_name["broken_multipart"].parse_error
    assert "x-no-such-charset" in by_name["unknown_charset_8bit"].parse_error  # stored, and says why


class ScriptedMail(MemoryProvider):
    """Serves whatever RemoteMessages a test hands it, as a plugin with a broken parser might."""

    def __init__(self, backend):
        super().__init__(backend)
        self.next_page: list = []

    @hookimpl
    def hub_sync_mail(self, account, folder, cursor, limit, since):
        page, self.next_page = self.next_page, []
        return MailPage(messages=page, next_cursor=f"{folder}:{len(page)}:{cursor}", done=True)


garbage_text = st.one_of(
    st.none(), st.text(max_size=50), st.binary(max_size=30), st.integers(),
    st.sampled_from(["\x00", "\ud800\udfff junk \udcff", "a" * 5000, "<>", "<<a@b>>", " ", "@", "a@b@c",
                     "dan@globex.com", "DAN@GLOBEX.COM", "<dan@globex.com>", "x@acme.com"]),
)
garbage_address = st.one_of(
    garbage_text,
    st.builds(Address, email=garbage_text, name=garbage_text),
)
garbage_date = st.one_of(
    st.none(), garbage_text,
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                 timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=14)),
                                            timezone(timedelta(hours=-12, minutes=-59))])),
)
garbage_message = st.builds(
    RemoteMessage,
    remote_id=st.one_of(st.text(max_size=20), st.none(), st.sampled_from(["dup", "", "x" * 3000])),
    folder=garbage_text,
    message_id=garbage_text,
    thread_id=garbage_text,
    in_reply_to=garbage_text,
    references=st.one_of(garbage_text, st.lists(garbage_text, max_size=5)),
    subject=garbage_text,
    sender=garbage_address,
    to=st.one_of(st.lists(garbage_address, max_size=5), garbage_text),
    cc=st.lists(garbage_address, max_size=3),
    bcc=st.lists(garbage_address, max_size=3),
    date=garbage_date,
    text_body=garbage_text,
    html_body=st.one_of(garbage_text, st.text(alphabet="<>/&;#ab \"=", max_size=200)),
    attachments=st.one_of(garbage_text, st.lists(st.builds(
        AttachmentInfo, filename=garbage_text, content_type=garbage_text, size=st.integers(), remote_id=garbage_text),
        max_size=3)),
    size=st.one_of(st.integers(), garbage_text),
    parse_error=garbage_text,
)


class TestGarbageFields:
    @pytest.fixture
    def hub_plugins(self, backend):
        self.provider = ScriptedMail(backend)
        return [("memory", self.provider)]

    def test_any_field_garbage_is_stored_as_best_it_can_be(self, hub, backend, acme):
        account = connect(hub, backend, acme.alice, ALICE)
        counter = iter(range(10**6))

        @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])
        @given(st.lists(garbage_message, max_size=6))
        def run(messages):
            n = next(counter)
            folder = f"fuzz{n}"
            good = RemoteMessage(remote_id=f"good-{n}", folder=folder, message_id=f"good-{n}@globex.com",
                                 subject="good", sender=Address("dan@globex.com"), to=[Address(ALICE)],
                                 date=datetime.now(timezone.utc))
            self.provider.next_page = [*messages[:3], good, *messages[3:]]
            result = sync_folder(hub, account, folder)
            with hub.db.session() as s:
                ids = set(s.scalars(sa.select(MailMessage.remote_id).where(MailMessage.folder == folder)))
                logged = s.scalar(sa.select(sa.func.count()).select_from(TimelineEntry).join(
                    MailMessage, MailMessage.id == TimelineEntry.mail_message_id).where(
                    MailMessage.remote_id == f"good-{n}", TimelineEntry.contact_id == acme.dan))
            assert f"good-{n}" in ids and logged == 1
            assert result["stored"] == len(ids) >= 1  # every distinct message got a row

        run()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(
    st.binary(max_size=2000),
    st.tuples(st.integers(0, 400), st.binary(min_size=1, max_size=50)).map(
        lambda cut: (lambda good: good[:cut[0]] + cut[1] + good[cut[0]:])(
            b"From: Dan <dan@globex.com>\r\nTo: alice@acme.com\r\nSubject: =?utf-8?q?x?=\r\n"
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n")),
))
def test_random_bytes_through_a_real_parser_never_stop_the_sync(hub, backend, acme, raw):
    if ALICE not in backend.accounts:
        backend.add_account(ALICE, "correct horse")
    with hub.db.session() as s:
        from hub.models import Account

        account = s.scalar(sa.select(Account.id).where(Account.email == ALICE))
    account = account or connect(hub, backend, acme.alice, ALICE)
    uid = backend.deliver(ALICE, "inbox", raw, received=datetime.now(timezone.utc))
    after = backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "after"))
    sync_folder(hub, account, "inbox")
    rows = stored(hub)
    assert f"inbox/{uid}" in rows and f"inbox/{after}" in rows
    with hub.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(MailParticipant).where(
            MailParticipant.message_id == rows[f"inbox/{after}"].id)) == 2
