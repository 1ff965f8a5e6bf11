"""Organizations: made by the host CRM (a new, empty tenant), deleted only when that is safe.

Their fields go through :func:`hub.crm.records.apply` like every other record's.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.crm.records import KINDS, after_change, apply, new_row
from hub.exceptions import UserError
from hub.models import (
    Account,
    AccountStatus,
    Organization,
    User,
)


class OrganizationNotEmpty(UserError):
    """The organization still holds people or connected accounts."""


def create_organization(s: Session, data: dict[str, Any]) -> Organization:
    """A new, empty organization (flushed); its domains must not belong to another one."""
    kind = KINDS["organizations"]
    row = new_row(kind, data)
    with s.no_autoflush:
        changes = apply(s, None, kind, row, data)  # an organization belongs to none
    s.add(row)
    s.flush()
    after_change(s, row.id, kind, [changes])
    return row


def delete_organization(s: Session, organization: Organization, with_users: bool = False) -> None:
    """Delete ``organization`` with everything it holds, or refuse.

    Refused while it has users, unless ``with_users``: they go too, with every mail, meeting and
    timeline entry they synced. Refused always while one of them has a connected account: only
    disconnecting revokes the hub's access at the provider and stops its sync and push channels,
    so that happens first, where it is done properly. A hard delete, not a soft one: a flag would
    have to be honoured by sign-in, tokens, every job and every query, and anything that missed it
    would keep a deleted tenant half alive.

    :raises OrganizationNotEmpty: with what is in the way and how to clear it.
    """
    users = s.scalar(sa.select(sa.func.count(User.id)).where(User.organization_id == organization.id)) or 0
    if users and not with_users:
        raise OrganizationNotEmpty(
            f"{organization.name} still has {users} user{'s' if users != 1 else ''}: deleting it deletes "
            "them with all the mail and meetings they synced.",
            fix="Send with_users=true to delete them too (after disconnecting their accounts).")
    connected = s.scalar(sa.select(sa.func.count(Account.id)).join(User, User.id == Account.user_id).where(
        User.organization_id == organization.id, Account.status != AccountStatus.DISCONNECTED)) or 0
    if connected:
        raise OrganizationNotEmpty(
            f"{organization.name} still has {connected} connected account{'s' if connected != 1 else ''}.",
            fix="Disconnect them first (DELETE /api/v1/accounts/{id} or the Integrations page): that revokes "
                "the hub's access and stops their sync.")
    # the database cascades: users take their accounts, mail, meetings and sessions; the organization
    # its domains, companies, contacts, opportunities, tokens, webhook endpoints and events
    s.execute(sa.delete(User).where(User.organization_id == organization.id).execution_options(
        synchronize_session=False))
    s.delete(organization)
    s.flush()
