"""A read-only provider for subscribed iCalendar feeds (hooks in :mod:`hub_ics.hooks`)."""
