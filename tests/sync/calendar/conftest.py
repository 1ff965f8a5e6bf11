"""The calendar engine's world (tests/sync/calendar_world.py): Acme's people, the memory provider's calendars;
and its sales team (tests/sync/team_world.py) for the team meeting types."""

from tests.sync.calendar_world import acme, backend, hub_plugins
from tests.sync.team_world import team

__all__ = ["acme", "backend", "hub_plugins", "team"]
