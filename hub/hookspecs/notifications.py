"""The broadcast hooks: every plugin hears that an account connected or a sync finished."""

from __future__ import annotations

from hub.hookspecs.markers import hookspec

# -------------------------------------------------------------------------------------------------
# Notifications (broadcast: every implementation is called, results are ignored)
# -------------------------------------------------------------------------------------------------


@hookspec
def hub_account_connected(account_id: int, provider: str) -> None:
    """An account was connected or reconnected.

    **Caller:** the connect flow, after the account is stored and its initial sync enqueued; every
    plugin's implementation is called (to start a listener, to warm a cache, to tell another system).

    **Retries:** sent once per connect; not repeated.

    **Threads:** a web request thread of any web process.

    **Limits:** the person's connect waits for it: do little, and enqueue slow work instead.

    :param account_id: the account's id.
    :param provider: the account's provider name.
    :return: nothing (ignored).
    :raises: nothing — an observer that raises is logged and skipped; the connect stands.
    """


@hookspec
def hub_sync_finished(account_id: int, kind: str, key: str, stats: dict[str, int]) -> None:
    """A calendar or mail folder finished syncing.

    **Caller:** the calendar and mail sync engines after the last page is stored, for every run
    that ended (also one that found nothing new); every plugin's implementation is called.

    **Retries:** a job that runs again sends it again: count it as "at least once".

    **Threads:** the RQ worker process that ran the sync.

    **Limits:** the sync job waits for it: do little.

    :param account_id: the account's id.
    :param kind: ``"calendar"`` or ``"mail"``.
    :param key: the calendar's remote id, or the mail folder.
    :param stats: counts of what changed (``"changed"``, ``"deleted"``, ``"stored"`` …).
    :return: nothing (ignored).
    :raises: nothing — an observer that raises is logged and skipped; the committed sync stands.
    """
