"""Incremental mail sync of one folder: the cursor and the algorithm behind ``hub_sync_mail``.

The cursor (JSON, opaque to the core) holds the mailbox, its UIDVALIDITY, the highest UID handed
to the hub, the HIGHESTMODSEQ of the last run (CONDSTORE), the UIDs handed out as an IMAP
sequence set, how many messages sat at or below that UID (plain IMAP), and — during the initial
sync — the UIDNEXT the initial sync stops at.

Algorithm, one page per call (``limit`` messages at most):

* **every call** SELECTs (EXAMINE) the mailbox; a different UIDVALIDITY, or a ``\\Sent`` folder
  that moved, raises :class:`CursorExpired` — remote ids carry the UIDVALIDITY, so the resync the
  engine then runs never collides with the old ids.
* **initial sync** (no cursor): remember UIDNEXT, run ``UID SEARCH UID 1:<UIDNEXT-1> SINCE <since>``
  once and keep the answer in the cursor as a sequence set (a few ranges: UIDs and arrival dates
  grow together), then fetch it page by page. Mail that arrives meanwhile has UIDs beyond the
  remembered UIDNEXT and is picked up by the first incremental run.
* **incremental**: nothing to do when HIGHESTMODSEQ is unchanged (CONDSTORE) or when UIDNEXT and
  the message count are (plain IMAP) — the common case costs one round trip. New mail is
  ``UID SEARCH UID n+1:*``. Expunges come from ``UID FETCH … (CHANGEDSINCE m VANISHED)`` with
  QRESYNC; without it from a ``UID SEARCH`` diff against the UIDs handed out, run only when the
  count of messages at or below the last UID changed (or the modseq moved, with CONDSTORE).
  Flag changes never re-deliver a message.

**partitions** (``hub_mail_partitions``): a large folder's initial UIDs are cut into contiguous
ranges, each an initial-sync cursor of its own that separate jobs page through in parallel; the
folder then continues from the cursor the whole initial sync would have left.

Public API: :func:`sync_page`, :func:`partitions`, :class:`MailCursor`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

from hub.exceptions import CursorExpired
from hub.types import MailPage, MailPartitions

from hub_imap import uidset
from hub_imap.connection import ImapClient
from hub_imap.fetch import fetch_messages, remote_id
from hub_imap.folders import mailbox_for

CURSOR_VERSION = 1
#: the smallest part worth its own job when a folder's initial sync is split
MIN_PARTITION = 1000
#: a known-UID set longer than this is replaced by a range in commands (servers cap line length)
MAX_SET_IN_COMMAND = 4000


@dataclass
class MailCursor:
    """Where the sync of one folder stands; see the module docstring."""

    mailbox: str
    uidvalidity: int
    uid: int = 0
    modseq: int | None = None
    known: str = ""
    count: int | None = None
    initial_end: int | None = None
    todo: str = ""
    total: int | None = None
    since: str | None = None

    def dumps(self) -> str:
        return json.dumps({"v": CURSOR_VERSION, **asdict(self)}, separators=(",", ":"))

    @classmethod
    def loads(cls, text: str) -> "MailCursor":
        """Read a cursor; one from another version or plugin means a resync, not a crash."""
        try:
            data = json.loads(text)
            if data.pop("v") != CURSOR_VERSION:
                raise ValueError("version")
            return cls(**data)
        except (ValueError, TypeError, KeyError, AttributeError):
            raise CursorExpired("The saved mail sync position is unreadable; the folder is synced again.") from None


@dataclass
class _Selected:
    uidvalidity: int
    uidnext: int | None
    exists: int
    modseq: int | None


def _select(client: ImapClient, mailbox: str) -> _Selected:
    info = client.select_folder(mailbox, readonly=True)
    modseq = info.get(b"HIGHESTMODSEQ") if client.condstore else None
    uidnext = info.get(b"UIDNEXT")
    if uidnext is None:  # optional in SELECT answers; STATUS always has it
        uidnext = client.folder_status(mailbox, [b"UIDNEXT"]).get(b"UIDNEXT")
    return _Selected(int(info[b"UIDVALIDITY"]), uidnext, int(info.get(b"EXISTS") or 0), modseq)


def _uids_between(client: ImapClient, lo: int, hi: int | None, since: str | None = None) -> list[int]:
    """UIDs in ``lo:hi`` (``hi=None`` = to the end), ascending. ``n:*`` always matches the last
    message even below ``n`` (RFC 3501), so results are filtered."""
    if hi is not None and hi < lo:
        return []
    criteria: list = ["UID", f"{lo}:{hi if hi is not None else '*'}"]
    if since:
        criteria += ["SINCE", datetime.strptime(since, "%Y-%m-%d").date()]
    return sorted(u for u in client.search(criteria) if u >= lo and (hi is None or u <= hi))


def _since_day(since: datetime | None) -> str | None:
    if since is None:
        return None
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    # SEARCH SINCE compares whole days in the server's time zone: start a day early, never miss mail
    return (since.astimezone(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%d")


def sync_page(client: ImapClient, folder: str, cursor: str | None, limit: int, since: datetime | None,
              chosen: str | None = None) -> MailPage:
    """One page of ``hub_sync_mail`` for the hub ``folder`` over a logged-in ``client``;
    ``chosen`` is the mailbox the user picked for it, if any."""
    limit = max(1, int(limit))
    mailbox = mailbox_for(client, folder, chosen)
    box = _select(client, mailbox)
    if cursor is None:
        since_day = _since_day(since)
        end = box.uidnext or 1
        todo = _uids_between(client, 1, end - 1, since_day) if end > 1 else []
        cur = MailCursor(mailbox, box.uidvalidity, modseq=box.modseq, initial_end=end,
                         todo=uidset.compress(todo), total=len(todo), since=since_day)
    else:
        cur = MailCursor.loads(cursor)
        if cur.mailbox != mailbox:
            raise CursorExpired(f"The {folder} folder is now {mailbox!r} (was {cur.mailbox!r}); it is synced again.")
        if cur.uidvalidity != box.uidvalidity:
            raise CursorExpired(f"The server reset the mailbox {mailbox!r} (UIDVALIDITY changed); it is synced again.")
    if cur.initial_end is not None:
        return _initial_page(client, folder, cur, box, limit)
    return _incremental_page(client, folder, cur, box, limit)


def partitions(client: ImapClient, folder: str, since: datetime | None, parts: int,
               chosen: str | None = None) -> MailPartitions | None:
    """``hub_mail_partitions``: the initial sync's UIDs (one SEARCH, as :func:`sync_page` runs it)
    cut into contiguous UID ranges of at least :data:`MIN_PARTITION` messages; ``None`` when the
    folder is too small to be worth it. ``after`` is the cursor the initial sync would end with."""
    mailbox = mailbox_for(client, folder, chosen)
    box = _select(client, mailbox)
    since_day = _since_day(since)
    end = box.uidnext or 1
    todo = _uids_between(client, 1, end - 1, since_day) if end > 1 else []
    parts = min(parts, len(todo) // MIN_PARTITION)
    if parts < 2:
        return None
    size = -(-len(todo) // parts)
    cursors = [MailCursor(mailbox, box.uidvalidity, modseq=box.modseq, initial_end=end,
                          todo=uidset.compress(todo[i:i + size]), total=len(todo[i:i + size]),
                          since=since_day).dumps() for i in range(0, len(todo), size)]
    after = MailCursor(mailbox, box.uidvalidity, modseq=box.modseq, known=uidset.compress(todo), since=since_day)
    _finish_initial(client, after, box, end)
    return MailPartitions(parts=cursors, after=after.dumps(), total=len(todo))


def _finish_initial(client: ImapClient, cur: MailCursor, box: _Selected, end: int) -> None:
    """Turn ``cur`` into the incremental cursor an initial sync up to UID ``end - 1`` leaves."""
    cur.uid = max(cur.uid, end - 1)
    cur.initial_end = None
    # plain IMAP spots expunges by counting the messages at or below the last UID
    if client.condstore:
        cur.count = None
    elif box.uidnext is not None and box.uidnext <= cur.uid + 1:
        cur.count = box.exists  # nothing above the last UID: every message counts
    else:
        cur.count = box.exists - len(_uids_between(client, cur.uid + 1, None))


def _initial_page(client: ImapClient, folder: str, cur: MailCursor, box: _Selected, limit: int) -> MailPage:
    assert cur.initial_end is not None
    candidates = sorted(uidset.expand(cur.todo))
    page = candidates[:limit]
    messages = fetch_messages(client, page, mailbox=cur.mailbox, uidvalidity=cur.uidvalidity, folder=folder)
    cur.known = uidset.compress(uidset.expand(cur.known) | _uids_of(messages))
    cur.todo = uidset.compress(candidates[limit:])
    done = len(candidates) <= limit
    if done:
        _finish_initial(client, cur, box, cur.initial_end)
    else:
        cur.uid = page[-1]
    return MailPage(messages=messages, next_cursor=cur.dumps(), done=done, total_estimate=cur.total)


def _incremental_page(client: ImapClient, folder: str, cur: MailCursor, box: _Selected, limit: int) -> MailPage:
    no_new_mail = box.uidnext is not None and box.uidnext <= cur.uid + 1
    if no_new_mail and client.condstore and cur.modseq is not None and box.modseq == cur.modseq:
        return MailPage(next_cursor=cur.dumps(), done=True)
    if no_new_mail and not client.condstore and cur.count is not None and box.exists == cur.count:
        return MailPage(next_cursor=cur.dumps(), done=True)

    new_uids = [] if no_new_mail else _uids_between(client, cur.uid + 1, None)
    known = uidset.expand(cur.known)
    vanished = _vanished(client, cur, box, known, len(new_uids)) if known or cur.count is None else set()
    known -= vanished
    deleted = [remote_id(cur.mailbox, cur.uidvalidity, uid) for uid in sorted(vanished)]
    cur.modseq = box.modseq

    page = new_uids[:limit]
    messages = fetch_messages(client, page, mailbox=cur.mailbox, uidvalidity=cur.uidvalidity, folder=folder)
    fetched = _uids_of(messages)
    if page:
        cur.uid = page[-1]
        if cur.count is not None:
            cur.count += len(fetched)
    cur.known = uidset.compress(known | fetched)
    return MailPage(messages=messages, deleted=deleted, next_cursor=cur.dumps(), done=len(new_uids) <= limit)


def _vanished(client: ImapClient, cur: MailCursor, box: _Selected, known: set[int], new_count: int) -> set[int]:
    """Which UIDs handed out so far are gone; also refreshes ``cur.count`` where it is used."""
    if client.qresync and cur.modseq is not None:
        if box.modseq == cur.modseq or not known:
            return set()
        return _vanished_since(client, cur, known)
    if client.condstore and cur.modseq is not None and box.modseq == cur.modseq:
        return set()
    at_or_below = box.exists - new_count
    if not client.condstore and cur.count is not None and at_or_below == cur.count:
        return set()
    present = set(_uids_between(client, 1, cur.uid)) if cur.uid else set()
    cur.count = None if client.condstore else len(present)
    return known - present


def _vanished_since(client: ImapClient, cur: MailCursor, known: set[int]) -> set[int]:
    """QRESYNC: ``UID FETCH <known> (UID) (CHANGEDSINCE m VANISHED)`` → the expunged UIDs."""
    which = cur.known if len(cur.known) <= MAX_SET_IN_COMMAND else f"1:{cur.uid}"
    gone: set[int] = set()
    for line in client.vanished_since(which, cur.modseq):
        text = line.decode("ascii", "replace") if isinstance(line, bytes) else str(line)
        gone |= uidset.expand(text.removeprefix("(EARLIER)").strip())
    return gone & known


def _uids_of(messages) -> set[int]:
    return {int(m.remote_id.rsplit("/", 1)[1]) for m in messages}
