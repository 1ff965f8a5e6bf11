"""The registration hook: which providers a plugin offers."""

from __future__ import annotations

from typing import Callable

from hub.hookspecs.markers import hookspec
from hub.types import ProviderInfo

# -------------------------------------------------------------------------------------------------
# Registration
# -------------------------------------------------------------------------------------------------


@hookspec
def hub_register_providers(register: Callable[[ProviderInfo], None]) -> None:
    """Tell the hub which providers this plugin offers.

    **Caller:** the plugin manager, once each time it loads the plugins — at the start of every hub
    process (web, worker, scheduler, ``hub idle``, every CLI command) and of every conformance test.
    Every plugin's implementation is called. Call ``register(ProviderInfo(...))`` once per provider;
    a plugin may register several.

    **Retries:** called again in every process and test, so it only describes: no provider calls,
    no files, no state.

    **Threads:** the loading thread, before any other hook of the plugin runs.

    **Limits:** a provider name is registered by one plugin only (a second registration fails
    start-up with ``ConfigError``); the name appears in URLs (``/webhooks/<provider>/<account id>``)
    and in the database, so keep it a short lower-case word — by convention the entry-point name.

    What each field of :class:`~hub.types.ProviderInfo` makes the hub do:

    * ``name`` — the key of the provider: accounts store it as ``account.provider`` and the core
      calls per-account hooks on the plugin that registered it;
    * ``label`` — the name people see on the integrations, connect and admin pages;
    * ``capabilities`` — which engines run for its accounts and which hooks they call:
      ``CALENDAR_READ`` (calendar list and sync), ``CALENDAR_WRITE`` (pushing meetings; needs
      ``CALENDAR_READ``, ``CALENDAR`` declares both), ``FREE_BUSY`` (booking re-checks),
      ``MAIL`` (mail sync; such accounts count against a company's mailbox cap), ``SEND``,
      ``PUSH`` (push channels), ``VIDEO`` (video links on pushed meetings). Without
      ``CALENDAR_WRITE`` every calendar is treated as ``reader``. The conformance suite tests
      exactly the declared capabilities;
    * ``connect_kind`` — ``"oauth"``: the connect button goes through
      :func:`hub_authorization_url` and the OAuth callback; ``"form"``: the hub shows
      ``connect_form`` and passes its fields to :func:`hub_connect`;
    * ``config_schema`` — the settings an administrator enters on the admin page (OAuth client id,
      base URLs); ``ConfigField(secret=True)`` values are masked there and stored encrypted. They
      reach the hooks as ``context.config``;
    * ``connect_form`` — the fields of a form connect (``ConnectField``);
    * ``description`` — a sentence shown under the label on the connect and admin pages;
    * ``sends_invitations`` — with ``send_invites`` the provider itself mails attendees the invitation,
      its updates and its cancellation (Google ``sendUpdates=all``, Graph); booking e-mails from
      the hub then carry no ``.ics`` of their own, so a guest never gets one invitation twice
      (:mod:`hub.scheduling.notifications`). Leave it ``False`` when events are only written
      (CalDAV): the hub's ``.ics`` is then the guest's invitation.

    :param register: call it with each :class:`~hub.types.ProviderInfo` this plugin offers.
    :return: nothing (the return value is ignored).
    :raises ConfigError: raised by ``register`` itself (failing start-up) when the same provider name
        is registered twice or something other than a ``ProviderInfo`` is registered;
        ``ProviderInfo`` raises ``ValueError`` for an unknown capability.
    """
