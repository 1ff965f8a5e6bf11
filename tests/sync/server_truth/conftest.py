"""Calendar sync against real servers (tests/sync/caldav_truth.py): a host with a Radicale calendar
connected, and a sync window long enough for a DST change of each hemisphere."""

from tests.sync.caldav_truth import caldav, hub_plugins, hub_settings_overrides

__all__ = ["caldav", "hub_plugins", "hub_settings_overrides"]
