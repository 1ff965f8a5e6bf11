"""Graph delta queries (calendarView/delta, messages/delta): nextLink paging to a deltaLink.

Sync state is kept server-side, as Graph does: a delta token names a snapshot ``{item id: change
key}``; the next round diffs the current items against it and lists what changed, plus
``{"id", "@removed": {"reason": "deleted"}}`` for what vanished (deleted, or moved out of the window).
Query parameters only count on the first request; they are carried in the tokens. A skip token names
a fixed page of a round, so requesting the same nextLink twice returns the same page.
"""

from __future__ import annotations

import secrets
from typing import Any, Callable

from werkzeug.wrappers import Request

from hub_office365.sandbox.errors import GraphError
from hub_office365.sandbox.odata import prefer

#: ``compute(params)`` returns ``{id: (change key, rendered JSON)}`` in display order
Compute = Callable[[dict[str, Any]], dict[str, tuple[str, dict]]]


def _expired(state) -> GraphError:
    if state.knobs.delta_expiry_style == "invalid":
        return GraphError(400, "syncStateInvalid", "The sync state is invalid. Restart the synchronization.")
    return GraphError(410, "syncStateNotFound",
                      "The sync state generation is not found. Start a new synchronization without a token.")


def serve(state, request: Request, context: str, params: dict[str, Any], compute: Compute,
          default_page: int, updated: Callable[[str, dict], dict] | None = None) -> dict:
    """Answer one delta request (initial, ``$deltatoken`` or ``$skiptoken``) with Graph's page body.

    :param params: the first request's parameters (ignored when a token is given).
    :param updated: how an item that changed since the last round is listed, when Graph lists
        updates differently from new items (``id -> JSON``; default: like a new item).
    :raises GraphError: 410 / syncStateNotFound for tokens the sandbox no longer knows.
    """
    args = request.args
    size = _page_size(request, default_page)
    if state.knobs.max_delta_page_size:
        size = min(size, state.knobs.max_delta_page_size)
    with state.lock:
        if "$skiptoken" in args:
            run_id, _, pos = args["$skiptoken"].partition(".")
            run = state.delta_runs.get(run_id)
            if run is None or not pos.isdigit():
                raise _expired(state)
            return _page(state, run_id, run, int(pos), size)
        if "$deltatoken" in args:
            sync = state.sync_states.get(args["$deltatoken"])
            if sync is None:
                raise _expired(state)
            params = sync["params"]
            base = sync["previous"] if state.knobs.replay_delta else sync["snapshot"]
            state.knobs.replay_delta = False
        else:
            base = {}
        current = compute(params)
        items = [updated(item_id, data) if updated is not None and item_id in base else data
                 for item_id, (key, data) in current.items() if base.get(item_id) != key]
        items += [{"id": item_id, "@removed": {"reason": "deleted"}} for item_id in base if item_id not in current]
        if state.knobs.duplicate_delta_items:
            items = [item for item in items for _ in (0, 1)]
            state.knobs.duplicate_delta_items = False
        run_id = secrets.token_urlsafe(12)
        run = {"items": items, "snapshot": {k: v[0] for k, v in current.items()}, "previous": base,
               "params": params, "url": request.base_url, "context": context}
        state.delta_runs[run_id] = run
        if state.knobs.empty_first_delta_page:
            state.knobs.empty_first_delta_page = False
            return {"@odata.context": context, "@odata.nextLink": f"{run['url']}?$skiptoken={run_id}.0", "value": []}
        return _page(state, run_id, run, 0, size)


def _page(state, run_id: str, run: dict, pos: int, size: int) -> dict:
    chunk = run["items"][pos:pos + size]
    body: dict[str, Any] = {"@odata.context": run["context"]}
    if pos + size < len(run["items"]):
        body["@odata.nextLink"] = f"{run['url']}?$skiptoken={run_id}.{pos + size}"
    else:
        token = secrets.token_urlsafe(16)
        state.sync_states[token] = {"snapshot": run["snapshot"], "previous": run["previous"], "params": run["params"]}
        body["@odata.deltaLink"] = f"{run['url']}?$deltatoken={token}"
    body["value"] = chunk
    return body


def _page_size(request: Request, default: int) -> int:
    value = prefer(request).get("odata.maxpagesize")
    try:
        return max(1, int(value)) if value else default
    except ValueError:
        return default
