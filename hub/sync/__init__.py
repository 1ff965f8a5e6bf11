"""Provider-independent sync engines. They see providers only through the hooks (:mod:`hub.hookspecs`).

Calendar and meetings:

* :mod:`hub.sync.calendars` — the calendar list of an account and the user's choices
  (default/linked calendar, conflict calendars, sync preferences);
* :mod:`hub.sync.calendar` — the two-way sync engine: pull page by page with the provider cursor,
  push the outbox with client-generated ids;
* :mod:`hub.sync.busy` — recurring events expanded into busy blocks at sync time;
* :mod:`hub.sync.meetings` — CRM meetings: create/update/delete (writing the outbox) and the
  rules that turn calendar events into meetings;
* :mod:`hub.sync.availability` — free slots of a meeting type;
* :mod:`hub.sync.booking` — booking a slot without ever double-booking.

Mail: :mod:`hub.sync.mail`, :mod:`hub.sync.matching` (shared with the calendar engine), limits.
"""
