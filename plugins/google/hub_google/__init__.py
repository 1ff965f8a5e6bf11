"""Google Calendar and Gmail provider for the CRM integration hub."""
