"""The host CRM's records in the hub: one code path to create, update and upsert them, alone or in bulk.

The API's create/PATCH/PUT-by-external-id, the bulk endpoints and the admin pages' CSV import all
call :func:`apply` (one record) or :func:`bulk_upsert` (up to :data:`BULK_LIMIT` records in one
transaction, with a result per record). Records belong to an organization; the host CRM's
``external_id`` is unique within it. Rows an engine created before any organization owned them
(``organization_id`` empty) are visible to every organization, as before, and become the
organization's own on its first change.

Each kind lists its plain fields and its address-like children (a contact's addresses, a company's
or organization's domains, a user's aliases); children are compared as sets, so sending the same
record twice changes nothing ("unchanged"). Changes to addresses, aliases and domains are handed to
:mod:`hub.reevaluation`, which logs or un-logs stored mail they affect.

Public API: :data:`KINDS`, :func:`visible`, :func:`apply`, :func:`upsert`, :func:`bulk_upsert`,
:func:`serialize`, :data:`BULK_LIMIT`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from hub.exceptions import ValidationError
from hub.models import (
    Company, CompanyDomain, Contact, ContactAddress, Opportunity, Organization, OrganizationDomain, Plan, Role,
    User, UserAlias, utcnow,
)
from hub.sync.matching import normalize_email

BULK_LIMIT = 1000


def _domain(value: str) -> str:
    domain = (value or "").strip().lower().rstrip(".")
    if not domain or "@" in domain or " " in domain or "." not in domain:
        raise ValidationError(f"{value!r} is not a domain like example.com.", field="domains")
    return domain


def _address(value: str) -> str:
    email = normalize_email(value)
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or " " in email:
        raise ValidationError(f"{value!r} is not an email address.", field="emails")
    return email


@dataclass(frozen=True)
class Children:
    """An address-like list of a record: the relationship, the child model and its value column."""

    relation: str
    model: type
    column: str
    normalize: Callable[[str], str]
    #: the JSON field name
    name: str


@dataclass(frozen=True)
class Kind:
    """One kind of record the host CRM manages."""

    name: str
    model: type
    fields: tuple[str, ...]
    children: Children | None = None
    #: JSON field → (referenced kind name, column): a reference by hub id or by the CRM's external id
    references: dict[str, tuple[str, str]] = field(default_factory=dict)


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("organizations", Organization, ("name", "free_mail_domains", "mailbox_cap"),
         Children("domains", OrganizationDomain, "domain", _domain, "domains")),
    Kind("users", User, ("email", "name", "role", "timezone", "active", "plan"),
         Children("aliases", UserAlias, "email", _address, "aliases")),
    Kind("companies", Company, ("name",), Children("domains", CompanyDomain, "domain", _domain, "domains")),
    Kind("contacts", Contact, ("name", "is_lead", "owner_user_id"),
         Children("addresses", ContactAddress, "email", _address, "emails"),
         references={"company": ("companies", "company_id")}),
    Kind("opportunities", Opportunity, ("name", "stage", "is_open"),
         references={"company": ("companies", "company_id"), "contact": ("contacts", "contact_id")}),
)}


def visible(kind: Kind, organization_id: int):
    """The WHERE clause for the rows of ``kind`` an organization may see and change."""
    model = kind.model
    if model is Organization:
        return Organization.id == organization_id
    if model is User:
        return User.organization_id == organization_id
    return sa.or_(model.organization_id == organization_id, model.organization_id.is_(None))


def serialize(kind: Kind, row) -> dict[str, Any]:
    """A record as the API answers it."""
    out: dict[str, Any] = {"id": row.id, "external_id": row.external_id}
    for name in kind.fields:
        value = getattr(row, name)
        if name == "plan":
            value = value.name if value is not None else None
        elif name == "role":
            value = value.value if value is not None else None
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        out[name] = value
    if kind.children:
        out[kind.children.name] = sorted(getattr(c, kind.children.column)
                                         for c in getattr(row, kind.children.relation))
    for name, (_target, column) in kind.references.items():
        out[f"{name}_id"] = getattr(row, column)
    if kind.model is Contact:
        out["source"] = row.source
    if kind.model is Opportunity:
        out["closed_at"] = row.closed_at.isoformat() if row.closed_at else None
    if hasattr(row, "updated_at"):
        out["updated_at"] = row.updated_at.isoformat() if row.updated_at else None
    return out


def load_options(kind: Kind) -> list:
    options = [selectinload(getattr(kind.model, kind.children.relation))] if kind.children else []
    if kind.model is User:
        options.append(selectinload(User.plan))
    return options


# --- applying one record ---------------------------------------------------------------------------


@dataclass
class Changes:
    """What applying one record did, for re-evaluation and events."""

    changed: bool = False
    added: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)


def apply(s: Session, organization_id: int, kind: Kind, row, data: dict[str, Any]) -> Changes:
    """Set ``data``'s fields on ``row`` (new or existing) of ``kind``; what changed.

    :raises ValidationError: a value is invalid, a reference is unknown, or an address, alias or
        domain already belongs to another record.
    """
    changes = Changes()

    def set_value(name: str, value: Any) -> None:
        if getattr(row, name) != value:
            setattr(row, name, value)
            changes.changed = True

    if kind.model is not Organization and getattr(row, "organization_id", None) != organization_id:
        set_value("organization_id", organization_id)
    if "external_id" in data and (data["external_id"] or None) != row.external_id:
        external_id = data["external_id"] or None
        if external_id is not None and kind.model is not Organization and by_external_id(
                s, organization_id, kind, external_id) is not None:
            raise ValidationError(f"external_id: {external_id!r} already names another record.", field="external_id")
        set_value("external_id", external_id)
    for name in kind.fields:
        if name not in data:
            continue
        value = data[name]
        if name == "plan":
            _set_plan(s, row, value, changes)
            continue
        if name == "role":
            value = Role(value)
        elif name == "email":
            value = _address(value)
            _check_free(s, User, User.email, value, row, "email", also=(UserAlias, UserAlias.email))
        elif name == "free_mail_domains":
            value = sorted({_domain(d) for d in value})
        elif name == "owner_user_id" and value is not None:
            if s.scalar(sa.select(User.id).where(User.id == value, User.organization_id == organization_id)) is None:
                raise ValidationError(f"owner_user_id: no user {value} in this organization.", field="owner_user_id")
        set_value(name, value)
    for name, (target, column) in kind.references.items():
        if f"{name}_id" in data or f"{name}_external_id" in data:
            set_value(column, _reference(s, organization_id, KINDS[target], data, name))
    if kind.children and kind.children.name in data:
        _set_children(s, kind.children, row, data[kind.children.name], changes)
    if kind.model is Opportunity and "is_open" in data:
        set_value("closed_at", None if row.is_open else (row.closed_at or utcnow()))
    return changes


def _set_plan(s: Session, user: User, name: str | None, changes: Changes) -> None:
    plan_id = None
    if name:
        plan_id = s.scalar(sa.select(Plan.id).where(Plan.name == name))
        if plan_id is None:
            raise ValidationError(f"plan: there is no plan named {name!r}.", field="plan")
    if user.plan_id != plan_id:
        user.plan_id = plan_id
        changes.changed = True


def _reference(s: Session, organization_id: int, target: Kind, data: dict, name: str) -> int | None:
    if data.get(f"{name}_external_id"):
        found = s.scalar(sa.select(target.model.id).where(
            target.model.organization_id == organization_id,
            target.model.external_id == data[f"{name}_external_id"]))
        if found is None:
            raise ValidationError(f"{name}_external_id: no {name} with external id "
                                  f"{data[f'{name}_external_id']!r}.", field=f"{name}_external_id")
        return found
    wanted = data.get(f"{name}_id")
    if wanted is None:
        return None
    found = s.scalar(sa.select(target.model.id).where(target.model.id == wanted, visible(target, organization_id)))
    if found is None:
        raise ValidationError(f"{name}_id: no {name} {wanted}.", field=f"{name}_id")
    return found


def _check_free(s: Session, model, column, value: str, row, field_name: str, also: tuple = ()) -> None:
    """Refuse ``value`` when another row already holds it (addresses, domains and aliases are unique)."""
    owner_column = {UserAlias: UserAlias.user_id, ContactAddress: ContactAddress.contact_id,
                    CompanyDomain: CompanyDomain.company_id, OrganizationDomain: OrganizationDomain.organization_id}
    for table, col in ((model, column), *([also] if also else [])):
        if table in owner_column:
            owner = s.scalar(sa.select(owner_column[table]).where(sa.func.lower(col) == value).limit(1))
        else:
            owner = s.scalar(sa.select(table.id).where(sa.func.lower(col) == value).limit(1))
        if owner is not None and owner != row.id:
            raise ValidationError(f"{field_name}: {value} already belongs to another record.", field=field_name)


def _set_children(s: Session, spec: Children, row, values: list[str], changes: Changes) -> None:
    wanted = {spec.normalize(v) for v in values}
    current = {getattr(c, spec.column): c for c in getattr(row, spec.relation)}
    for value in sorted(wanted - set(current)):
        also = (User, User.email) if spec.model is UserAlias else ()
        _check_free(s, spec.model, getattr(spec.model, spec.column), value, row, spec.name, also=also)
        getattr(row, spec.relation).append(spec.model(**{spec.column: value}))
        changes.added.add(value)
    for value in sorted(set(current) - wanted):
        getattr(row, spec.relation).remove(current[value])
        changes.removed.add(value)
    if changes.added or changes.removed:
        changes.changed = True


#: fields a new record of the kind cannot do without
REQUIRED = {"users": ("email",), "companies": ("name",), "opportunities": ("name",), "organizations": ("name",)}


def create(s: Session, organization_id: int, kind: Kind, data: dict[str, Any]):
    """A new record of ``kind`` from ``data`` (flushed, so it has its id)."""
    missing = [name for name in REQUIRED.get(kind.name, ()) if not data.get(name)]
    if missing:
        raise ValidationError(f"{missing[0]} is required.", field=missing[0])
    row = kind.model()
    if kind.model is Contact:
        row.source = "crm"
    with s.no_autoflush:
        changes = apply(s, organization_id, kind, row, data)
    s.add(row)
    s.flush()
    after_change(s, organization_id, kind, row, changes)
    return row


def update(s: Session, organization_id: int, kind: Kind, row, data: dict[str, Any]) -> Changes:
    """Change an existing record (flushed)."""
    with s.no_autoflush:
        changes = apply(s, organization_id, kind, row, data)
    s.flush()
    after_change(s, organization_id, kind, row, changes)
    return changes


def by_external_id(s: Session, organization_id: int, kind: Kind, external_id: str):
    query = sa.select(kind.model).options(*load_options(kind)).where(
        kind.model.organization_id == organization_id, kind.model.external_id == external_id)
    return s.scalars(query).first()


def upsert(s: Session, organization_id: int, kind: Kind, external_id: str, data: dict[str, Any]) -> tuple[Any, str]:
    """Create or update the record with the CRM's ``external_id``: ``(row, "created"|"updated"|"unchanged")``."""
    data = {**data, "external_id": external_id}
    row = by_external_id(s, organization_id, kind, external_id)
    if row is None:
        return create(s, organization_id, kind, data), "created"
    return row, "updated" if update(s, organization_id, kind, row, data).changed else "unchanged"


def bulk_upsert(s: Session, organization_id: int, kind: Kind, records: list[dict[str, Any]],
                check: Callable[[dict], None] | None = None) -> list[dict[str, Any]]:
    """Upsert up to :data:`BULK_LIMIT` records by external id in ``s``'s transaction, one result each.

    A bad record gets ``{"result": "error", "error": …}`` and changes nothing; the others still apply.

    :param check: validates one record's shape first (the API's JSON Schema); raises ValidationError.
    """
    if len(records) > BULK_LIMIT:
        raise ValidationError(f"Send at most {BULK_LIMIT} records per request.", field="records")
    results = []
    for index, record in enumerate(records):
        external_id = str(record.get("external_id") or "").strip()
        result: dict[str, Any] = {"index": index, "external_id": external_id or None}
        if not external_id:
            results.append({**result, "result": "error", "error": "external_id is required.",
                            "field": "external_id"})
            continue
        try:
            if check is not None:
                check(record)
            with s.begin_nested():
                row, outcome = upsert(s, organization_id, kind, external_id, record)
            results.append({**result, "result": outcome, "id": row.id})
        except ValidationError as exc:
            results.append({**result, "result": "error", "error": exc.message, "field": exc.field})
        except sa.exc.IntegrityError:
            results.append({**result, "result": "error", "field": None,
                            "error": "It conflicts with another record (an address, domain or external id)."})
    return results


def after_change(s: Session, organization_id: int, kind: Kind, row, changes: Changes) -> None:
    """Hand added or removed addresses and aliases to the re-evaluation of stored mail."""
    if not (changes.added or changes.removed) or kind.model not in (Contact, User):
        return
    from hub import reevaluation

    if kind.model is Contact:
        reevaluation.contact_addresses_changed(s, row.id, changes.added, changes.removed)
    else:
        reevaluation.user_aliases_changed(s, row.id, changes.added, changes.removed)
