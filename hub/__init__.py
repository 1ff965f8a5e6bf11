"""CRM integration hub: connects mail and calendar accounts to the CRM and keeps them in sync."""

__version__ = "0.1.0"

from hub.hookspecs import hookimpl  # noqa: E402 - plugins write ``@hub.hookimpl``

__all__ = ["hookimpl", "__version__"]
