"""FETCH responses parsed with one regular expression instead of a byte-at-a-time lexer.

Why by hand: imapclient's response lexer walks every byte of a FETCH response in Python (its
BODYSTRUCTUREs, header blocks' ``{n}`` markers, quoted strings); in ``bench/mail_sync.py`` that was a
third of an initial sync's time in the IMAP plugin. This module gives the same answer as
:func:`imapclient.response_parser.parse_fetch_response` — same keys, same value types, imapclient's
own :class:`~imapclient.response_types.BodyData` and date parsing — with the tokens cut by ``re`` in C.
Anything it does not expect (a stray control character, an unbalanced parenthesis, an ENVELOPE)
is handed to imapclient's parser, so a strange server answer behaves exactly as it did before.
``plugins/imap/tests/test_imap_fetch_response.py`` compares the two on real Dovecot and pymap answers.

Public API: :func:`parse_fetch_response`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

from imapclient.datetime_util import parse_to_datetime
from imapclient.response_parser import parse_fetch_response as library_parse
from imapclient.response_types import BodyData

# one token after optional whitespace: "(", ")", a quoted string, or a word — imapclient's word
# characters (not a control character, space, ( ) % " [), where "[" opens a section that runs to
# the next "]" whatever it holds (BODY[HEADER.FIELDS (FROM TO)])
_WORD = rb'(?:[^\x00-\x20()%"\[]|\[[^\]]*\])'
_QUOTED = rb'"(?:[^"\\]|\\.)*"'
_TOKEN = re.compile(rb'[ \t\r\n]*(?:(\()|(\))|(' + _QUOTED + rb')|(' + _WORD + rb'+))', re.S)
# a whole record line of such tokens, none a word with a quote glued on (imapclient refuses those):
# checked in one pass so that the tokens can then be cut with one findall, both in C
_LINE = re.compile(rb'(?:[ \t\r\n]*(?:[()]|' + _QUOTED + rb'|' + _WORD + rb'++(?!")))*+[ \t\r\n]*', re.S)
_ESCAPED = re.compile(rb'\\([\\"])')


class _Unexpected(Exception):
    """Something this parser does not handle the way imapclient would: let imapclient decide."""


def parse_fetch_response(records: list, normalise_times: bool = True) -> dict[int, dict[bytes, Any]]:
    """The messages of a ``UID FETCH`` answer, keyed by UID (imaplib's records as they come).

    :param records: what imaplib returns for FETCH: lines, and ``(line, literal)`` pairs.
    :param normalise_times: as imapclient's ``normalise_times`` (naive local INTERNALDATEs).
    :raises imapclient.exceptions.ProtocolError: as imapclient's parser does, for answers neither can read.
    """
    try:
        return _parse(records, normalise_times)
    except _Unexpected:
        return library_parse(records, normalise_times, True)


def _parse(records: list, normalise_times: bool) -> dict[int, dict[bytes, Any]]:
    if records == [None]:
        return defaultdict(dict)
    top: list = []
    stack: list[list] = []
    current = top
    for record in records:
        if isinstance(record, tuple):
            text, literal = record
        else:
            text, literal = record, None
        if not isinstance(text, bytes):
            raise _Unexpected
        if not _LINE.fullmatch(text):  # a byte no token starts with, a quote glued to a word
            raise _Unexpected
        tokens = _TOKEN.findall(text)
        last = len(tokens) - 1
        for i, (opened, closed, quoted, word) in enumerate(tokens):
            if opened:
                stack.append(current)
                current = []
                stack[-1].append(current)
            elif closed:
                if not stack:
                    raise _Unexpected
                finished, current = current, stack.pop()
                current[-1] = tuple(finished)
            elif quoted:
                quoted = quoted[1:-1]
                current.append(_ESCAPED.sub(rb"\1", quoted) if b"\\" in quoted else quoted)
            else:
                current.append(_word(word, literal, at_end=i == last and text.endswith(word)))
    if stack:
        raise _Unexpected
    return _messages(top, normalise_times)


def _word(word: bytes, literal: bytes | None, at_end: bool) -> Any:
    if word == b"NIL":
        return None
    if word[:1] == b"{":
        if not at_end or literal is None or word[-1:] != b"}" or not word[1:-1].isdigit() \
                or int(word[1:-1]) != len(literal):
            raise _Unexpected
        return literal
    if word.isdigit() and (word[:1] != b"0" or len(word) == 1):
        return int(word)
    return word


def _messages(top: list, normalise_times: bool) -> dict[int, dict[bytes, Any]]:
    out: dict[int, dict[bytes, Any]] = defaultdict(dict)
    if len(top) % 2:
        raise _Unexpected
    for seq, items in zip(top[::2], top[1::2]):
        if not isinstance(seq, int) or not isinstance(items, tuple) or len(items) % 2:
            raise _Unexpected
        key = seq
        values: dict[bytes, Any] = {b"SEQ": seq}
        for name, value in zip(items[::2], items[1::2]):
            if not isinstance(name, bytes):
                raise _Unexpected
            name = name.upper()
            if name == b"UID":
                if not isinstance(value, int):
                    raise _Unexpected
                key = value
            elif name == b"INTERNALDATE":
                values[name] = _internal_date(value, normalise_times)
            elif name in (b"BODY", b"BODYSTRUCTURE"):
                if not isinstance(value, tuple):
                    raise _Unexpected
                values[name] = BodyData.create(value)
            elif name == b"ENVELOPE":  # not asked for by the hub: imapclient knows its shape
                raise _Unexpected
            else:
                values[name] = value
        out[key].update(values)
    return out


# INTERNALDATE as RFC 3501 fixes it ("17-Jul-1996 02:44:25 -0700", the day maybe space-padded),
# read without parsedate_tz's general parser — it was a tenth of a FETCH's parsing
_DATE_TIME = re.compile(rb" ?(\d{1,2})-([A-Z][a-z]{2})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")
_MONTHS = {m: n for n, m in enumerate(b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}
_ZONES: dict[bytes, timezone] = {}


def _internal_date(value: Any, normalise_times: bool):
    if value is None:
        return None
    if not isinstance(value, bytes):
        raise _Unexpected
    match = _DATE_TIME.fullmatch(value)
    if match and not normalise_times and match[2] in _MONTHS:
        day, month, year, hour, minute, second, sign, zh, zm = match.groups()
        zone = _ZONES.get(sign + zh + zm)
        if zone is None:
            offset = timedelta(hours=int(zh), minutes=int(zm))
            zone = _ZONES.setdefault(sign + zh + zm, timezone(-offset if sign == b"-" else offset))
        try:
            return datetime(int(year), _MONTHS[match[2]], int(day), int(hour), int(minute), int(second),
                            tzinfo=zone)
        except ValueError:
            pass  # 31-Feb and friends: imapclient's answer
    try:
        return parse_to_datetime(value, normalise=normalise_times)
    except ValueError:
        return None
