"""Finding the mailbox behind a hub folder: "inbox" is INBOX, "sent" the ``\\Sent`` SPECIAL-USE mailbox.

Special mailboxes are found by their RFC 6154 flag, never by name: Gmail's are localized
("[Gmail]/Gesendet"), Exchange's are "Sent Items". Only a server that announces no SPECIAL-USE
at all (and flags no mailbox) is searched by common names. imapclient's ``find_special_folder``
mixes both strategies (it falls back to names even when the server has SPECIAL-USE), so the
lookup is written here.

Public API: :func:`mailbox_for`, :data:`HUB_FOLDERS`.
"""

from __future__ import annotations

from hub.exceptions import NotFound, ValidationError

from hub_imap.connection import ImapClient

#: hub folder → SPECIAL-USE flag (``None`` = INBOX, which every server has under that name)
HUB_FOLDERS: dict[str, bytes | None] = {"inbox": None, "sent": b"\\Sent", "all": b"\\All"}

#: names tried, case-insensitively and under the personal namespace, on servers without SPECIAL-USE
FALLBACK_NAMES: dict[bytes, tuple[str, ...]] = {
    b"\\Sent": ("Sent", "Sent Items", "Sent Messages", "Sent Mail", "Sent Mails", "Gesendet",
                "Gesendete Objekte", "Envoyés", "Enviados", "Inviata", "Verzonden"),
    b"\\All": ("All Mail", "Archive"),
}


def mailbox_for(client: ImapClient, folder: str) -> str:
    """The IMAP mailbox name of the hub's ``folder`` ("inbox", "sent", "all") on this server.

    :raises ValidationError: ``folder`` is not one the hub knows.
    :raises NotFound: the server has no such mailbox.
    """
    try:
        flag = HUB_FOLDERS[folder]
    except KeyError:
        raise ValidationError(f"Unknown mail folder {folder!r}.", fix="Use 'inbox' or 'sent'.") from None
    if flag is None:
        return "INBOX"
    if folder not in client.special_folders:
        client.special_folders[folder] = _find(client, flag)
    return client.special_folders[folder]


def _find(client: ImapClient, flag: bytes) -> str:
    listing = client.list_folders()
    wanted = flag.lower()
    for flags, _delimiter, name in listing:
        if any(f.lower() == wanted for f in flags):
            return name
    announces = client.has_capability("SPECIAL-USE") or client.has_capability("XLIST")
    flags_seen = any(f.lower() in {b"\\sent", b"\\drafts", b"\\trash", b"\\junk", b"\\all", b"\\archive"}
                     for flags, _d, _n in listing for f in flags)
    if not announces and not flags_seen:
        by_name = {_leaf(name, delimiter).lower(): name for _flags, delimiter, name in listing}
        for candidate in FALLBACK_NAMES.get(flag, ()):
            if candidate.lower() in by_name:
                return by_name[candidate.lower()]
    label = flag.decode().lstrip("\\")
    raise NotFound(
        f"The mail server has no {label} folder.",
        fix=f"Create a folder called \"{label}\" in your mail program, or mark one as the {label} folder.",
    )


def _leaf(name: str, delimiter: bytes | str | None) -> str:
    """``INBOX.Sent`` → ``Sent``: servers like Courier keep every folder under INBOX."""
    if not delimiter:
        return name
    sep = delimiter.decode() if isinstance(delimiter, bytes) else delimiter
    if name.upper().startswith("INBOX" + sep):
        return name[len("INBOX") + len(sep):]
    return name
