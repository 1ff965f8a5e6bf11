"""The CRM domain the engines feed: who is who, what goes on whose timeline, meetings.

* :mod:`hub.crm.matching` — addresses to users, contacts and companies (internal, known, free mail);
* :mod:`hub.crm.timeline` — mail logged on contacts', companies' and opportunities' timelines;
* :mod:`hub.crm.meetings` — CRM meetings: create/update/delete (writing the outbox), what the push sends;
* :mod:`hub.crm.meeting_import` — the rules that turn calendar events into meetings (import, update,
  cancel), run by the calendar pull;
* :mod:`hub.crm.records` — the host CRM's records (organizations, users, companies, contacts,
  opportunities): one code path for the API, bulk upserts and the CSV import
  (:mod:`hub.crm.csv_import`); organizations made and deleted by it (:mod:`hub.crm.organizations`);
* :mod:`hub.crm.reevaluation` — stored mail looked at again when who-is-who changes.
"""
