"""Checking an API request against its OpenAPI operation: query parameters and the JSON body.

The views receive values already converted (integers, booleans, aware datetimes) and a body that
matches its schema, so a wrong type or an unknown field is a 400 with the field's name — exactly what
the document says. The ``jsonschema`` library does the schema work.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask import request
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match

from hub import public_input
from hub.exceptions import ValidationError
from web.api.schemas import SCHEMAS
from web.api.spec import operation_for

_formats = FormatChecker(formats=())


@_formats.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    return not isinstance(value, str) or parse_datetime(value) is not None


@_formats.checks("email", raises=ValueError)
def _is_email(value: object) -> bool:
    if isinstance(value, str):
        try:
            public_input.clean_email(value)
        except ValidationError as exc:
            raise ValueError(exc.message) from None
    return True


def parse_datetime(text: str, field: str = "start") -> datetime:
    """An RFC 3339 date-time with its offset; a value without one is refused (which zone would it be?)."""
    try:
        value = datetime.fromisoformat(text.strip().upper())
    except ValueError:
        raise ValidationError(f"{field}: {text!r} is not a date-time like 2025-03-01T09:00:00Z.", field=field) from None
    if value.tzinfo is None or "T" not in text.upper():
        raise ValidationError(f"{field}: give the date-time with its offset, e.g. 2025-03-01T09:00:00+01:00.",
                              field=field)
    return value


@lru_cache(maxsize=None)
def _validator(schema_key: str) -> Draft202012Validator:
    """A validator for one schema (given as its JSON text, to be cacheable), with the components for ``$ref``."""
    schema = json.loads(schema_key)
    return Draft202012Validator({**schema, "components": {"schemas": SCHEMAS}}, format_checker=_formats)


def check(value: Any, schema: dict, where: str) -> None:
    """Validate ``value`` against ``schema``; the first error becomes a ValidationError naming the field."""
    error = best_match(_validator(json.dumps(schema, sort_keys=True)).iter_errors(value))
    if error is None:
        return
    path = ".".join(str(p) for p in error.absolute_path)
    field = path or where
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else where
        raise ValidationError(f"{missing} is required.", field=missing)
    if error.validator == "additionalProperties":
        raise ValidationError(f"Unknown field in {where}: {error.message}", field=where)
    raise ValidationError(f"{field}: {error.message}", field=field)


def _convert(raw: str, schema: dict, name: str) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise ValidationError(f"{name} must be a whole number.", field=name) from None
    if kind == "boolean":
        if raw.lower() in ("true", "1"):
            return True
        if raw.lower() in ("false", "0"):
            return False
        raise ValidationError(f"{name} must be true or false.", field=name)
    if schema.get("format") == "date-time":
        return parse_datetime(raw, name)
    return raw


def validated_request() -> tuple[dict[str, Any], Any]:
    """The current API request's query parameters (converted) and JSON body, checked against the document.

    :raises ValidationError: a parameter or the body does not match.
    """
    operation = operation_for(request.url_rule.rule, request.method) if request.url_rule else None
    if operation is None:
        return {}, None
    params: dict[str, Any] = {}
    known = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    unknown = sorted(set(request.args) - known)
    if unknown:  # a typo (?strat=) silently ignored would give a surprising answer
        raise ValidationError(f"Unknown query parameter {unknown[0]!r}.", field=unknown[0])
    for name, value in request.args.items(multi=True):
        _refuse_nul(value, name)
    for param in operation.get("parameters", []):
        if param["in"] == "path":
            check((request.view_args or {}).get(param["name"]), param["schema"], param["name"])
            continue
        if param["in"] != "query":
            continue
        name, schema = param["name"], param["schema"]
        values = request.args.getlist(name)
        if not values:
            if param.get("required"):
                raise ValidationError(f"The query parameter {name} is required.", field=name)
            continue
        if len(values) > 1:
            raise ValidationError(f"Give {name} once.", field=name)
        value = _convert(values[0], schema, name)
        check(value if not isinstance(value, datetime) else values[0], schema, name)
        params[name] = value
    body = None
    if "requestBody" in operation:
        body = request.get_json(silent=True)
        if body is None:
            raise ValidationError("Send a JSON body (Content-Type: application/json).", field="body")
        _refuse_nul(body, "body")
        check(body, operation["requestBody"]["content"]["application/json"]["schema"], "body")
    return params, body


def _refuse_nul(value: Any, field: str) -> None:
    """A NUL character in any string is refused: no database text column can hold it (PostgreSQL says so
    with an error, others would silently cut the text)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValidationError(f"{field} contains a NUL character.", field=field)
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key, field)
            _refuse_nul(item, f"{field}.{key}" if isinstance(key, str) and "\x00" not in key else field)
    elif isinstance(value, list):
        for item in value:
            _refuse_nul(item, field)
