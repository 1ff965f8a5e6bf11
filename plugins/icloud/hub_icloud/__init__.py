"""The iCloud provider of the CRM integration hub: calendars over CalDAV, mail over IMAP/SMTP.

The hook implementations are in :mod:`hub_icloud.hooks` (the ``crm_hub`` entry point).
"""
