"""Requirements of a plugin that builds on another plugin of this checkout, for its setup.py.

The plugins are not on a package index, so a bare ``crm-hub-caldav`` in ``plugins/icloud/setup.cfg``
cannot be resolved by ``pip install plugins/icloud`` alone. :func:`install_requires` reads the
plugin's setup.cfg requirements and turns each sibling plugin that is **not installed yet** into a
PEP 508 direct reference to its folder in this checkout (``crm-hub-caldav @ file:///…/plugins/caldav``),
so pip installs it from here. A sibling that is installed keeps its bare name: pip would otherwise
replace an editable install of it with a copy.

pip refuses an editable requirement and a direct reference to the same project in one resolution,
so a single pip command that installs a sibling editable *and* a plugin that builds on it fails;
``dev.py`` therefore installs the plugins that others build on first (see its ``install``).

Built from an sdist (no checkout around it) a plugin keeps the bare names, as an index would serve them.
"""

from __future__ import annotations

import configparser
import re
import site
import sysconfig
from importlib import metadata
from pathlib import Path

PLUGINS = Path(__file__).resolve().parent


def siblings() -> dict[str, Path]:
    """Distribution name → folder, for every plugin in this checkout."""
    found = {}
    for setup_cfg in sorted(PLUGINS.glob("*/setup.cfg")):
        config = configparser.ConfigParser()
        config.read(setup_cfg)
        found[config.get("metadata", "name")] = setup_cfg.parent
    return found


def declared(plugin: Path) -> list[str]:
    """The ``install_requires`` lines of a plugin's setup.cfg."""
    config = configparser.ConfigParser()
    config.read(plugin / "setup.cfg")
    return [line.strip() for line in config.get("options", "install_requires").splitlines() if line.strip()]


def installed(name: str) -> bool:
    # pip builds in an isolated environment whose sys.path leaves out the target's site-packages,
    # so look where this interpreter installs (a venv's, else the system's and the user's)
    paths = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    if site.ENABLE_USER_SITE:
        paths.add(site.getusersitepackages())
    return any(True for _ in metadata.distributions(name=name, path=sorted(paths)))


def install_requires(plugin: Path) -> list[str]:
    """The plugin's setup.cfg requirements, siblings not installed yet as references to their folders."""
    plugin = plugin.resolve()
    local = siblings()
    requirements = []
    for line in declared(plugin):
        name = re.match(r"[A-Za-z0-9._-]+", line).group(0)
        folder = local.get(name)
        if folder is None or folder == plugin or installed(name):
            requirements.append(line)
        else:  # a direct reference carries no version, only the marker
            marker = line.partition(";")[2].strip()
            requirements.append(f"{name} @ {folder.as_uri()}" + (f" ; {marker}" if marker else ""))
    return requirements
