"""IMAP sequence sets (``1:40,42,50:90``): compact storage of the UIDs a cursor knows.

The sync cursor must remember which UIDs it handed to the hub, to report which of them vanished.
UIDs come in long runs, so a mailbox of 10,000 messages with a few deletions stays a short string.
The same text is what IMAP commands take, so it goes straight into ``UID FETCH``.

Public API: :func:`compress`, :func:`expand`.
"""

from __future__ import annotations

from typing import Iterable


def compress(uids: Iterable[int]) -> str:
    """``[1, 2, 3, 7, 9, 10]`` → ``"1:3,7,9:10"`` (sorted, duplicates dropped); ``""`` for none."""
    ordered = sorted(set(uids))
    if not ordered:
        return ""
    runs = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid != prev + 1:
            runs.append((start, prev))
            start = uid
        prev = uid
    runs.append((start, prev))
    return ",".join(str(a) if a == b else f"{a}:{b}" for a, b in runs)


def expand(text: str | bytes) -> set[int]:
    """``"1:3,7"`` → ``{1, 2, 3, 7}``. Accepts ``b:a`` ranges in either order, ignores junk pieces.

    ``*`` has no meaning without a mailbox and is skipped.
    """
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    out: set[int] = set()
    for piece in text.replace(" ", "").split(","):
        if not piece or "*" in piece:
            continue
        lo, _, hi = piece.partition(":")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            continue
        out.update(range(min(a, b), max(a, b) + 1))
    return out
