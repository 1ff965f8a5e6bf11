"""OData conventions the sandbox's Graph endpoints share: context URLs, JSON bodies, paging, ``Prefer``."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request

from hub_office365.sandbox.errors import GraphError

CONTEXT = "https://graph.microsoft.com/v1.0/$metadata#"


def prefer(request: Request) -> dict[str, str]:
    """The ``Prefer`` header as a dict (``odata.maxpagesize``, ``outlook.timezone`` …)."""
    result = {}
    for part in request.headers.get("Prefer", "").split(","):
        if "=" in part:
            name, value = part.split("=", 1)
            result[name.strip().lower()] = value.strip().strip('"')
    return result


def read_json(request: Request) -> dict:
    """The request body as a JSON object, or Graph's 400 BadRequest."""
    try:
        data = json.loads(request.get_data() or b"{}")
    except ValueError as exc:
        raise GraphError(400, "BadRequest", "Unable to read JSON request payload.") from exc
    if not isinstance(data, dict):
        raise GraphError(400, "BadRequest", "The request payload must be a JSON object.")
    return data


def action_body(request: Request, *names: str) -> dict:
    """An action's JSON parameters under their documented names: Graph matches parameter names without
    regard to case, and the official SDK sends them capitalised (``"StartTime"``)."""
    canonical = {n.lower(): n for n in names}
    return {canonical.get(k.lower(), k): v for k, v in read_json(request).items()}


def page(request: Request, items: list, context: str, default: int = 10) -> dict:
    """A plain collection page with ``$top``/``$skip`` and an ``@odata.nextLink`` when more remain."""
    top = int(request.args.get("$top") or prefer(request).get("odata.maxpagesize") or default)
    skip = int(request.args.get("$skip") or 0)
    body: dict[str, Any] = {"@odata.context": context, "value": items[skip:skip + top]}
    if skip + top < len(items):
        args = request.args.to_dict()
        args["$skip"] = str(skip + top)
        body["@odata.nextLink"] = request.base_url + "?" + urlencode(args)
    return body
