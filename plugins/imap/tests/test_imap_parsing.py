"""Broken mail never crashes the sync: a hand-written corpus of malformed messages, parsed and synced."""

from __future__ import annotations

import email.utils
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.testing.conformance import sync_mail_all

import hub_imap.hooks
from hub_imap import uidset
from hub_imap.connection import sasl_xoauth2, xoauth2_string
from hub_imap.parsing import (
    _collapse,
    _params,
    decode_text,
    header_fields,
    header_fields_by_stdlib,
    parse_headers,
    parse_rfc822,
    plain_address_pairs,
    read_structure,
)

CRLF = b"\r\n"


def msg(*lines: bytes | str) -> bytes:
    return CRLF.join(line.encode() if isinstance(line, str) else line for line in lines)


CORPUS: dict[str, bytes] = {
    "no headers at all": msg("", "just a body, nothing else"),
    "garbage date, no message-id": msg("From: a@example.org", "Date: yesterday-ish at noon", "Subject: when?",
                                       "", "body"),
    "raw 8-bit latin-1 subject": msg("From: a@example.org", b"Subject: Caf\xe9 cr\xe8me", "Message-ID: <latin@x>",
                                     "", "body"),
    "broken encoded word": msg("From: a@example.org", "Subject: =?utf-8?B?not*base64!!?= tail",
                               "Message-ID: <bad-word@x>", "", "body"),
    "unknown charset": msg("From: a@example.org", "Subject: klingon", "Message-ID: <klingon@x>",
                           "Content-Type: text/plain; charset=x-klingon", "", b"Qapla\xe2\x80\x99!"),
    "sloppy base64 text": msg("From: a@example.org", "Subject: b64", "Message-ID: <b64@x>",
                              "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", "",
                              "SGVsbG8g!!d29y", "bGQ"),
    "multipart without closing boundary": msg(
        "From: a@example.org", "Subject: unterminated", "Message-ID: <unterminated@x>", "MIME-Version: 1.0",
        'Content-Type: multipart/alternative; boundary="XX"', "", "--XX", "Content-Type: text/plain", "",
        "plain part", "--XX", "Content-Type: text/html", "", "<p>html part"),
    "multipart without boundary parameter": msg(
        "From: a@example.org", "Subject: no boundary", "Message-ID: <noboundary@x>", "MIME-Version: 1.0",
        "Content-Type: multipart/mixed", "", "what is a part anyway"),
    "nonsense content type": msg("From: a@example.org", "Subject: weird type", "Message-ID: <weird@x>",
                                 "Content-Type: text/", "", "body"),
    "hostile address lists": msg("From: <<<@@@>>>, ;;; \"unterminated", "To: ,,,, @, <>",
                                 "Cc: =?utf-8?q?Jos=C3=A9?= <jose@example.org>", "Subject: addresses",
                                 "Message-ID: <addr@x>", "", "body"),
    "huge header": msg("From: a@example.org", "Subject: big header", "Message-ID: <huge@x>",
                       "X-Junk: " + "j" * 300_000, "", "body after a huge header"),
    "rfc2231 filename in an unknown charset": msg(
        "From: a@example.org", "Subject: odd attachment", "Message-ID: <rfc2231@x>", "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="B"', "", "--B", "Content-Type: text/plain", "", "see file",
        "--B", "Content-Type: application/octet-stream",
        "Content-Disposition: attachment; filename*=x-unknown''%FF%FE.txt", "Content-Transfer-Encoding: base64",
        "", "AAEC", "--B--"),
    "broken forwarded message": msg(
        "From: a@example.org", "Subject: fwd", "Message-ID: <fwd@x>", "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="F"', "", "--F", "Content-Type: text/plain", "", "see below",
        "--F", "Content-Type: message/rfc822", "", "Subject: inner", "Content-Type: multipart/mixed", "",
        "no parts here", "--F--"),
    "bare CR line ends": b"From: a@example.org\rSubject: cr only\rMessage-ID: <cr@x>\r\rbody\r",
}

#: not storable over IMAP (servers refuse NUL in a plain APPEND), parsed only
PARSE_ONLY = {"NUL bytes": b"From: a@example.org\r\nSubject: nul\x00led\r\n\r\nbody \x00 with nul\r\n"}


@pytest.mark.parametrize("name", sorted({**CORPUS, **PARSE_ONLY}))
def test_whole_message_parser_never_raises(name):
    raw = {**CORPUS, **PARSE_ONLY}[name]
    message = parse_rfc822(raw, "INBOX/1/1", "inbox")
    assert message.remote_id == "INBOX/1/1" and message.size == len(raw)


def test_corpus_details():
    latin = parse_rfc822(CORPUS["raw 8-bit latin-1 subject"], "x", "inbox")
    assert latin.subject == "Café crème"
    klingon = parse_rfc822(CORPUS["unknown charset"], "x", "inbox")
    assert "unknown charset 'x-klingon'" in klingon.parse_error and klingon.text_body.startswith("Qapla")
    when = parse_rfc822(CORPUS["garbage date, no message-id"], "x", "inbox",
                        arrived=datetime(2024, 5, 1, tzinfo=timezone.utc))
    assert when.message_id is None and when.date == datetime(2024, 5, 1, tzinfo=timezone.utc)
    assert "Date" in when.parse_error
    people = parse_rfc822(CORPUS["hostile address lists"], "x", "inbox")
    assert [(a.name, a.email) for a in people.cc] == [("José", "jose@example.org")]


def test_sync_of_the_broken_corpus(peer, imap_account, mail_user):
    """Stored on a real server and synced: every message comes back, each with what could be read."""
    peer.append_many(mail_user, "INBOX", list(CORPUS.values()))
    messages, _, _ = sync_mail_all(hub_imap.hooks, imap_account, "inbox", None, 5,
                                   datetime.now(timezone.utc) - timedelta(days=1))
    assert len(messages) == len(CORPUS)
    by_id = {m.message_id: m for m in messages}
    # the raw Latin-1 header: Cyrus (munge8bit) hands every 8-bit byte out as "X", the others as sent
    assert by_id["<latin@x>"].subject == ("CafX crXme" if peer.munges_8bit else "Café crème")
    assert "unknown charset" in (by_id["<klingon@x>"].parse_error or "")
    assert by_id["<b64@x>"].text_body.startswith("Hello ")
    assert by_id["<huge@x>"].subject == "big header"
    assert "plain part" in by_id["<unterminated@x>"].text_body
    assert [a.content_type for a in by_id["<rfc2231@x>"].attachments] == ["application/octet-stream"]
    assert by_id["<fwd@x>"].text_body.strip() == "see below"
    assert [a.content_type for a in by_id["<fwd@x>"].attachments] == ["message/rfc822"]
    [undated] = [m for m in messages if m.subject == "when?"]
    assert undated.message_id is None
    assert abs(undated.date - datetime.now(timezone.utc)) < timedelta(hours=1), "unreadable Date: the arrival time"


# --- the pieces, on fixed inputs ----------------------------------------------------------------------


def test_structure_of_alternative_with_attachment():
    structure = read_structure((
        [
            ([(b"text", b"plain", (b"charset", b"iso-8859-1"), None, None, b"quoted-printable", 120, 4, None, None,
               None, None),
              (b"text", b"html", (b"charset", b"utf-8"), None, None, b"base64", 400, 6, None, None, None, None)],
             b"alternative", (b"boundary", b"a"), None, None, None),
            (b"application", b"pdf", (b"name", b"=?utf-8?q?R=C3=A9sum=C3=A9.pdf?="), None, None, b"base64", 78000,
             None, (b"attachment", (b"filename*", b"utf-8''R%C3%A9sum%C3%A9.pdf")), None, None),
        ],
        b"mixed", (b"boundary", b"m"), None, None, None,
    ))
    assert (structure.plain.section, structure.plain.encoding, structure.plain.charset) == \
        ("1.1", "quoted-printable", "iso-8859-1")
    assert (structure.html.section, structure.html.encoding) == ("1.2", "base64")
    [pdf] = structure.attachments
    assert (pdf.filename, pdf.content_type, pdf.remote_id) == ("Résumé.pdf", "application/pdf", "2")
    assert 55000 < pdf.size < 60000, "the decoded size of 78,000 base64 octets"


def test_structure_with_a_raw_disposition_string():
    # pymap sends the header value instead of a parenthesized list
    structure = read_structure(([
        (b"text", b"plain", (b"charset", b"utf-8"), None, None, b"7bit", 10, 1, None, None, None, None),
        (b"image", b"png", None, None, None, b"base64", 100, None, b'attachment; filename="chart.png"', None, None),
    ], b"mixed", None, None, None, None))
    assert [a.filename for a in structure.attachments] == ["chart.png"]


def test_single_part_and_garbage_structures():
    single = read_structure((b"text", b"plain", None, None, None, b"7bit", 5, 1, None, None, None, None))
    assert single.plain.section == "1" and single.attachments == []
    missing = read_structure(None)
    assert (missing.plain, missing.html, missing.attachments) == (None, None, [])
    assert missing.error.startswith("unreadable BODYSTRUCTURE")
    assert read_structure((42,)).error


def test_decode_text():
    assert decode_text(b"Gr=C3=BC=C3=9Fe=\r\n!", "quoted-printable", "utf-8") == ("Grüße!", None)
    assert decode_text(b"SGVsbG8=", "base64", None) == ("Hello", None)
    assert decode_text(b"SGVsbG8gd29y", "base64", "utf-8")[0] == "Hello wor", "cut mid-quantum: decode what is there"
    assert decode_text(b"caf\xe9", "8bit", None) == ("café", None)
    assert decode_text(b"line\r\nend", "7bit", "us-ascii") == ("line\nend", None)


def test_parse_headers_threading_fields():
    headers = parse_headers(b"Message-ID: <a@x>\r\nIn-Reply-To: junk <b@x> more\r\n"
                            b"References: <c@x>\r\n <b@x>\r\nDate: Mon, 1 Jan 2024 10:00:00 -0000\r\n\r\n")
    assert (headers.message_id, headers.in_reply_to, headers.references) == ("<a@x>", "<b@x>", ["<c@x>", "<b@x>"])
    assert headers.date == datetime(2024, 1, 1, 10, tzinfo=timezone.utc)


def test_uid_sets():
    assert uidset.compress([5, 1, 2, 3, 9, 10, 3]) == "1:3,5,9:10"
    assert uidset.compress([]) == ""
    assert uidset.expand("1:3,5,10:9") == {1, 2, 3, 5, 9, 10}
    assert uidset.expand(b"4,junk,7:*") == {4}
    assert uidset.expand(uidset.compress(range(1, 10_001))) == set(range(1, 10_001))


def test_xoauth2_sasl_string():
    # the example from Google's XOAUTH2 protocol documentation
    assert xoauth2_string("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg") == (
        "user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01")
    assert sasl_xoauth2("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg") == (
        "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1se"
        "mRHRXVZMjl0Q2cBAQ==")


NAME_PIECES = ["John", "O'Neil-Jones", "a_b", "x+y", " ", " ", " ", "  ", ".", '"', ",", "(c)", "\\", ":", ";",
               "=?utf-8?q?J=C3=A9?=", "é", "\t"]
SPECS = st.one_of(
    st.builds(lambda local, domain: f"{local}@{domain}", st.sampled_from(["a", "ann.lee", "x+tag", "o'neil", "a_b-c"]),
              st.sampled_from(["x.org", "mail.example.co.uk", "y-z.io", "localhost"])),
    st.lists(st.sampled_from(["a", "b.c", "@", "x.org", "..", "-", "_", "<", ">", " ", '"']), min_size=1,
             max_size=5).map("".join))


NAMES = st.one_of(
    st.builds(lambda words, gap: gap.join(words), st.lists(st.sampled_from(["John", "O'Neil-Jones", "a_b", "x+y"]),
                                                            min_size=1, max_size=3),
              st.sampled_from([" ", " ", "  ", "\t", ".", ""])),
    st.lists(st.sampled_from(NAME_PIECES), max_size=4).map("".join))


@settings(max_examples=500, deadline=None)
@given(items=st.lists(st.tuples(NAMES, SPECS,
                                st.sampled_from(["<{}>", " <{}>", "{}"])), min_size=1, max_size=3),
       separator=st.sampled_from([",", ", ", " , ", ",,"]), split=st.booleans())
def test_plain_address_lists_read_as_getaddresses_reads_them(items, separator, split):
    parts = [(name + form.format(spec)) if form != "{}" else spec for name, spec, form in items]
    values = parts if split else [separator.join(parts)]
    fast = plain_address_pairs(values)
    if fast is not None:
        assert fast == email.utils.getaddresses(values)


def test_plain_address_lists_take_the_fast_path():
    assert plain_address_pairs(["Ann Lee <ann.lee@x.org>, bob@y.io"]) == [("Ann Lee", "ann.lee@x.org"), ("", "bob@y.io")]
    assert plain_address_pairs(['"Lee, Ann" <ann@x.org>']) is None  # quoted: getaddresses decides


HEADER_LINES = st.lists(st.one_of(
    st.builds(lambda name, value: f"{name}:{value}", st.sampled_from(["Subject", "From", "X-A_b", "to", "Date", ""]),
              st.text(st.sampled_from("ab <>@é=?,\t"), max_size=12)),
    st.text(st.sampled_from(" \tcontinued"), min_size=1, max_size=6),  # a fold, or junk first
    st.sampled_from(["From a@b Mon", "no colon here", "Bad Name: x", "\x85x: y", ""]),
), max_size=6)


@settings(max_examples=500, deadline=None)
@given(lines=HEADER_LINES, ending=st.sampled_from(["\r\n", "\n", "\r"]), blank=st.booleans())
def test_header_blocks_read_as_the_stdlib_reads_them(lines, ending, blank):
    raw = (ending.join(lines) + (ending * 2 if blank else "")).encode("utf-8", "surrogateescape")
    assert header_fields(raw) == header_fields_by_stdlib(raw)


def test_well_formed_header_blocks_take_the_fast_path():
    raw = (b"Subject: caf\xc3\xa9\r\n  folded\r\nTo: a@x.org,\r\n\tb@y.org\r\nReferences: <a@x>\r\n"
           b"References: <b@x>\r\n\r\n")
    fields, problems = header_fields(raw)
    assert fields == {"subject": ["caf\udcc3\udca9 folded"], "to": ["a@x.org, b@y.org"],
                      "references": ["<a@x>", "<b@x>"]} and problems == []
    # anything else goes to the stdlib, which names what is wrong
    assert header_fields(b"Subject: x\r\nno colon\r\n\r\n") == (
        {"subject": ["x"]}, ["malformed headers: MissingHeaderBodySeparatorDefect"])


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.text(st.sampled_from('ab "\\<>%\'=é'), max_size=8), min_size=1, max_size=3))
def test_plain_parameters_read_as_decode_params_reads_them(values):
    raw = tuple(x for i, v in enumerate(values) for x in (f"p{i}".encode(), v.encode()))
    pairs = [("", "")] + [(f"p{i}", f'"{v}"') for i, v in enumerate(values)]
    assert _params(raw) == {k: _collapse(v) for k, v in email.utils.decode_params(pairs)[1:]}
