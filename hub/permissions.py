"""Who may do what: the role × permission matrix, kept in this one place.

docs/product-rules.md#roles: six roles; Meetings for every role but Marketing Managers; mail sync for all; a user
sees only their own logged mail unless their role allows more; administrators manage providers,
limits and every user's connection status. The web UI and the JSON API both ask :func:`can`; every
route declares the permission it needs (``web.access``), and the tests check each cell.

Public API: :class:`Permission`, :data:`MATRIX`, :func:`can`, :func:`permissions_of`,
:func:`may_read_mail_of`.
"""

from __future__ import annotations

import enum

from hub.models import Role


class Permission(str, enum.Enum):
    """One thing a role may do. Values are stable: they appear in the API's 403 answers."""

    #: connect, reconnect and disconnect one's own accounts (Integrations page)
    CONNECT = "connect"
    #: choose one's calendars: default, conflict, sync direction, deletions, appointment type
    CALENDARS = "calendars"
    #: one's own mail sync: status, progress, error log, BCC address, disable
    MAIL_SYNC = "mail_sync"
    #: meeting types, booking links, CRM meetings and availability
    MEETINGS = "meetings"
    #: contacts and companies with their timelines (one's own logged mail on them)
    CONTACTS = "contacts"
    #: logged mail of the other users of one's organization, on timelines and in the API
    TEAM_MAIL = "team_mail"
    #: providers, OAuth clients, plans and limits, every user's connection status, queue health
    ADMIN = "admin"


P = Permission
_EVERYONE = {P.CONNECT, P.CALENDARS, P.MAIL_SYNC, P.CONTACTS}

#: the matrix: role → the permissions it has. Change it here and nowhere else.
MATRIX: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.COMPANY_MANAGER: frozenset(_EVERYONE | {P.MEETINGS, P.TEAM_MAIL}),
    Role.SALES_MANAGER: frozenset(_EVERYONE | {P.MEETINGS, P.TEAM_MAIL}),
    # marketing works with contacts and campaigns, not with booked meetings (docs/product-rules.md#roles)
    Role.MARKETING_MANAGER: frozenset(_EVERYONE),
    Role.SALESPERSON: frozenset(_EVERYONE | {P.MEETINGS}),
    Role.JUNIOR_SALESPERSON: frozenset(_EVERYONE | {P.MEETINGS}),
}

#: how permissions read in the UI, in the matrix's order
PERMISSION_LABELS: dict[Permission, str] = {
    P.CONNECT: "Connect accounts",
    P.CALENDARS: "Choose calendars",
    P.MAIL_SYNC: "Mail sync",
    P.MEETINGS: "Meetings and booking links",
    P.CONTACTS: "Contacts and companies",
    P.TEAM_MAIL: "The team's logged mail",
    P.ADMIN: "Administration",
}

#: how roles read in the UI
ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "Administrator",
    Role.COMPANY_MANAGER: "Company Manager",
    Role.MARKETING_MANAGER: "Marketing Manager",
    Role.SALES_MANAGER: "Sales Manager",
    Role.SALESPERSON: "Salesperson",
    Role.JUNIOR_SALESPERSON: "Jr. Salesperson",
}


def _role(role: Role | str) -> Role:
    return role if isinstance(role, Role) else Role(role)


def permissions_of(role: Role | str) -> frozenset[Permission]:
    """Every permission ``role`` has (an unknown role has none)."""
    try:
        return MATRIX[_role(role)]
    except ValueError:
        return frozenset()


def can(role: Role | str, permission: Permission) -> bool:
    """Whether a user with ``role`` may do what ``permission`` covers."""
    return permission in permissions_of(role)


def may_read_mail_of(role: Role | str, viewer_id: int, owner_id: int, same_organization: bool = True) -> bool:
    """Whether the viewer may read mail that ``owner_id``'s accounts logged.

    Everyone reads their own; :attr:`Permission.TEAM_MAIL` extends that to colleagues in the same
    organization — never to another organization's users.
    """
    if viewer_id == owner_id:
        return True
    return same_organization and can(role, Permission.TEAM_MAIL)
