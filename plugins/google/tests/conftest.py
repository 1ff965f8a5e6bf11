"""Fixtures of the Google plugin's tests.

Every test that runs the sandbox has its JSON responses recorded and checked against Google's
discovery documents at the end: whatever the plugin is tested with is the real contract's shape.

:class:`Discovery` checks sandbox responses against those discovery documents (the machine-readable
contract). They ship inside google-api-python-client, a test dependency only, which is why the
checker lives here and not in the plugin's package. For a response of a method
(``calendar.events.list``) it walks the method's response schema through its ``$ref``s and reports
every property the schema does not know and every value whose JSON type (or string format: int64,
date-time, date, byte) does not match.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import date, datetime, timezone
from pathlib import Path

import googleapiclient
import pytest

from hub.types import AccountHandle, ProviderContext

from hub_google import hooks
from hub_google.testing import SANDBOX_USER, approve


@pytest.fixture(autouse=True)
def _sandbox_responses_match_discovery(request):
    """Record the sandbox's responses during the test and validate each one afterwards."""
    if "google_sandbox" not in request.fixturenames:
        yield
        return
    sandbox = request.getfixturevalue("google_sandbox")
    sandbox.state.record_responses = True
    yield
    assert not sandbox.state.crashes, "the sandbox crashed:\n" + "\n".join(sandbox.state.crashes)
    problems = [p for method_id, _, body in sandbox.state.responses for p in _discovery.validate(method_id, body)]
    assert not problems, "sandbox responses that break the discovery documents:\n" + "\n".join(problems[:20])


@pytest.fixture
def discovery() -> Discovery:
    return _discovery


@pytest.fixture
def google_context(google_sandbox, google_webhook_receiver) -> ProviderContext:
    """A provider context pointing the plugin at the sandbox; the receiver stands in for the hub's URL."""
    return ProviderContext(name="google", config=google_sandbox.provider_config(), base_url=google_webhook_receiver.url,
                           allow_private_hosts=True)


@pytest.fixture
def saved() -> list[dict]:
    """What the plugin saved back through ``save_credentials`` (a refreshed token), in order."""
    return []


@pytest.fixture
def google_account(google_context, saved) -> AccountHandle:
    """A connected Google account (through the consent page, the token endpoint and userinfo)."""
    from hub.oauth import start as oauth_start

    begin = oauth_start(f"{google_context.base_url}/integrations/google/callback")
    url = hooks.hub_authorization_url(context=google_context, start=begin)
    query = approve(url, SANDBOX_USER)
    result = hooks.hub_connect(context=google_context, params={
        "code": query["code"], "code_verifier": begin.code_verifier, "redirect_uri": begin.redirect_uri})
    return AccountHandle(id=7, provider="google", email=result.email, credentials=dict(result.credentials),
                         settings=dict(result.settings), context=google_context,
                         save_credentials=lambda creds: saved.append(dict(creds)))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


# --- the discovery-document checker --------------------------------------------------------------

DOCUMENTS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
FILES = ("calendar.v3.json", "gmail.v1.json", "oauth2.v2.json")
INT_STRING = re.compile(r"^-?\d+$")


class Discovery:
    """The methods and schemas of the discovery documents the sandbox implements."""

    def __init__(self, files: tuple[str, ...] = FILES):
        self.methods: dict[str, tuple[dict, str | None]] = {}  # id → (schemas of its document, response $ref)
        for name in files:
            document = json.loads((DOCUMENTS / name).read_text())
            self._collect(document, document.get("resources", {}), document.get("methods", {}))

    def _collect(self, document: dict, resources: dict, methods: dict) -> None:
        for method in methods.values():
            self.methods[method["id"]] = (document["schemas"], (method.get("response") or {}).get("$ref"))
        for resource in resources.values():
            self._collect(document, resource.get("resources", {}), resource.get("methods", {}))

    def validate(self, method_id: str, body) -> list[str]:
        """Every problem of ``body`` as the response of ``method_id`` (empty = valid)."""
        if method_id not in self.methods:
            return [f"{method_id}: no such method in the discovery documents"]
        schemas, ref = self.methods[method_id]
        if ref is None:
            return [] if body in (None, {}, "") else [f"{method_id}: the method has no response body"]
        problems: list[str] = []
        self._check(schemas, {"$ref": ref}, body, method_id, problems)
        return problems

    def _check(self, schemas: dict, schema: dict, value, path: str, problems: list[str]) -> None:
        if "$ref" in schema:
            schema = schemas[schema["$ref"]]
        kind = schema.get("type")
        if kind == "object":
            if not isinstance(value, dict):
                problems.append(f"{path}: expected an object, got {type(value).__name__}")
                return
            properties = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for key, item in value.items():
                if key in properties:
                    self._check(schemas, properties[key], item, f"{path}.{key}", problems)
                elif extra is not None:
                    self._check(schemas, extra, item, f"{path}[{key!r}]", problems)
                else:
                    problems.append(f"{path}: unknown property {key!r}")
        elif kind == "array":
            if not isinstance(value, list):
                problems.append(f"{path}: expected an array, got {type(value).__name__}")
                return
            for index, item in enumerate(value):
                self._check(schemas, schema.get("items", {}), item, f"{path}[{index}]", problems)
        elif kind == "string":
            if not isinstance(value, str):
                problems.append(f"{path}: expected a string, got {type(value).__name__}")
            else:
                self._check_format(schema.get("format"), value, path, problems)
                if "enum" in schema and value not in schema["enum"]:
                    problems.append(f"{path}: {value!r} is not one of {schema['enum']}")
        elif kind == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                problems.append(f"{path}: expected an integer, got {type(value).__name__}")
        elif kind == "number":
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                problems.append(f"{path}: expected a number, got {type(value).__name__}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                problems.append(f"{path}: expected a boolean, got {type(value).__name__}")
        elif kind not in (None, "any"):
            problems.append(f"{path}: the schema type {kind!r} is not understood by this validator")

    @staticmethod
    def _check_format(fmt: str | None, value: str, path: str, problems: list[str]) -> None:
        try:
            if fmt in ("int64", "uint64", "int32", "uint32"):
                if not INT_STRING.match(value):
                    raise ValueError("not an integer string")
            elif fmt == "date-time":
                if datetime.fromisoformat(value.replace("z", "Z")).tzinfo is None:
                    raise ValueError("no time zone offset")
            elif fmt == "date":
                date.fromisoformat(value)
            elif fmt == "byte":
                base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (ValueError, binascii.Error) as exc:
            problems.append(f"{path}: {value[:40]!r} is not a valid {fmt} ({exc})")


_discovery = Discovery()
