"""SQLAlchemy models, one module per group of nouns. Import models from here."""

from hub.models.accounts import Account, AccountError, AccountStatus, ProviderSetting, PushChannelRecord
from hub.models.base import Base, utcnow
from hub.models.calendars import BusyBlock, Calendar, CalendarEvent, SyncDirection
from hub.models.integration import Event, IntegrationToken, WebhookDelivery, WebhookEndpoint
from hub.models.mail import MailMessage, MailParticipant, MailThread, MailUsage, TimelineEntry
from hub.models.meetings import (
    Booking,
    BookingHost,
    BookingStatus,
    Meeting,
    MeetingParticipant,
    MeetingType,
    MeetingTypeMember,
)
from hub.models.people import (
    Company,
    CompanyDomain,
    Contact,
    ContactAddress,
    Opportunity,
    OpportunityContact,
    Organization,
    OrganizationDomain,
    Plan,
    Role,
    User,
    UserAlias,
)
from hub.models.sessions import SignInSession
from hub.models.sync_state import OutboxEntry, SyncCursor

__all__ = [
    "Account", "AccountError", "AccountStatus", "ProviderSetting", "PushChannelRecord",
    "Base", "utcnow",
    "BusyBlock", "Calendar", "CalendarEvent", "SyncDirection",
    "Event", "IntegrationToken", "WebhookDelivery", "WebhookEndpoint",
    "MailMessage", "MailParticipant", "MailThread", "MailUsage", "TimelineEntry",
    "Booking", "BookingHost", "BookingStatus", "Meeting", "MeetingParticipant", "MeetingType", "MeetingTypeMember",
    "Company", "CompanyDomain", "Contact", "ContactAddress", "Opportunity", "OpportunityContact",
    "Organization", "OrganizationDomain", "Plan", "Role", "User", "UserAlias",
    "SignInSession",
    "OutboxEntry", "SyncCursor",
]
