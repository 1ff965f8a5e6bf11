"""What the conformance suite needs from the provider's side: :class:`Remote`."""

from __future__ import annotations

from hub.types import (
    PushChannel,
    RemoteEvent,
    WebhookRequest,
)


class Remote:
    """Provider-side edits, made the way another client (or the provider's own UI) would make them.

    A provider's test module returns one of these from its ``remote`` fixture, talking to its sandbox
    or peer directly — never through the plugin under test. Only the methods the provider's
    capability flags need must be implemented; the others raise :class:`NotImplementedError`.
    """

    def create_event(self, calendar_id: str, event: RemoteEvent) -> str:
        """Create ``event`` on the provider and return the remote id it got.

        ``event.remote_id`` is only a suggestion (may be ``""``); ``etag`` and ``hub_marker`` are
        ignored. Needed with ``supports_calendar_read``.
        """
        raise NotImplementedError("Remote.create_event")

    def update_event(self, calendar_id: str, event: RemoteEvent) -> None:
        """Replace the event ``event.remote_id`` with ``event``'s content (its etag changes).

        Needed with ``supports_calendar_read``.
        """
        raise NotImplementedError("Remote.update_event")

    def delete_event(self, calendar_id: str, remote_id: str) -> None:
        """Delete the event ``remote_id``. Needed with ``supports_calendar_read``."""
        raise NotImplementedError("Remote.delete_event")

    def deliver_mail(self, folder: str, raw: bytes) -> None:
        """Put the RFC 822 message ``raw`` into ``folder`` ("inbox" or "sent"). Needed with ``supports_mail``."""
        raise NotImplementedError("Remote.deliver_mail")

    def expire_cursors(self) -> None:
        """Make every sync cursor handed out so far unusable (Google 410, IMAP UIDVALIDITY change …).

        Needed with ``server_cursors`` and ``supports_calendar_read`` or ``supports_mail``.
        """
        raise NotImplementedError("Remote.expire_cursors")

    def approve(self, authorization_url: str) -> dict[str, str]:
        """Consent as the user at ``authorization_url``; return the callback's query (``code``, ``state``).

        Needed for ``connect_kind="oauth"`` providers.
        """
        raise NotImplementedError("Remote.approve")

    def notification(self, channel: PushChannel) -> WebhookRequest:
        """Make a provider-side change that ``channel`` watches and return the push notification the
        provider sent for it, as the hub's webhook route receives it. Needed with ``supports_push``.
        """
        raise NotImplementedError("Remote.notification")
