"""The push hooks: watch channels and their webhooks, and listeners that hold a connection (IDLE)."""

from __future__ import annotations

from typing import Callable

from hub.hookspecs.markers import hookspec
from hub.types import AccountHandle, PushChannel, PushListener, WebhookRequest, WebhookResult

# -------------------------------------------------------------------------------------------------
# Push notifications
# -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def hub_watch(
    account: AccountHandle, kind: str, key: str, address: str, renew: PushChannel | None
) -> PushChannel | None:
    """Create (or renew) a push channel for a calendar (``kind="calendar"``) or mail folder (``"mail"``).

    **Caller:** the channel renewal job, on the account's own provider only when it declares
    ``PUSH`` — after connecting, hourly for channels within 12 hours of ``expires_at`` (with
    ``renew`` set), and at once when a notification says a channel is gone. Polling stays on as the
    fallback, so a channel that cannot be made only costs latency.

    **Retries:** the job may run again after a crash, so a second create for the same ``key`` must
    not leave two live channels behind forever (the hub stops the one it replaces through
    :func:`hub_unwatch`, and unknown channels expire at the provider).

    **Threads:** an RQ worker process.

    **Limits:** ``channel_id`` at most 255 characters, ``resource_id`` at most 1,024.

    What each field of :class:`~hub.types.PushChannel` makes the hub do: it is stored (``token``
    encrypted) and handed back to :func:`hub_handle_webhook` and :func:`hub_unwatch`;
    ``expires_at`` schedules the renewal; a renewed channel with a new ``channel_id`` makes the hub
    stop the old one; ``token`` is the secret the provider echoes on every notification;
    ``calendar_id`` / ``folder`` say what it watches.

    :param account: the account.
    :param kind: ``"calendar"`` or ``"mail"``.
    :param key: the calendar's remote id, or the mail folder.
    :param address: the hub's webhook URL for this account (``/webhooks/<provider>/<account id>``).
    :param renew: the channel to renew, or ``None`` for a new one.
    :return: the channel; ``None`` when the provider has no push for ``kind`` (polling is then the
        only path).
    :raises AuthExpired, RateLimited, ProviderUnavailable: written to the account's error log; the
        next renewal run tries again.
    """


@hookspec(firstresult=True)
def hub_unwatch(account: AccountHandle, channel: PushChannel) -> bool | None:
    """Stop a push channel (Google ``channels.stop``, Graph subscription ``DELETE``).

    **Caller:** the disconnect flow, for each of the account's channels, and the renewal job when a
    channel was replaced — on the account's own provider only.

    **Retries:** stopping a channel that is already gone counts as stopped: answer ``True``.

    **Threads:** a web request thread or an RQ worker.

    **Limits:** none beyond a provider call; a channel that cannot be stopped expires on its own.

    :param account: the account.
    :param channel: a channel :func:`hub_watch` returned.
    :return: ``True`` once stopped.
    :raises: nothing — errors are swallowed (the core also logs and ignores what escapes).
    """


@hookspec(firstresult=True)
def hub_handle_webhook(
    account: AccountHandle, request: WebhookRequest, channels: list[PushChannel]
) -> WebhookResult | None:
    """Verify and interpret a push notification addressed to ``account``.

    **Caller:** the web route ``/webhooks/<provider>/<account id>``, on the account's own provider
    only, with the account's live ``channels``. Check the channel token (Graph ``clientState``)
    against them before anything else; answer handshakes (Graph ``validationToken``, Google's
    ``sync`` message) in the result's body; list the syncs the notification implies.

    **Retries:** providers resend notifications they think were lost, so the same one may arrive
    twice; the syncs it asks for are de-duplicated by the hub.

    **Threads:** a web request thread of any web process. Must be fast: no provider calls here.

    **Limits:** the request body is read whole (providers send small notifications).

    What each field of :class:`~hub.types.WebhookResult` makes the hub do: ``status``, ``body`` and
    ``content_type`` are the HTTP answer to the provider; every :class:`~hub.types.SyncTarget` in
    ``syncs`` enqueues a sync — ``kind="calendar"`` of the calendar ``key`` (every synced calendar
    when ``None``), ``"mail"`` of the folder ``key``, ``"channels"`` a renewal of the channels;
    ``full=True`` drops the cursor first (Graph's ``missed`` lifecycle event).

    :param account: the account the URL names.
    :param request: the HTTP request as received (method, path, headers, query args, body).
    :param channels: the account's live channels, as :func:`hub_watch` returned them.
    :return: the answer to the provider and the syncs to run.
    :raises WebhookRejected: the token did not match; the hub logs it to the account's error log
        (its status stays) and answers 403.
    """


@hookspec
def hub_push_listeners(
    accounts: Callable[[str], list[AccountHandle]], on_change: Callable[[int, str, str], None]
) -> list[PushListener] | None:
    """Long-running listeners for providers that push over a held connection (IMAP IDLE).

    **Caller:** ``hub idle`` (which ``hub serve`` starts), once at its start; every plugin's
    implementation is called and the listeners of all are run. ``accounts(provider)`` returns the
    handles of that provider's accounts that may sync mail right now (call it again to follow
    connects and disconnects); ``on_change(account_id, kind, key)`` asks the hub for a sync
    (``kind`` ``"mail"`` or ``"calendar"``, ``key`` the folder or calendar id), de-duplicated with
    syncs already queued. The hub calls each listener's ``start()`` and, on exit, ``stop()``.

    **Retries:** polling stays on as the fallback, so a listener that dies costs latency, never
    data; it should reconnect by itself after network errors.

    **Threads:** ``start()`` runs the listener in its own threads; ``on_change`` may be called from
    any of them.

    **Limits:** one held connection per watched folder — keep an eye on the provider's connection
    limits.

    :param accounts: ``accounts(provider)`` → handles of the accounts to watch.
    :param on_change: ``on_change(account_id, kind, key)`` → a sync is enqueued.
    :return: listeners not yet started (objects with ``start()`` and ``stop()``), or ``None`` when
        the plugin has none.
    :raises: nothing — an error here would stop ``hub idle`` from starting.
    """
