"""The conformance suite every provider plugin's tests subclass: :class:`ProviderTests`.

Follows vdirsyncer's ``StorageTests`` pattern: the suite is a plain test class full of ``test_*``
methods that talk to the provider only through the hooks, via a real :class:`hub.plugins.PluginManager`.
A provider's test module subclasses it, supplies a few fixtures (how to reach its sandbox or peer)
and sets capability flags; everything the provider does not offer is skipped.

A :class:`Remote` helper makes the provider-side edits a test needs ("someone changed the event in
Google Calendar", "mail arrived"), so the suite can check what the hooks see afterwards.
"""

from hub.testing.conformance.helpers import MAX_PAGES, FetchResult, fetch_all, raw_mail, slot, sync_mail_all, tag
from hub.testing.conformance.remote import Remote
from hub.testing.conformance.suite import ProviderTests, needs

__all__ = ["MAX_PAGES", "FetchResult", "ProviderTests", "Remote", "fetch_all", "needs", "raw_mail", "slot",
           "sync_mail_all", "tag"]
