"""Finding the mailbox behind a hub folder: "inbox" is INBOX, "sent" the ``\\Sent`` SPECIAL-USE mailbox.

Special mailboxes are found by their RFC 6154 flag first: Gmail's are localized
("[Gmail]/Gesendet"), Exchange's are "Sent Items". When no mailbox carries the flag — a server
without SPECIAL-USE, or one with it whose folders were made before it was configured (Cyrus's
``INBOX.Sent``) — common names are tried, case-insensitively, at the top level or under the
personal namespace / INBOX, whatever the separator. imapclient's ``find_special_folder`` prefers
names over a flag elsewhere, so the lookup is written here. A folder the user picked on the
mail-sync page (``MailboxConfig.sent_folder``) beats both.

Public API: :func:`mailbox_for`, :func:`selectable_mailboxes`, :data:`HUB_FOLDERS`.
"""

from __future__ import annotations

from hub.exceptions import NotFound, ValidationError

from hub_imap.connection import ImapClient

#: hub folder → SPECIAL-USE flag (``None`` = INBOX, which every server has under that name)
HUB_FOLDERS: dict[str, bytes | None] = {"inbox": None, "sent": b"\\Sent", "all": b"\\All"}

#: names tried in this order, case-insensitively, when no mailbox carries the flag
FALLBACK_NAMES: dict[bytes, tuple[str, ...]] = {
    b"\\Sent": ("Sent", "Sent Items", "Sent Messages", "Sent Mail", "Sent Mails", "Gesendet",
                "Gesendete Objekte", "Gesendete Elemente", "Skickat", "Skickade objekt", "Envoyés",
                "Éléments envoyés", "Messages envoyés", "Enviados", "Elementos enviados", "Inviata",
                "Posta inviata", "Verzonden", "Verzonden items", "Sendt", "Sendte elementer",
                "Lähetetyt", "Wysłane", "Odeslané", "Отправленные"),
    b"\\All": ("All Mail", "Archive"),
}


def mailbox_for(client: ImapClient, folder: str, chosen: str | None = None) -> str:
    """The IMAP mailbox name of the hub's ``folder`` ("inbox", "sent", "all") on this server.

    :param chosen: the mailbox the user picked for ``folder``; used as it is.
    :raises ValidationError: ``folder`` is not one the hub knows.
    :raises NotFound: the server has no such mailbox.
    """
    try:
        flag = HUB_FOLDERS[folder]
    except KeyError:
        raise ValidationError(f"Unknown mail folder {folder!r}.", fix="Use 'inbox' or 'sent'.") from None
    if flag is None:
        return "INBOX"
    if chosen:
        return chosen
    if folder not in client.special_folders:
        client.special_folders[folder] = _find(client, flag)
    return client.special_folders[folder]


def selectable_mailboxes(client) -> list[str]:
    """Every mailbox that can hold mail (not ``\\Noselect``/``\\NonExistent``), in the server's order."""
    skip = {b"\\noselect", b"\\nonexistent"}
    return [name for flags, _delimiter, name in client.list_folders()
            if not any(f.lower() in skip for f in flags)]


def _find(client: ImapClient, flag: bytes) -> str:
    listing = client.list_folders()
    wanted = flag.lower()
    for flags, _delimiter, name in listing:
        if any(f.lower() == wanted for f in flags):
            return name
    # no mailbox has the flag: a well-known name, top level before one under the namespace
    by_name: dict[str, str] = {}
    for _flags, delimiter, name in sorted(listing, key=lambda entry: _depth(entry[2], entry[1])):
        by_name.setdefault(_leaf(name, delimiter, _prefixes(client)).lower(), name)
    for candidate in FALLBACK_NAMES.get(flag, ()):
        if candidate.lower() in by_name:
            return by_name[candidate.lower()]
    label = flag.decode().lstrip("\\")
    raise NotFound(
        f"The mail server has no {label} folder.",
        fix=f"Create a folder called \"{label}\" in your mail program, or mark one as the {label} folder.",
    )


def _prefixes(client: ImapClient) -> tuple[str, ...]:
    """The personal namespace prefixes (``INBOX.`` on Cyrus and Courier), from NAMESPACE when offered."""
    if client.personal_prefixes is None:
        found: tuple[str, ...] = ()
        if client.has_capability("NAMESPACE"):
            try:
                found = tuple(prefix for prefix, _sep in (client.namespace().personal or ()) if prefix)
            except Exception:  # noqa: BLE001 - a server that announces NAMESPACE but fails it: names as they are
                found = ()
        client.personal_prefixes = found
    return client.personal_prefixes


def _leaf(name: str, delimiter: bytes | str | None, prefixes: tuple[str, ...] = ()) -> str:
    """``INBOX.Sent`` → ``Sent``: servers like Cyrus and Courier keep every folder under INBOX."""
    for prefix in prefixes:
        if name.lower().startswith(prefix.lower()) and len(name) > len(prefix):
            return name[len(prefix):]
    if not delimiter:
        return name
    sep = delimiter.decode() if isinstance(delimiter, bytes) else delimiter
    if name.upper().startswith("INBOX" + sep):
        return name[len("INBOX") + len(sep):]
    return name


def _depth(name: str, delimiter: bytes | str | None) -> int:
    sep = (delimiter.decode() if isinstance(delimiter, bytes) else delimiter) or ""
    return name.count(sep) if sep else 0
