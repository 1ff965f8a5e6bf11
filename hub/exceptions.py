"""The hub's one error tree.

Every error the hub raises on purpose is a :class:`HubError`. It carries a message for the person
who sees it and, where there is one, a ``fix`` telling them what to do. The web UI, the API and the
CLI render a HubError as ``message`` + ``fix`` without a traceback.

::

    HubError
    ├── UserError                 the person asked for something that cannot be done as asked
    │   ├── ConfigError           the hub itself is set up wrongly (bad URL, missing key)
    │   ├── ValidationError       a form or API field is invalid
    │   ├── PermissionDenied      the role does not allow it
    │   ├── NotActive             a deactivated meeting type / booking link
    │   ├── SlotUnavailable       the booking slot was taken or became busy
    │   └── LimitReached          a plan limit (daily mail cap, mailbox cap)
    └── ProviderError             the provider or the way to it failed
        ├── AuthenticationFailed  wrong credentials at connect time
        │   └── AuthExpired       a stored grant stopped working (revoked, password changed)
        ├── ConnectFailed         host unreachable, TLS failure, wrong port
        │   └── HostNotAllowed    the SSRF guard refused the address
        ├── RateLimited           429 and friends; ``retry_after`` seconds      (transient)
        ├── ProviderUnavailable   5xx, timeouts, dropped connections            (transient)
        ├── CursorExpired         the sync cursor is gone: full resync needed
        ├── PreconditionFailed    an etag / if-none-match check failed
        │   ├── WrongEtag
        │   └── AlreadyExists
        ├── NotFound              the remote object does not exist
        ├── UnreadableItem        one event or message could not be read; it was skipped
        ├── NotSupported          the provider cannot do this (e.g. on-premises Exchange)
        └── WebhookRejected       a push notification failed verification

``transient`` errors are retried with backoff by the job layer; all others are recorded on the
account's error log and shown to the user.
"""

from __future__ import annotations


class HubError(Exception):
    """Base of every error the hub raises on purpose.

    :param message: what happened, in words for the person who sees it.
    :param fix: what they can do about it, or ``None``.
    """

    #: retried by the job layer with backoff rather than shown as a failure
    transient: bool = False
    #: default fix hint for the class, used when none is passed
    default_fix: str | None = None

    def __init__(self, message: str = "", fix: str | None = None):
        super().__init__(message or self.__class__.__doc__.strip().splitlines()[0])
        self.message = str(self.args[0])
        self.fix = fix if fix is not None else self.default_fix

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, str | None]:
        """The error as the API and the error log show it."""
        return {"error": type(self).__name__, "message": self.message, "fix": self.fix}


# --- errors caused by what the person asked -----------------------------------------------------


class UserError(HubError):
    """The request cannot be done as asked."""


class ConfigError(UserError):
    """The hub is not configured correctly."""


class ValidationError(UserError):
    """A value is invalid."""

    def __init__(self, message: str = "", fix: str | None = None, field: str | None = None):
        super().__init__(message, fix)
        self.field = field


class PermissionDenied(UserError):
    """You are not allowed to do this."""


class NotActive(UserError):
    """This booking link is not active."""

    default_fix = "Ask the person who shared the link for a new one."


class SlotUnavailable(UserError):
    """This slot is no longer available."""

    default_fix = "Pick another time."


class LimitReached(UserError):
    """A plan limit was reached."""

    default_fix = "Ask an administrator to raise the limit."


# --- errors from providers ---------------------------------------------------------------------


class ProviderError(HubError):
    """The provider reported an error."""


class AuthenticationFailed(ProviderError):
    """Authentication failed. Please try again."""

    default_fix = "Check the user name and password."


class AuthExpired(AuthenticationFailed):
    """The connection to this account was lost."""

    default_fix = "Reconnect the account."


class ConnectFailed(ProviderError):
    """Could not reach the server."""

    default_fix = "Check the host name and port, and that the server is up."


class HostNotAllowed(ConnectFailed):
    """This host is not allowed."""

    default_fix = (
        "Use the server's public host name. An administrator can allow private hosts "
        "for on-premises servers."
    )


class RateLimited(ProviderError):
    """The provider asked us to slow down."""

    transient = True

    def __init__(self, message: str = "", fix: str | None = None, retry_after: float | None = None):
        super().__init__(message, fix)
        self.retry_after = retry_after


class ProviderUnavailable(ProviderError):
    """The provider is temporarily unavailable."""

    transient = True
    default_fix = "Nothing to do: the hub retries automatically."


class CursorExpired(ProviderError):
    """The sync cursor expired; a full sync is needed."""


class PreconditionFailed(ProviderError):
    """The remote object changed since we last saw it."""


class WrongEtag(PreconditionFailed):
    """The remote object has a different version than expected."""


class AlreadyExists(PreconditionFailed):
    """The remote object already exists."""


class NotFound(ProviderError):
    """The remote object does not exist."""


class UnreadableItem(ProviderError):
    """An item could not be read and was skipped."""

    default_fix = "The rest syncs normally. Fix or delete the item in the calendar or mail app to sync it."


class ZoneUnknown(ProviderError):
    """A calendar has no time zone, and neither has its owner: its all-day and floating events are read in UTC."""

    default_fix = "Set your time zone in your profile, or give the calendar a time zone in the calendar app."


class TooManyOccurrences(ProviderError):
    """A recurring event repeats more often than the hub expands; only its first occurrences block time."""

    default_fix = "Check the event's repeat rule in the calendar app (a repeat every minute is usually a mistake)."


class NotSupported(ProviderError):
    """The provider does not support this."""


class WebhookRejected(ProviderError):
    """A push notification failed verification and was ignored."""

    default_fix = ("Nothing to do when it happens now and then (a notification for a channel that was "
                   "replaced): it was ignored and syncing goes on. Many in a row can mean someone is sending "
                   "forged notifications to the webhook address.")
