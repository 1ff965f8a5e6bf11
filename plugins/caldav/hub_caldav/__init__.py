"""The generic CalDAV provider of the CRM integration hub: any CalDAV server's calendars.

The hook implementations are in :mod:`hub_caldav.hooks` (the ``crm_hub`` entry point); presets
with a plugin of their own (iCloud) reuse :class:`hub_caldav.calendar_hooks.CalendarHooks`.
"""
