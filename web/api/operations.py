"""Building blocks of the OpenAPI document: operations, parameters, bodies (used by the spec modules)."""

from __future__ import annotations

import re
from typing import Any

from web.api.schemas import ref

PREFIX = "/api/v1"
ERRORS = {400: "Invalid input", 401: "No or bad API token", 403: "The role does not allow this",
          404: "Not found (or not yours)", 409: "The slot is no longer available", 410: "The booking link is not active",
          413: "The request body is too large", 429: "Too many requests: wait for Retry-After seconds",
          502: "The provider refused or failed"}


def json_body(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def param(name: str, where: str, schema: dict, required: bool = False, description: str = "") -> dict:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema,
            **({"description": description} if description else {})}


def operation(summary: str, tag: str, *, ok: int = 200, returns: dict | None = None, body: str | None = None,
        params: tuple = (), errors: tuple[int, ...] = (), public: bool = False) -> dict:
    codes = set(errors) | ({400} if body or params else set()) | (set() if public else {401, 403})
    responses: dict[str, Any] = {str(ok): {"description": "OK", **(json_body(returns) if returns else {})}}
    for code in sorted(codes):
        responses[str(code)] = {"description": ERRORS[code], **json_body(ref("Error"))}
    operation = {"summary": summary, "tags": [tag], "operationId": re.sub(r"\W+", "_", summary.lower()).strip("_"),
                 "parameters": list(params), "responses": responses}
    if body:
        operation["requestBody"] = {"required": True, **json_body(ref(body))}
    if public:
        operation["security"] = []
    return operation


def array_of(name: str) -> dict:
    return {"type": "array", "items": ref(name)}


#: ids are 32-bit integers in the database (PostgreSQL INTEGER)
ROW_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
