"""The mail hooks: syncing a folder (whole or in parts), listing folders, sending."""

from __future__ import annotations

from datetime import datetime

from hub.hookspecs.markers import hookspec
from hub.types import AccountHandle, Cursor, MailPage, MailPartitions, OutgoingMessage, SentMessage

# -------------------------------------------------------------------------------------------------
# Mail
# -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def hub_sync_mail(
    account: AccountHandle, folder: str, cursor: Cursor | None, limit: int, since: datetime
) -> MailPage | None:
    """Fetch one page (at most ``limit`` messages) of mail in ``folder`` (``"inbox"`` or ``"sent"``).

    **Caller:** the mail sync job of each folder, on the account's own provider only when it
    declares ``MAIL`` — after connecting, on every poll and when a notification or IMAP IDLE asks —
    until a page has ``done=True``. With ``cursor=None`` the initial sync starts at ``since``; with a
    cursor return only mail that arrived, and ids that vanished, since then. Messages carry headers,
    text and HTML bodies and attachment metadata, never attachment bytes. A message that cannot be
    parsed fully comes back with ``parse_error`` set and whatever could be read — one bad message
    never fails the page.

    **Retries:** each page and its cursor are stored in one transaction, idempotently on (account,
    folder, ``remote_id``), so a job that died resumes from the last stored cursor and may ask for
    the same page again. When the daily mail cap cuts a page short, the hub keeps the old cursor and
    asks for the same page again the next day. After ``CursorExpired`` the hub starts over without a
    cursor once; the full resync adds only what is missing.

    **Threads:** an RQ worker process; on PostgreSQL the hub asks for the next page in a helper
    thread while it stores the current one, so two calls for the same account may run at once.

    **Limits:** never more than ``limit`` messages per page (at most 250, less when the user's
    daily cap is nearly used). The cursor is stored as text and cut at 1,000,000 characters — keep
    it far shorter. What the hub stores is cut to size: bodies at 1,000,000 characters, subjects at
    10,000, ``remote_id`` at 1,024, Message-IDs at 998; every address is matched, but only the first
    500 recipients are stored as participants (with the full count and a note on the message).

    What each field of :class:`~hub.types.MailPage` makes the hub do:

    * ``messages`` — stored per folder by ``remote_id``; one logical message per Message-ID across
      the user's accounts (so the copy of a mail sent from the CRM is not logged twice); threads by
      ``thread_id`` or References; logged on the timeline of the CRM contacts it matches;
      ``parse_error`` is kept with the message;
    * ``deleted`` — remote ids removed from the folder and from timelines;
    * ``next_cursor`` — stored with the page; must be set on every page;
    * ``done`` — ends the run; the end of an initial sync also removes stored mail of the window it
      did not see again (deleted meanwhile, or re-keyed by a new IMAP UIDVALIDITY);
    * ``total_estimate`` — the progress shown during the initial sync ("3,200 of 10,000").

    :param account: the account.
    :param folder: ``"inbox"`` or ``"sent"``.
    :param cursor: ``None`` for the initial sync, else a ``next_cursor`` this provider returned.
    :param limit: the most messages this page may hold.
    :param since: where the initial sync starts (``HUB_MAIL_INITIAL_DAYS`` before it began; the same
        on every resumed call).
    :return: one page of mail.
    :raises CursorExpired: e.g. IMAP UIDVALIDITY changed, Gmail history too old: a full resync.
    :raises AuthExpired, RateLimited, ProviderUnavailable: as for every hook.
    """


@hookspec(firstresult=True)
def hub_mail_partitions(account: AccountHandle, folder: str, since: datetime, parts: int) -> MailPartitions | None:
    """Cut the initial sync of a large ``folder`` (from ``since``) into at most ``parts`` disjoint parts.

    **Caller:** the mail sync job of a folder, on the account's own provider only, once before an
    initial sync that no daily mail cap limits. ``None`` — the folder is small, or the provider cannot
    page by partition — means one job pages through the folder with ``hub_sync_mail`` as usual.

    **Retries:** asked again only when the folder's initial sync starts over (a full resync, an
    expired cursor); a lost part job is enqueued again and resumes from its last stored cursor.

    **Threads:** an RQ worker process; the parts then run as separate jobs, in parallel on several
    workers, each calling ``hub_sync_mail`` with its own cursor.

    **Limits:** at most ``parts`` parts (4); each cursor is stored as text and cut at 1,000,000
    characters.

    What each field of :class:`~hub.types.MailPartitions` makes the hub do:

    * ``parts`` — one job per cursor, paged through ``hub_sync_mail`` until ``done=True``; each must
      deliver only its own messages, and together exactly the initial sync;
    * ``after`` — becomes the folder's cursor once every part is stored; the next sync continues from
      it incrementally (mail that arrived while the parts ran);
    * ``total`` — the progress shown during the initial sync ("3,200 of 10,000").

    :param account: the account.
    :param folder: ``"inbox"`` or ``"sent"``.
    :param since: where the initial sync starts, as for ``hub_sync_mail``.
    :param parts: the most parts the hub will run.
    :return: the parts, or ``None`` for one ordinary initial sync.
    :raises CursorExpired, AuthExpired, RateLimited, ProviderUnavailable: as for ``hub_sync_mail``.
    """


@hookspec(firstresult=True)
def hub_mail_folders(account: AccountHandle) -> list[str] | None:
    """The names of the account's mail folders that can hold mail.

    **Caller:** the Mail sync page, on the account's own provider only, when the user picks which
    folder the hub syncs as ``"sent"`` — for servers that do not mark their Sent folder. The choice is
    stored as the account's ``settings["sent_folder"]``, which the provider then uses for ``"sent"``.
    ``None``: the provider finds its Sent folder itself (Gmail, Microsoft 365), and the page says so.

    **Retries:** none; an error is shown to the user.

    **Threads:** a web request thread of any web process.

    **Limits:** the page lists every name returned; keep to mailboxes that can hold mail.

    :param account: the account.
    :return: folder names as the provider spells them, or ``None``.
    :raises AuthExpired, ProviderUnavailable: as for every hook.
    """


@hookspec(firstresult=True)
def hub_send_mail(account: AccountHandle, message: OutgoingMessage) -> SentMessage | None:
    """Send ``message`` through the user's own mailbox (Gmail API, Graph ``sendMail``, SMTP).

    **Caller:** :func:`hub.sending.send_mail` when the CRM sends mail from a user's account, on the
    account's own provider only when it declares ``SEND``. The hub has already given the message a
    Message-ID. The sent copy belongs in the mailbox's sent folder; replies keep their thread
    (``thread_id``, ``In-Reply-To``, ``References``).

    **Retries:** never retried by the hub, so a message is never sent twice: an error goes back to
    the sender.

    **Threads:** a web request thread of any web process.

    **Limits:** the sizes the provider allows; the hub logs the message with the same limits as
    synced mail.

    What each field of :class:`~hub.types.SentMessage` makes the hub do: ``remote_id`` and
    ``message_id`` key the copy the hub logs at once in the sent folder, so the sent folder's next
    sync recognises it instead of logging it again (the hub's own Message-ID is used when
    ``message_id`` is empty); ``thread_id`` files it in its thread.

    :param account: the account to send from.
    :param message: the message, with ``message_id`` set.
    :return: the provider's ids of the sent message.
    :raises AuthExpired: the account goes to Error, the sender sees it.
    :raises RateLimited, ProviderUnavailable, ConnectFailed: noted in the account's error log and
        shown to the sender.
    """
