"""CSV import of the host CRM's records: upload, column mapping, a preview with per-row errors, the import job.

An upload is kept in Redis for :data:`KEEP_SECONDS` (never in job arguments: the job gets its id);
rows become records by the administrator's column mapping (:func:`records_from`) and go through
:func:`hub.crm.records.bulk_upsert` — the bulk API's own code path — in batches, each batch its own
transaction. The preview runs the first batch the same way and rolls it back; the job writes its
progress next to the upload for the status page.

Public API: :func:`store_upload`, :func:`load`, :func:`importable_fields`, :func:`guess_mapping`,
:func:`set_mapping`, :func:`records_from`, :func:`preview`, :func:`start`, :func:`run_import`, :func:`progress`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from typing import Any

from hub import work
from hub.core import Hub
from hub.crm import records as crm_records
from hub.exceptions import ValidationError

KEEP_SECONDS = 6 * 3600
MAX_ROWS = 200_000
MAX_BYTES = 50 * 1024 * 1024
PREVIEW_ROWS = 50
IMPORTABLE = ("contacts", "companies", "users")
#: CSV cells holding several values (addresses, domains) are split on these
_SEPARATORS = re.compile(r"[;,\s]+")
_LISTS = {"emails", "domains", "aliases"}
_BOOLEANS = {"is_lead", "active"}
_TRUE, _FALSE = {"1", "true", "yes", "y", "x"}, {"0", "false", "no", "n", ""}


def _key(import_id: str) -> str:
    return f"hub:csv-import:{import_id}"


def store_upload(hub: Hub, organization_id: int, kind: str, data: bytes) -> str:
    """Keep an uploaded CSV file (UTF-8, with or without BOM); returns the import id.

    :raises ValidationError: not a CSV file with a header row, too big, or too many rows.
    """
    if kind not in IMPORTABLE:
        raise ValidationError(f"Import contacts, companies or users, not {kind!r}.", field="kind")
    if len(data) > MAX_BYTES:
        raise ValidationError(f"The file is larger than {MAX_BYTES // 2**20} MB.", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text.", fix="Export the CSV as UTF-8.", field="file") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise ValidationError("The file needs a header row and at least one record.", field="file")
    if len(rows) - 1 > MAX_ROWS:
        raise ValidationError(f"At most {MAX_ROWS:,} rows per file.", fix="Split the file.", field="file")
    import_id = uuid.uuid4().hex
    state = {"organization_id": organization_id, "kind": kind, "header": [h.strip() for h in rows[0]],
             "rows": rows[1:], "mapping": None, "progress": None}
    hub.queues.connection.set(_key(import_id), json.dumps(state), ex=KEEP_SECONDS)
    return import_id


def load(hub: Hub, import_id: str, organization_id: int) -> dict[str, Any]:
    """An upload of ``organization_id`` (another organization's is "not found")."""
    raw = hub.queues.connection.get(_key(import_id)) if re.fullmatch(r"[0-9a-f]{32}", import_id or "") else None
    state = json.loads(raw) if raw else None
    if state is None or state["organization_id"] != organization_id:
        raise ValidationError("This import is not there any more.", fix="Upload the file again.", field="import")
    return state


def _save(hub: Hub, import_id: str, state: dict[str, Any]) -> None:
    hub.queues.connection.set(_key(import_id), json.dumps(state), ex=KEEP_SECONDS)


def guess_mapping(kind: str, header: list[str]) -> dict[str, str]:
    """Column → field by name ("E-mail" → emails, "Company ID" → company_external_id …); "" = ignored."""
    fields = importable_fields(kind)
    names = {re.sub(r"[^a-z]", "", f.lower()): f for f in fields}
    names.update({k: v for k, v in _COLUMN_NAMES.items() if v in fields and k not in names})
    return {column: names.get(re.sub(r"[^a-z]", "", column.lower()), "") for column in header}


#: usual column names of CRM exports → fields
_COLUMN_NAMES = {"email": "emails", "emailaddress": "emails", "mail": "emails", "domain": "domains",
                 "website": "domains", "id": "external_id", "externalid": "external_id", "crmid": "external_id",
                 "lead": "is_lead", "company": "company_external_id", "companyid": "company_external_id",
                 "alias": "aliases", "fullname": "name", "zone": "timezone"}


def importable_fields(kind: str) -> list[str]:
    spec = crm_records.KINDS[kind]
    fields = ["external_id", *spec.fields, *([spec.children.name] if spec.children else [])]
    fields += [f"{name}_external_id" for name in spec.references]
    return [f for f in fields if f not in ("owner_user_id", "free_mail_domains", "mailbox_cap")]


def records_from(state: dict[str, Any], mapping: dict[str, str], rows: list[list[str]]) -> list[dict[str, Any]]:
    """CSV rows as bulk-upsert records, by ``mapping`` (column → field; "" ignores the column)."""
    columns = [(i, mapping.get(name, "")) for i, name in enumerate(state["header"])]
    records = []
    for row in rows:
        record: dict[str, Any] = {}
        for i, field in columns:
            if not field or i >= len(row):
                continue
            cell = row[i].strip()
            if field in _LISTS:
                record[field] = [v for v in _SEPARATORS.split(cell) if v]
            elif field in _BOOLEANS:  # anything else stays text, and the record is refused with the reason
                record[field] = cell.lower() in _TRUE if cell.lower() in _TRUE | _FALSE else cell
            elif cell:
                record[field] = cell
        records.append(record)
    return records


def set_mapping(hub: Hub, import_id: str, organization_id: int, mapping: dict[str, str]) -> dict[str, Any]:
    state = load(hub, import_id, organization_id)
    allowed = set(importable_fields(state["kind"])) | {""}
    mapping = {column: mapping.get(column, "") for column in state["header"]}
    if any(field not in allowed for field in mapping.values()):
        raise ValidationError("Map each column to one of the listed fields.", field="mapping")
    if "external_id" not in mapping.values():
        raise ValidationError("Map one column to the external id (the CRM's id of each record).", field="mapping")
    state["mapping"] = mapping
    _save(hub, import_id, state)
    return state


def preview(hub: Hub, import_id: str, organization_id: int) -> list[dict[str, Any]]:
    """The first rows run through the bulk upsert and rolled back: what each would do, or why not."""
    state = load(hub, import_id, organization_id)
    rows = state["rows"][:PREVIEW_ROWS]
    records = records_from(state, state["mapping"], rows)
    with hub.db.sessionmaker() as s:
        try:
            results = crm_records.bulk_upsert(s, organization_id, crm_records.KINDS[state["kind"]], records)
        finally:
            s.rollback()
    return [{**result, "row": index + 2, "record": records[index]} for index, result in enumerate(results)]


def start(hub: Hub, import_id: str, organization_id: int) -> None:
    """Queue the import job (its id only; the rows stay in Redis)."""
    state = load(hub, import_id, organization_id)
    state["progress"] = {"done": 0, "total": len(state["rows"]), "counts": {}, "errors": [], "finished": False}
    _save(hub, import_id, state)
    work.enqueue_csv_import(hub, import_id, organization_id)


def run_import(hub: Hub, import_id: str, organization_id: int) -> dict[str, Any]:
    """The job: every row, in batches of the bulk limit, each batch one transaction; progress as it goes.

    Idempotent like the bulk API: a re-run after a crash finds the rows already there ("unchanged").
    """
    state = load(hub, import_id, organization_id)
    kind = crm_records.KINDS[state["kind"]]
    progress: dict[str, Any] = {"done": 0, "total": len(state["rows"]), "counts": {}, "errors": [], "finished": False}
    for first in range(0, len(state["rows"]), crm_records.BULK_LIMIT):
        rows = state["rows"][first:first + crm_records.BULK_LIMIT]
        records = records_from(state, state["mapping"], rows)
        with hub.db.session(write_lock=True) as s:
            results = crm_records.bulk_upsert(s, organization_id, kind, records)
        for index, result in enumerate(results):
            progress["counts"][result["result"]] = progress["counts"].get(result["result"], 0) + 1
            if result["result"] == "error" and len(progress["errors"]) < 100:
                progress["errors"].append({"row": first + index + 2, "error": result["error"]})
        progress["done"] += len(rows)
        state["progress"] = progress
        _save(hub, import_id, state)
    progress["finished"] = True
    _save(hub, import_id, state)
    return progress


def progress(hub: Hub, import_id: str, organization_id: int) -> dict[str, Any] | None:
    return load(hub, import_id, organization_id)["progress"]
