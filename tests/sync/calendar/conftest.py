"""The calendar engine's world (tests/sync/calendar_world.py): Acme's people, the memory provider's calendars."""

from tests.sync.calendar_world import acme, backend, hub_plugins

__all__ = ["acme", "backend", "hub_plugins"]
