"""The hand-written FETCH response parser answers exactly as imapclient's does.

Compared on real answers from Dovecot and pymap (messages chosen for awkward BODYSTRUCTUREs: quoted
file names with quotes and backslashes, 8-bit and encoded names, nested messages, broken MIME) and on
generated token soup, where both must give the same result or both refuse.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imapclient.response_parser import parse_fetch_response as library_parse

from hub_imap import fetch_response
from hub_imap.fetch_response import parse_fetch_response

SUMMARY = "(UID FLAGS RFC822.SIZE INTERNALDATE BODYSTRUCTURE BODY.PEEK[HEADER]<0.262144>)"
#: what the sync asks for (hub_imap.fetch)
FIELDS = "(UID RFC822.SIZE INTERNALDATE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID FROM SUBJECT)]<0.262144>)"
TEXTS = "(UID BODY.PEEK[1]<0.1048576> BODY.PEEK[2]<0.1048576> BODY.PEEK[1.1]<0.1048576>)"


def awkward_messages() -> list[bytes]:
    plain = EmailMessage()
    plain["From"], plain["To"], plain["Subject"] = "A <a@example.org>", "b@example.org", 'say "hi" \\ there'
    plain.set_content("hello\n")

    mixed = EmailMessage()
    mixed["From"], mixed["Subject"] = "a@example.org", "Préparation (devis) — 8-bit"
    mixed.set_content("plain text")
    mixed.add_alternative("<p>html</p>", subtype="html")
    mixed.add_attachment(b"\x00\x01" * 500, maintype="application", subtype="octet-stream",
                         filename='we"ird\\name (1).bin')
    mixed.add_attachment("Ünïcödé name", subtype="plain", filename="résumé.txt")

    outer = EmailMessage()
    outer["From"], outer["Subject"] = "a@example.org", "forwarded"
    outer.set_content("see below")
    outer.add_attachment(mixed)  # message/rfc822 inside: a BODYSTRUCTURE within a BODYSTRUCTURE

    broken = (b"From: a@example.org\r\nSubject: broken\r\nMIME-Version: 1.0\r\n"
              b'Content-Type: multipart/mixed; boundary="X"\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\n'
              b"unterminated part\r\n")
    bare = b"Subject: nothing else\r\n\r\n"
    return [m.as_bytes().replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n") for m in (plain, mixed, outer)] + \
        [broken, bare]


def assert_same(records: list, normalise_times: bool = False) -> None:
    try:
        expected = library_parse(records, normalise_times, True)
    except Exception as exc:  # noqa: BLE001 — whatever imapclient raises, ours must raise the same
        with pytest.raises(type(exc)):
            parse_fetch_response(records, normalise_times)
        return
    assert parse_fetch_response(records, normalise_times) == expected


@pytest.mark.parametrize("server", ["dovecot", "pymap"])
def test_same_answer_as_imapclient_on_real_servers(server, request):
    peer = request.getfixturevalue(server)
    user = peer.add_user()
    messages = awkward_messages()
    peer.append_many(user, "INBOX", messages)
    with peer.client(user) as imap:
        imap.select_folder("INBOX")
        raw = imap._imap  # imaplib: the records exactly as both parsers receive them
        for items in (SUMMARY, FIELDS, TEXTS):
            typ, records = raw.uid("FETCH", "1:*", items)
            assert typ == "OK"
            parsed = fetch_response._parse(records, False)  # the fast path itself, no falling back
            assert len(parsed) == len(messages)
            assert parsed == library_parse(records, False, True)


def test_hand_made_answers():
    literal = b"Subject: x\r\n\r\n"
    for records in (
        [b'1 (UID 7 FLAGS (\\Seen $Label) RFC822.SIZE 120 INTERNALDATE "01-May-2024 10:00:00 +0200")'],
        [(b"2 (UID 8 BODY[HEADER]<0> {%d}" % len(literal), literal), b")"],
        [(b"3 (UID 9 BODY[1] {3}", b"abc"), (b" BODY[2] {2}", b"de"), b")"],
        [b'4 (UID 10 BODYSTRUCTURE ("text" "plain" ("charset" "utf-8" "name" "a \\"q\\" \\\\ b") NIL NIL "7bit" 5 1))'],
        [b'5 (UID 11 X-GM-THRID 1278455344230334865 INTERNALDATE "garbage")'],
        [b'6 (UID 012 FLAGS ())'],  # a leading zero: imapclient keeps bytes and then reads it as an int
        [b'7 (UID 13 BODY[HEADER.FIELDS (FROM TO)] "")'],
        [b"8 (UID 14 FLAGS (%))"],
        [b'9 (UID 15 FLAGS ("unterminated)'],
        [b"10 (UID 16 FLAGS (a)"],
        [b"11 (UID 17))"],
        [(b"12 (UID 18 BODY[] {5}", b"abc"), b")"],  # literal shorter than announced
        [b'13 (UID 19 ENVELOPE ("date" "subj" NIL NIL NIL NIL NIL NIL NIL "<id@x>"))'],
        [b"14 (UID 20 FLAGS (\x01))"],
        [b'15 (UID 21 FLAGS (word"glued"))'],
        [b"16 (UID 22 FLAGS (\\Seen)) 16 (MODSEQ (5))"],  # two answers for one message are merged
        [None],
        [],
    ):
        assert_same(records)
    # the ordinary answers take the fast path (it does not just hand everything to imapclient)
    fast = fetch_response._parse([(b"2 (UID 8 FLAGS (\\Seen) BODY[HEADER]<0> {%d}" % len(literal), literal), b")"], True)
    assert fast == {8: {b"SEQ": 2, b"FLAGS": (b"\\Seen",), b"BODY[HEADER]<0>": literal}}


FRAGMENTS = [b"(", b")", b" ", b"NIL", b"nil", b"0", b"01", b"42", b'"q"', b'"a\\"b"', b'"\\\\"', b'""', b"UID",
             b"FLAGS", b"\\Seen", b"BODY[1]<0>", b"BODY[HEADER.FIELDS (A B)]", b"[", b"]", b"%", b"\t", b"\xc3\xa9",
             b"BODYSTRUCTURE", b"INTERNALDATE", b'"01-May-2024 10:00:00 +0000"', b"{", b"}"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.lists(st.sampled_from(FRAGMENTS), max_size=14), min_size=1, max_size=3),
       literal=st.one_of(st.none(), st.binary(max_size=6)), prefix=st.sampled_from([b"1 (UID 5 ", b"2 ("]))
def test_same_answer_on_token_soup(lines, literal, prefix):
    records: list = [prefix + b"".join(lines[0])] + [b"".join(line) for line in lines[1:]]
    if literal is not None:
        records[-1] = (records[-1] + b" {%d}" % len(literal), literal)
        records.append(b")")
    assert_same(records)
