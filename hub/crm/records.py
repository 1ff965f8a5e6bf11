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
:mod:`hub.crm.reevaluation`, which logs or un-logs stored mail they affect.

Organizations are made by :func:`create_organization` (a new tenant: the caller's own organization
sees nothing of it) and removed by :func:`delete_organization` (refused while it holds users unless
asked, and while any of their accounts is connected).

Public API: :data:`KINDS`, :func:`visible`, :func:`create`, :func:`update`, :func:`upsert`,
:func:`bulk_upsert`, :func:`serialize`, :data:`BULK_LIMIT`, :func:`create_organization`,
:func:`delete_organization`, :class:`OrganizationNotEmpty`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from hub import public_input, tenancy
from hub.crm.matching import normalize_email
from hub.exceptions import ValidationError
from hub.models import (
    Company,
    CompanyDomain,
    Contact,
    ContactAddress,
    Opportunity,
    Organization,
    OrganizationDomain,
    Plan,
    Role,
    User,
    UserAlias,
    utcnow,
)

BULK_LIMIT = 1000


def _domain(value: str) -> str:
    domain = (value if isinstance(value, str) else "").strip().lower().rstrip(".")
    if not domain or "@" in domain or " " in domain or "." not in domain:
        raise ValidationError(f"{value!r} is not a domain like example.com.", field="domains")
    return domain


def _address(value: str) -> str:
    """An address as the hub stores it, checked by the one validator of public input (email-validator)."""
    try:
        return normalize_email(public_input.clean_email(value, field="emails"))
    except ValidationError:
        raise ValidationError(f"{value!r} is not an email address.", field="emails") from None


@dataclass(frozen=True)
class Children:
    """An address-like list of a record: the relationship, the child model and its value column."""

    relation: str
    model: type[Any]
    column: str
    normalize: Callable[[str], str]
    #: the JSON field name
    name: str


@dataclass(frozen=True)
class Kind:
    """One kind of record the host CRM manages."""

    name: str
    model: type[Any]
    fields: tuple[str, ...]
    children: Children | None = None
    #: JSON field → (referenced kind name, column): a reference by hub id or by the CRM's external id
    references: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: JSON field → (referenced kind name, relationship): several references, as ``<name>_ids`` and/or
    #: ``<name>_external_ids`` (the union of both), compared as a set like the children
    reference_lists: dict[str, tuple[str, str]] = field(default_factory=dict)


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
         references={"company": ("companies", "company_id")},
         reference_lists={"contact": ("contacts", "contacts")}),
)}


def visible(kind: Kind, organization_id: int):
    """The WHERE clause for the rows of ``kind`` an organization may see and change."""
    model = kind.model
    if model is Organization:
        return Organization.id == organization_id
    if model is User:
        return User.organization_id == organization_id
    if model in (Contact, Company):  # the one tenancy rule of the web pages too
        viewer = SimpleNamespace(organization_id=organization_id)
        return tenancy.visible_contacts(viewer) if model is Contact else tenancy.visible_companies(viewer)
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
    for name, (_target, relation) in kind.reference_lists.items():
        out[f"{name}_ids"] = sorted(r.id for r in getattr(row, relation))
    if kind.model is Contact:
        out["source"] = row.source
        out["booking_answers"] = row.booking_answers or {}
    if kind.model is Opportunity:
        out["closed_at"] = row.closed_at.isoformat() if row.closed_at else None
    if hasattr(row, "updated_at"):
        out["updated_at"] = row.updated_at.isoformat() if row.updated_at else None
    return out


def load_options(kind: Kind) -> list:
    options = [selectinload(getattr(kind.model, kind.children.relation))] if kind.children else []
    options += [selectinload(getattr(kind.model, relation)) for _t, relation in kind.reference_lists.values()]
    if kind.model is User:
        options.append(selectinload(User.plan))
    return options


# --- answers to apply()'s questions, prefetched for a batch ----------------------------------------

#: per child table: the column holding the owner's id
_OWNER = {UserAlias: "user_id", ContactAddress: "contact_id", CompanyDomain: "company_id",
          OrganizationDomain: "organization_id"}


class Lookups:
    """Who owns an address or domain, which row has an external id, what a reference points at.

    Alone, each question is one query; :meth:`prefetch` answers a whole batch's questions in a few
    queries first, so a bulk upsert of 1,000 records costs a handful of statements, not thousands.
    Claims made by earlier records of the batch are remembered (the same address twice is refused).
    """

    def __init__(self, s: Session, organization_id: int):
        self.s, self.organization_id = s, organization_id
        self.owners: dict[tuple[type, str], Any] = {}
        self.rows: dict[tuple[str, str], Any] = {}
        self.refs: dict[tuple[str, str], int | None] = {}

    def owner(self, model: type, value: str):
        """The id (or new row) holding ``value`` in ``model``'s table, or None."""
        key = (model, value)
        if key not in self.owners:
            self._load_owners(model, [value])
        return self.owners[key]

    def _load_owners(self, model: type[Any], values: list[str]) -> None:
        column = model.email if model in (User, UserAlias, ContactAddress) else model.domain
        owner = model.id if model is User else getattr(model, _OWNER[model])
        for chunk in (values[i:i + 500] for i in range(0, len(values), 500)):
            query = sa.select(sa.func.lower(column), owner).where(sa.func.lower(column).in_(chunk))
            found: dict[str, Any] = dict(self.s.execute(query).all())
            for value in chunk:
                self.owners.setdefault((model, value), found.get(value))

    def row(self, kind: Kind, external_id: str):
        key = (kind.name, external_id)
        if key not in self.rows:
            self.rows[key] = by_external_id(self.s, self.organization_id, kind, external_id)
        return self.rows[key]

    def reference(self, target: Kind, external_id: str) -> int | None:
        key = (target.name, external_id)
        if key not in self.refs:
            self.refs[key] = self.s.scalar(sa.select(target.model.id).where(
                target.model.organization_id == self.organization_id, target.model.external_id == external_id))
        return self.refs[key]

    def prefetch(self, kind: Kind, records: list[dict[str, Any]]) -> None:
        """Answer in advance what applying ``records`` will ask."""
        model = kind.model
        external_ids = sorted({str(r["external_id"]) for r in records if r.get("external_id")})
        for chunk in (external_ids[i:i + 500] for i in range(0, len(external_ids), 500)):
            for found in self.s.scalars(sa.select(model).options(*load_options(kind)).where(
                    model.organization_id == self.organization_id, model.external_id.in_(chunk))):
                self.rows[(kind.name, found.external_id)] = found
            for external_id in chunk:
                self.rows.setdefault((kind.name, external_id), None)
        for name, (target, _column) in kind.references.items():
            wanted = sorted({str(r[f"{name}_external_id"]) for r in records if r.get(f"{name}_external_id")})
            target_model = KINDS[target].model
            for chunk in (wanted[i:i + 500] for i in range(0, len(wanted), 500)):
                found = dict(self.s.execute(sa.select(target_model.external_id, target_model.id).where(
                    target_model.organization_id == self.organization_id, target_model.external_id.in_(chunk))).all())
                for external_id in chunk:
                    self.refs[(target, external_id)] = found.get(external_id)
        if kind.children:
            values = set()
            for r in records:
                for value in r.get(kind.children.name) or ():
                    try:
                        values.add(kind.children.normalize(value))
                    except ValidationError:
                        pass  # reported when the record is applied
            values |= {normalize_email(r["email"]) for r in records if model is User and r.get("email")}
            for table in ((kind.children.model, User) if model is User else (kind.children.model,)):
                self._load_owners(table, sorted(values))


# --- applying one record ---------------------------------------------------------------------------


@dataclass
class Changes:
    """What applying one record did, for re-evaluation and events."""

    changed: bool = False
    added: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    #: domains that joined or left the organization's free-mail list
    free_mail: set[str] = field(default_factory=set)


def _is_other(owner, row) -> bool:
    return owner is not None and owner is not row and (row.id is None or owner != row.id)


def apply(s: Session, organization_id: int | None, kind: Kind, row, data: dict[str, Any],
          lookups: Lookups | None = None) -> Changes:
    """Set ``data``'s fields on ``row`` (new or existing) of ``kind``; what changed.

    ``organization_id`` is the caller's organization (None only for a new organization).

    Everything is checked before anything is set, so a refused record leaves ``row`` as it was.

    :raises ValidationError: a value is invalid, a reference is unknown, or an address, alias or
        domain already belongs to another record.
    """
    lookups = lookups or Lookups(s, organization_id)
    values: dict[str, Any] = {}
    if kind.model is not Organization:
        values["organization_id"] = organization_id
    if "external_id" in data and (data["external_id"] or None) != row.external_id:
        external_id = data["external_id"] or None
        # an organization's external id is unique in the whole hub, every other record's per organization
        taken = external_id is not None and (
            s.scalar(sa.select(Organization.id).where(Organization.external_id == external_id)) is not None
            if kind.model is Organization else lookups.row(kind, external_id) is not None)
        if taken:
            raise ValidationError(f"external_id: {external_id!r} already names another record.", field="external_id")
        values["external_id"] = external_id
    for name in kind.fields:
        if name not in data:
            continue
        value = _plain(kind, name, data[name])
        if name == "plan":
            value = _plan(s, value)
        elif name == "role":
            try:
                value = Role(value)
            except ValueError:
                raise ValidationError(f"role: {value!r} is not one of {', '.join(r.value for r in Role)}.",
                                      field="role") from None
        elif name == "timezone":
            _check_zone(value)
        elif name == "email":
            value = _address(value)
            for table in (User, UserAlias):
                if _is_other(lookups.owner(table, value), row):
                    raise ValidationError(f"email: {value} already belongs to another user.", field="email")
        elif name == "free_mail_domains":
            value = sorted({_domain(d) for d in (value if isinstance(value, list) else [None])})
        elif name == "owner_user_id" and value is not None:
            if s.scalar(sa.select(User.id).where(User.id == value, User.organization_id == organization_id)) is None:
                raise ValidationError(f"owner_user_id: no user {value} in this organization.", field="owner_user_id")
        values[name] = value
    for name, (target, column) in kind.references.items():
        if f"{name}_id" in data or f"{name}_external_id" in data:
            values[column] = _reference(s, organization_id, KINDS[target], data, name, lookups)
    lists: dict[str, set[int]] = {}
    for name, (target, relation) in kind.reference_lists.items():
        if f"{name}_ids" in data or f"{name}_external_ids" in data:
            lists[relation] = _references(s, organization_id, KINDS[target], data, name, lookups)
    add: list[str] = []
    drop: list = []
    if kind.children and kind.children.name in data:
        spec = kind.children
        if not isinstance(data[spec.name], list):
            raise ValidationError(f"{spec.name}: give a list.", field=spec.name)
        wanted = {spec.normalize(v) for v in data[spec.name]}
        current = {getattr(c, spec.column): c for c in getattr(row, spec.relation)}
        add = sorted(wanted - set(current))
        drop = [current[v] for v in sorted(set(current) - wanted)]
        for value in add:
            for table in ((spec.model, User) if spec.model is UserAlias else (spec.model,)):
                if _is_other(lookups.owner(table, value), row):
                    raise ValidationError(f"{spec.name}: {value} already belongs to another record.", field=spec.name)
    # every check passed: now change the row
    changes = Changes()
    for name, value in values.items():
        if getattr(row, name) != value:
            if name == "free_mail_domains":
                changes.free_mail = set(value) ^ set(row.free_mail_domains or ())
            setattr(row, name, value)
            changes.changed = True
    for relation, wanted_ids in lists.items():
        target = kind.model.__mapper__.relationships[relation].mapper.class_
        if {r.id for r in getattr(row, relation)} != wanted_ids:
            setattr(row, relation, list(s.scalars(sa.select(target).where(target.id.in_(sorted(wanted_ids))))
                                        ) if wanted_ids else [])
            changes.changed = True
    if kind.model is Opportunity and "is_open" in data:
        closed_at = None if row.is_open else (row.closed_at or utcnow())
        if row.closed_at != closed_at:
            row.closed_at = closed_at
    if kind.children:
        spec = kind.children
        for value in add:
            getattr(row, spec.relation).append(spec.model(**{spec.column: value}))
            lookups.owners[(spec.model, value)] = row
            changes.added.add(value)
        for child in drop:
            value = getattr(child, spec.column)
            getattr(row, spec.relation).remove(child)
            lookups.owners[(spec.model, value)] = None
            changes.removed.add(value)
        changes.changed = changes.changed or bool(add or drop)
    if kind.model is User and "email" in values:
        lookups.owners[(User, values["email"])] = row
    if changes.changed and row.id is not None and hasattr(row, "updated_at"):
        row.updated_at = utcnow()  # addresses or contacts alone touch no column of the row itself
    return changes


def _plain(kind: Kind, name: str, value: Any) -> Any:
    """``value`` if it has the column's type and fits it (whoever called: the API, a CSV file)."""
    column = kind.model.__table__.columns.get(name)
    if column is None or value is None:
        return value
    python_type = column.type.python_type
    if python_type is bool and not isinstance(value, bool):
        raise ValidationError(f"{name}: {value!r} is not true or false.", field=name)
    if python_type is str:
        if not isinstance(value, str):
            raise ValidationError(f"{name}: give text.", field=name)
        value = value.strip()
        if column.type.length and len(value) > column.type.length:
            raise ValidationError(f"{name}: at most {column.type.length} characters.", field=name)
    if python_type is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValidationError(f"{name}: give a whole number.", field=name)
    return value


def _check_zone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"timezone: {name!r} is not a time zone like Europe/Berlin.", field="timezone") from None


def _plan(s: Session, name: str | None) -> Plan | None:
    if not name:
        return None
    plan = s.scalar(sa.select(Plan).where(Plan.name == name))
    if plan is None:
        raise ValidationError(f"plan: there is no plan named {name!r}.", field="plan")
    return plan


def _reference(s: Session, organization_id: int, target: Kind, data: dict, name: str, lookups: Lookups) -> int | None:
    if data.get(f"{name}_external_id"):
        found = lookups.reference(target, data[f"{name}_external_id"])
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


def _references(s: Session, organization_id: int, target: Kind, data: dict, name: str, lookups: Lookups) -> set[int]:
    """The ids ``<name>_ids`` and ``<name>_external_ids`` point at, all visible to the organization."""
    found: set[int] = set()
    external = data.get(f"{name}_external_ids")
    if external is not None:
        if not isinstance(external, list):
            raise ValidationError(f"{name}_external_ids: give a list.", field=f"{name}_external_ids")
        for external_id in external:
            ref = lookups.reference(target, str(external_id))
            if ref is None:
                raise ValidationError(f"{name}_external_ids: no {name} with external id {external_id!r}.",
                                      field=f"{name}_external_ids")
            found.add(ref)
    wanted = data.get(f"{name}_ids")
    if wanted is not None:
        if not isinstance(wanted, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in wanted):
            raise ValidationError(f"{name}_ids: give a list of ids.", field=f"{name}_ids")
        known = set(s.scalars(sa.select(target.model.id).where(target.model.id.in_(sorted(set(wanted))),
                                                                visible(target, organization_id)))) if wanted else set()
        missing = sorted(set(wanted) - known)
        if missing:
            raise ValidationError(f"{name}_ids: no {name} {missing[0]}.", field=f"{name}_ids")
        found |= known
    return found


#: fields a new record of the kind cannot do without
REQUIRED = {"users": ("email",), "companies": ("name",), "opportunities": ("name",), "organizations": ("name",)}


def new_row(kind: Kind, data: dict[str, Any]):
    missing = [name for name in REQUIRED.get(kind.name, ()) if not data.get(name)]
    if missing:
        raise ValidationError(f"{missing[0]} is required.", field=missing[0])
    row = kind.model()
    if kind.model is Contact:
        row.source = "crm"
    if kind.model is Opportunity:
        row.is_open = True
    return row


def create(s: Session, organization_id: int, kind: Kind, data: dict[str, Any]):
    """A new record of ``kind`` from ``data`` (flushed, so it has its id)."""
    row = new_row(kind, data)
    with s.no_autoflush:
        changes = apply(s, organization_id, kind, row, data)
    s.add(row)
    s.flush()
    after_change(s, organization_id, kind, [changes])
    return row


def update(s: Session, organization_id: int, kind: Kind, row, data: dict[str, Any]) -> Changes:
    """Change an existing record (flushed)."""
    with s.no_autoflush:
        changes = apply(s, organization_id, kind, row, data)
    s.flush()
    after_change(s, organization_id, kind, [changes])
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
    The batch's questions are answered up front (:class:`Lookups`) and its rows written in one flush.

    :param check: validates one record's shape first (the API's JSON Schema); raises ValidationError.
    """
    if len(records) > BULK_LIMIT:
        raise ValidationError(f"Send at most {BULK_LIMIT} records per request.", field="records")
    results: list[dict[str, Any]] = []
    valid: list[tuple[dict, dict]] = []
    seen: set[str] = set()
    for index, record in enumerate(records):
        external_id = str(record.get("external_id") or "").strip()
        result: dict[str, Any] = {"index": index, "external_id": external_id or None}
        results.append(result)
        try:
            if not external_id:
                raise ValidationError("external_id is required.", field="external_id")
            if external_id in seen:
                raise ValidationError("external_id: the batch holds this record twice.", field="external_id")
            seen.add(external_id)
            if check is not None:
                check(record)
            valid.append((result, {**record, "external_id": external_id}))
        except ValidationError as exc:
            result.update(result="error", error=exc.message, field=exc.field)
    lookups = Lookups(s, organization_id)
    lookups.prefetch(kind, [record for _result, record in valid])
    applied: list[tuple[dict, Any, Changes]] = []
    with s.no_autoflush:
        for result, record in valid:
            try:
                row = lookups.row(kind, record["external_id"])
                new = row is None
                if new:
                    row = new_row(kind, record)
                changes = apply(s, organization_id, kind, row, record, lookups)
            except ValidationError as exc:
                result.update(result="error", error=exc.message, field=exc.field)
                continue
            if new:
                s.add(row)
                lookups.rows[(kind.name, record["external_id"])] = row
            result["result"] = "created" if new else ("updated" if changes.changed else "unchanged")
            applied.append((result, row, changes))
    s.flush()
    for result, row, _changes in applied:
        result["id"] = row.id
    after_change(s, organization_id, kind, [changes for _r, _row, changes in applied])
    return results


def after_change(s: Session, organization_id: int, kind: Kind, changes: list[Changes]) -> None:
    """Hand added or removed addresses, aliases and domains to the re-evaluation of stored mail (once per batch)."""
    added = {a for c in changes for a in c.added}
    removed = {a for c in changes for a in c.removed}
    free_mail = {d for c in changes for d in c.free_mail}
    if not (added or removed or free_mail) or kind.model not in (Contact, User, Organization):
        return
    from hub.crm import reevaluation

    if kind.model is Contact:
        reevaluation.contact_addresses_changed(s, added, removed)
    elif kind.model is User:
        reevaluation.user_aliases_changed(s, added, removed, organization_id)
    else:  # a domain joined or left the organization, or its free-mail list: who is a colleague changes
        reevaluation.organization_domains_changed(s, added | removed | free_mail)
