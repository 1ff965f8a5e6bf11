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
from typing import Any

from imapclient.datetime_util import parse_to_datetime
from imapclient.response_parser import parse_fetch_response as library_parse
from imapclient.response_types import BodyData

# one token after optional whitespace: "(", ")", a quoted string, or a word — imapclient's word
# characters (not a control character, space, ( ) % " [), where "[" opens a section that runs to
# the next "]" whatever it holds (BODY[HEADER.FIELDS (FROM TO)])
_TOKEN = re.compile(rb'[ \t\r\n]*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|((?:[^\x00-\x20()%"\[]|\[[^\]]*\])+))', re.S)
_SPACE = re.compile(rb"[ \t\r\n]*")
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
        position, end = 0, len(text)
        while True:
            match = _TOKEN.match(text, position)
            if match is None:
                if _SPACE.match(text, position).end() != end:  # a byte no token starts with
                    raise _Unexpected
                break
            position = match.end()
            opened, closed, quoted, word = match.groups()
            if opened:
                stack.append(current)
                current = []
                stack[-1].append(current)
            elif closed:
                if not stack:
                    raise _Unexpected
                finished, current = current, stack.pop()
                current[-1] = tuple(finished)
            elif quoted is not None:
                current.append(_ESCAPED.sub(rb"\1", quoted) if b"\\" in quoted else quoted)
            else:
                if text[position:position + 1] == b'"':  # imapclient refuses a quote glued to a word
                    raise _Unexpected
                current.append(_word(word, literal, at_end=position == end))
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


def _internal_date(value: Any, normalise_times: bool):
    if value is None:
        return None
    if not isinstance(value, bytes):
        raise _Unexpected
    try:
        return parse_to_datetime(value, normalise=normalise_times)
    except ValueError:
        return None
