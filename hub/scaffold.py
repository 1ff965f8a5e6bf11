"""Scaffold a new provider plugin package: what ``hub new-provider NAME`` writes.

:func:`create_provider` writes ``crm-hub-<name>/`` — a distribution with the ``crm_hub`` entry
point, a hook module that registers the provider (no capabilities yet) and checks credentials, and a
test module subclassing :class:`hub.testing.ProviderTests`. It installs and its tests pass as
written; docs/writing-a-provider.md shows these exact files (a test keeps the two identical).

The templates live here as strings rather than package data, so the command works from any
installation of the hub without extra packaging rules.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from hub.exceptions import ValidationError

#: a provider name is an entry-point name and part of a Python package name
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,30}$")

SETUP_CFG = """\
[metadata]
name = crm-hub-${dist}
version = 0.1.0
description = ${label} provider for the CRM integration hub
long_description = file: README.md
long_description_content_type = text/markdown

[options]
python_requires = >=3.11
packages = find:
install_requires =
    crm-hub

[options.packages.find]
include =
    hub_${name}
    hub_${name}.*

[options.entry_points]
crm_hub =
    ${name} = hub_${name}.hooks

[tool:pytest]
testpaths = tests
"""

PYPROJECT_TOML = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"
"""

README_MD = """\
# crm-hub-${dist}

The ${label} provider for the CRM integration hub.

    pip install -e .
    pytest
    hub plugins        # lists ${name}

See the hub's docs/writing-a-provider.md for the next steps.
"""

INIT_PY = '''\
"""The ${label} provider for the CRM integration hub (hooks in :mod:`hub_${name}.hooks`)."""
'''

HOOKS_PY = '''\
"""The ${label} provider's hooks.

The hub calls these hooks only for this provider's own accounts. Add a capability to
``CAPABILITIES`` once its hooks are implemented, and turn on the matching ``supports_*`` flag in
tests/test_conformance.py so the conformance suite tests it.
"""

from __future__ import annotations

from typing import Any, Callable

from hub.exceptions import AuthenticationFailed
from hub.plugins import hookimpl
from hub.types import AccountHandle, ConnectField, ConnectResult, ProviderContext, ProviderInfo

NAME = "${name}"

#: what this provider can do: hub.types.CALENDAR_READ, CALENDAR_WRITE (or CALENDAR for both), FREE_BUSY,
#: MAIL, SEND, PUSH, VIDEO
CAPABILITIES: frozenset[str] = frozenset()


@hookimpl
def hub_register_providers(register: Callable[[ProviderInfo], None]) -> None:
    """Tell the hub this provider exists and how an account connects."""
    register(ProviderInfo(
        name=NAME,
        label="${label}",
        capabilities=CAPABILITIES,
        connect_kind="form",
        connect_form=(
            ConnectField("email", "Email address", kind="email"),
            ConnectField("api_key", "API key", kind="password"),
        ),
    ))


@hookimpl
def hub_connect(context: ProviderContext, params: dict[str, Any]) -> ConnectResult | None:
    """Check the credentials from the connect form and return what the hub stores."""
    email = params.get("email", "").strip()
    api_key = params.get("api_key", "")
    # Replace this check with a call to ${label} that proves the key works for this address.
    if "@" not in email or not api_key:
        raise AuthenticationFailed(
            "${label} did not accept this email address and API key.",
            fix="Copy the API key from your ${label} settings page and try again.",
        )
    return ConnectResult(email=email, credentials={"api_key": api_key})


@hookimpl
def hub_disconnect(account: AccountHandle) -> bool | None:
    """Release what the account holds at ${label}; never block the disconnect."""
    return True
'''

TEST_CONFORMANCE_PY = '''\
"""The hub's conformance suite, run against the ${label} provider.

Turn a ``supports_*`` flag on when hooks.py declares that capability, and implement the methods of
the ``remote`` helper it needs (see hub.testing.conformance.Remote).
"""

import pytest

import hub_${name}.hooks
from hub.testing import ProviderTests
from hub.testing.conformance import Remote


class ${cls}Remote(Remote):
    """Edits made directly at ${label} (its API, or a local sandbox), the way another client makes them."""


class Test${cls}(ProviderTests):
    provider_name = "${name}"
    revokes_on_disconnect = False  # True once hub_disconnect revokes the credentials

    @pytest.fixture
    def provider_plugin(self):
        return hub_${name}.hooks

    @pytest.fixture
    def remote(self):
        return ${cls}Remote()

    @pytest.fixture
    def good_connect_params(self):
        return {"email": "tester@example.com", "api_key": "a-key-that-works"}

    @pytest.fixture
    def bad_connect_params(self):
        return {"email": "tester@example.com", "api_key": ""}
'''

#: path inside the package folder -> template
FILES: dict[str, str] = {
    "setup.cfg": SETUP_CFG,
    "pyproject.toml": PYPROJECT_TOML,
    "README.md": README_MD,
    "hub_${name}/__init__.py": INIT_PY,
    "hub_${name}/hooks.py": HOOKS_PY,
    "tests/test_conformance.py": TEST_CONFORMANCE_PY,
}


def create_provider(name: str, dest_dir: str | Path = ".", label: str | None = None) -> Path:
    """Write a new provider package ``crm-hub-<name>`` under ``dest_dir`` and return its folder.

    This is what ``hub new-provider NAME [--dest DIR] [--label LABEL]`` runs.

    :param name: the provider name (lower case letters, digits, ``_``), e.g. ``"acme"``; it becomes
        the entry-point name, the package ``hub_<name>`` and the distribution ``crm-hub-<name>``
        (underscores become dashes there).
    :param dest_dir: the folder to create the package folder in (created if missing).
    :param label: the name people see; ``name`` capitalised when omitted.
    :raises ValidationError: the name is not usable, or the package folder exists already.
    """
    if not NAME_PATTERN.match(name or ""):
        raise ValidationError(
            f"{name!r} cannot be a provider name.",
            fix="Use 2 to 31 lower-case letters, digits or underscores, starting with a letter (e.g. acme).",
            field="name",
        )
    label = label or name.replace("_", " ").title()
    if not label.isprintable() or any(c in label for c in "\"'\\$"):
        raise ValidationError(f"{label!r} cannot be a provider label.", fix="Leave out quotes, $ and backslashes.",
                              field="label")
    dist = name.replace("_", "-")  # distribution names use dashes; the package keeps underscores
    target = Path(dest_dir) / f"crm-hub-{dist}"
    if target.exists():
        raise ValidationError(f"{target} exists already.", fix="Choose another --dest folder or remove it first.")
    values = {
        "name": name,
        "dist": dist,
        "label": label,
        "cls": "".join(part.title() for part in name.split("_")),
    }
    for path, template in FILES.items():
        out = target / Template(path).substitute(values)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(Template(template).substitute(values), encoding="utf-8")
    return target
