"""Web pages on the calendar engine's world (tests/sync/calendar_world.py): Acme's people and the memory
provider's calendars, in place of the web tests' own hub_plugins; the rest of tests/web/conftest.py applies."""

from tests.sync.calendar_world import acme, backend, hub_plugins

__all__ = ["acme", "backend", "hub_plugins"]
