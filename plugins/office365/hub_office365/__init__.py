"""Microsoft 365 provider for the CRM integration hub: Outlook calendar and mail through Microsoft Graph."""
