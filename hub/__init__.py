"""CRM integration hub: connects mail and calendar accounts to the CRM and keeps them in sync."""

__version__ = "0.1.0"
