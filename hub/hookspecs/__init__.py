"""The provider contract: every hook a provider plugin may implement.

The package ``hub/hookspecs/`` is the one source of the hook reference: ``hub docs`` renders
docs/hooks.md from its docstrings (this text, then per area each hook's signature and docstring, in
source order), and a test fails when the page and the package differ. Edit the docstrings, then run
``hub docs``.

**Implementing a hook.** Mark a function (or a method of a plugin object) with ``@hub.hookimpl``
and give it the hook's exact name and argument names; you may leave out arguments you do not use
(pluggy passes only what you ask for). A plugin is found through the ``crm_hub`` entry point and
registers its providers with :func:`hub_register_providers`.

**Two kinds of hooks.**

* **first result** — per-account (and per-provider) hooks. The core calls them through
  :meth:`hub.plugins.PluginManager.call` on the one plugin that registered the account's provider
  (``account.provider``, or ``context.name`` before an account exists) and on no other plugin, so
  an implementation never checks whose account it got. ``None`` means "not supported" (``call``
  turns it into :class:`~hub.exceptions.NotSupported`); an answer of another type than the one
  annotated here is refused with a :class:`~hub.exceptions.ProviderError` naming the plugin.
  Hooks of a provider an administrator disabled are not called at all.
* **broadcast** — notifications every plugin may observe. Every implementation is called and the
  results are ignored; one that raises is logged and skipped, since the work it reports on is
  already committed.

**Rules every implementation follows** (the core enforces what it can):

* only the dataclasses of :mod:`hub.types` and builtins cross this boundary — never ORM objects,
  never the HTTP library's objects;
* errors are raised as :mod:`hub.exceptions` (``AuthExpired``, ``RateLimited`` …), never as the
  HTTP library's own exceptions; ``hub.http`` maps HTTP failures for you. What the hub does with
  each: ``AuthExpired`` marks the account Error and asks the user to reconnect; ``RateLimited``
  and ``ProviderUnavailable`` (and every other *transient* error) make the job run again later —
  after ``retry_after`` seconds when given, else with backoff (5 s, 30 s, 2 min, 10 min, 30 min),
  the last failure going to the account's error log; any other error fails the job and is written
  to the account's error log;
* **retries re-run whole jobs.** Sync and push run as RQ jobs, which are at-least-once: a job whose
  worker died, or that failed with a transient error, runs again from its start — with the last
  cursor the hub stored, and with the outbox entries still pending. So every hook may be called
  again with the same arguments, and must give the same outcome (a create is idempotent on its
  ``client_id``; reading twice is harmless);
* hooks are synchronous and may be called from any worker process on any machine, and from any
  thread of it (web request threads, the mail engine's prefetch thread, ``hub idle``), also at the
  same time for the same account. So they keep no state between calls other than what they persist
  through ``account.update_credentials`` / ``account.update_settings`` (both written to the database
  at once, credentials encrypted), and module-level caches must be thread-safe;
* ids (``remote_id``, calendar ids) are stored in columns of 1,024 characters, push channel ids
  of 255 and e-mail addresses of 320; cursors are stored as text and handed back unchanged (see
  each hook);
* credentials are never logged and never put into exception messages.

The reference implementation of every hook is :class:`hub.testing.MemoryProvider`
(hub/testing/memory.py), and :class:`hub.testing.ProviderTests` is the conformance suite that
checks a provider against this contract.
"""

from __future__ import annotations

from hub.hookspecs import calendars, connecting, demo, mail, notifications, push, registration
from hub.hookspecs.calendars import hub_fetch_events, hub_free_busy, hub_list_calendars, hub_push_events
from hub.hookspecs.connecting import hub_authorization_url, hub_connect, hub_disconnect
from hub.hookspecs.demo import hub_demo_sandbox
from hub.hookspecs.mail import hub_mail_folders, hub_mail_partitions, hub_send_mail, hub_sync_mail
from hub.hookspecs.markers import PROJECT_NAME, hookimpl, hookspec
from hub.hookspecs.notifications import hub_account_connected, hub_sync_finished
from hub.hookspecs.push import hub_handle_webhook, hub_push_listeners, hub_unwatch, hub_watch
from hub.hookspecs.registration import hub_register_providers

#: the areas of the contract, in the order docs/hooks.md shows them
AREAS = (registration, connecting, calendars, mail, push, demo, notifications)

__all__ = [
    "AREAS",
    "PROJECT_NAME",
    "hookimpl",
    "hookspec",
    "hub_register_providers",
    "hub_authorization_url",
    "hub_connect",
    "hub_disconnect",
    "hub_list_calendars",
    "hub_fetch_events",
    "hub_push_events",
    "hub_free_busy",
    "hub_sync_mail",
    "hub_mail_partitions",
    "hub_mail_folders",
    "hub_send_mail",
    "hub_watch",
    "hub_unwatch",
    "hub_handle_webhook",
    "hub_push_listeners",
    "hub_demo_sandbox",
    "hub_account_connected",
    "hub_sync_finished",
]
