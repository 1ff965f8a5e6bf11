"""JSON bodies with a nesting limit: a 100,000-deep array is a clean 400, not a RecursionError 500.

The stdlib parser recurses once per level and gives up with RecursionError near the interpreter's
limit; below that, :data:`MAX_DEPTH` is checked on the parsed value (iteratively, so the check itself
cannot recurse). No API body of the hub nests more than a few levels.
"""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider

from hub.exceptions import ValidationError

MAX_DEPTH = 32


def depth_of(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (a scalar is 0)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, refusing bodies nested deeper than :data:`MAX_DEPTH`."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            value = None
            too_deep = True
        else:
            too_deep = depth_of(value) > MAX_DEPTH
        if too_deep:
            raise ValidationError(f"The JSON body nests too deeply (at most {MAX_DEPTH} levels).", field="body")
        return value
