"""The mail tests' world (tests/mail_corpus/world.py): Acme's people, the memory provider's mailboxes."""

from tests.mail_corpus.world import acme, backend, hub_plugins

__all__ = ["acme", "backend", "hub_plugins"]
