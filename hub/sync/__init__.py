"""Provider-independent sync engines. They see providers only through the hooks (:mod:`hub.hookspecs`).

* :mod:`hub.sync.calendars` — the calendar list of an account and the user's choices
  (default/linked calendar, conflict calendars, sync preferences, the calendar's zone);
* :mod:`hub.sync.calendar_pull` — pull one calendar page by page with the provider cursor;
* :mod:`hub.sync.calendar_push` — push the outbox with client-generated ids; the conflict policy;
* :mod:`hub.sync.outbox` — which outbox entries are due;
* :mod:`hub.sync.busy` — recurring events expanded into busy blocks at sync time;
* :mod:`hub.sync.mail` — pull one mail folder page by page (:mod:`hub.sync.mail_rows` builds rows,
  :mod:`hub.sync.mail_store` stores them, :mod:`hub.sync.limits` the daily cap).

What the engines feed (meetings, timelines, matching) is the CRM domain in :mod:`hub.crm`; the jobs
that run them are in :mod:`hub.jobs`, which the engines never import (work is requested through
:mod:`hub.work`).
"""
