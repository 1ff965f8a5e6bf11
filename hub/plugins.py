"""The plugin manager: finds provider plugins, validates them, and answers which providers exist.

Plugins are found through the ``crm_hub`` entry-point group — the hub's own providers exactly like
third-party ones. ``HUB_LOAD_PLUGINS`` (comma list; empty = none) narrows what loads; providers an
administrator disabled are blocked with ``pm.set_blocked`` so their hooks never run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any, Iterable

import pluggy

from hub import hookspecs
from hub.exceptions import ConfigError, NotSupported
from hub.types import ProviderInfo

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "crm_hub"
hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT_NAME)


@dataclass(frozen=True)
class PluginRecord:
    """An installed plugin as ``hub plugins`` and the admin page show it."""

    name: str
    distribution: str | None
    version: str | None
    providers: tuple[ProviderInfo, ...]
    enabled: bool


class PluginManager:
    """The hub's pluggy manager plus the registry of providers plugins registered."""

    def __init__(self):
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.providers: dict[str, ProviderInfo] = {}
        self._provider_plugin: dict[str, str] = {}
        self._dists: dict[str, metadata.Distribution | None] = {}
        self._installed: dict[str, Any] = {}
        self.disabled: set[str] = set()

    @property
    def hook(self):
        return self.pm.hook

    # --- loading -------------------------------------------------------------------------------

    def load(self, load_plugins: str | None, extra: Iterable[tuple[str, ModuleType | object]] = ()) -> None:
        """Register entry-point plugins (filtered by ``load_plugins``) and ``extra`` ones.

        :param load_plugins: ``None`` loads every installed plugin; otherwise a comma list of names.
        :param extra: ``(name, plugin)`` pairs registered directly (tests, embedding apps).
        """
        wanted = None if load_plugins is None else {n.strip() for n in load_plugins.split(",") if n.strip()}
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in self._installed:
                continue
            self._dists[ep.name] = ep.dist
            if wanted is not None and ep.name not in wanted:
                self._installed[ep.name] = None
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plugin must say which one it is
                raise ConfigError(
                    f"The plugin {ep.name!r} ({ep.value}) failed to import: {exc}",
                    fix=f"Reinstall or uninstall the package that provides {ep.name!r}.",
                ) from exc
            self._register(ep.name, plugin)
        for name, plugin in extra:
            self._dists.setdefault(name, None)
            self._register(name, plugin)
        if wanted:
            missing = wanted - set(self._installed)
            if missing:
                raise ConfigError(
                    f"HUB_LOAD_PLUGINS names plugins that are not installed: {', '.join(sorted(missing))}.",
                    fix="Install them, or remove them from HUB_LOAD_PLUGINS.",
                )
        self.check()
        self._collect_providers()

    def _register(self, name: str, plugin: Any) -> None:
        try:
            self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise ConfigError(f"The plugin {name!r} is invalid: {exc}") from exc
        self._installed[name] = plugin

    def check(self) -> None:
        """Fail start-up when a plugin implements a hook that does not exist (a typo)."""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise ConfigError(
                f"A plugin implements an unknown hook: {exc}",
                fix="Check the hook name against docs/hooks.md (hooks start with hub_).",
            ) from exc

    def _collect_providers(self) -> None:
        self.providers.clear()
        self._provider_plugin.clear()
        for impl in self.pm.hook.hub_register_providers.get_hookimpls():
            plugin_name = self.pm.get_name(impl.plugin)

            def register(info: ProviderInfo, _plugin=plugin_name) -> None:
                if not isinstance(info, ProviderInfo):
                    raise ConfigError(f"Plugin {_plugin!r} registered something that is not a ProviderInfo.")
                if info.name in self.providers:
                    raise ConfigError(f"Two plugins register the provider {info.name!r}.")
                self.providers[info.name] = info
                self._provider_plugin[info.name] = _plugin

            impl.function(register=register)

    # --- enable / disable ------------------------------------------------------------------------

    def apply_disabled(self, disabled: Iterable[str]) -> None:
        """Block the plugins of providers an administrator disabled (and unblock the others)."""
        self.disabled = set(disabled)
        for provider, plugin_name in self._provider_plugin.items():
            if provider in self.disabled and not self.pm.is_blocked(plugin_name):
                self.pm.set_blocked(plugin_name)
        # pluggy cannot unblock a name; a re-enabled plugin is registered again
        for plugin_name, plugin in self._installed.items():
            providers = [p for p, n in self._provider_plugin.items() if n == plugin_name]
            if plugin is not None and providers and not (set(providers) & self.disabled):
                if self.pm.is_blocked(plugin_name):
                    self.pm.unblock(plugin_name)
                    self.pm.register(plugin, name=plugin_name)

    def enabled_providers(self) -> dict[str, ProviderInfo]:
        return {n: p for n, p in self.providers.items() if n not in self.disabled}

    def provider(self, name: str) -> ProviderInfo:
        """The enabled provider called ``name``, or a NotSupported error a person can read."""
        info = self.providers.get(name)
        if info is None:
            raise NotSupported(f"No provider called {name!r} is installed.", fix="Ask an administrator to install it.")
        if name in self.disabled:
            raise NotSupported(f"The provider {info.label} is disabled.", fix="Ask an administrator to enable it.")
        return info

    def records(self) -> list[PluginRecord]:
        out = []
        for name in sorted(self._installed):
            dist = self._dists.get(name)
            providers = tuple(self.providers[p] for p, n in self._provider_plugin.items() if n == name)
            out.append(
                PluginRecord(
                    name=name,
                    distribution=dist.metadata["Name"] if dist else None,
                    version=dist.version if dist else None,
                    providers=providers,
                    enabled=self._installed[name] is not None and not (
                        providers and set(p.name for p in providers) <= self.disabled
                    ),
                )
            )
        return out

    def call(self, hook_name: str, **kwargs: Any) -> Any:
        """Call a firstresult hook; ``None`` (no plugin answered) becomes NotSupported."""
        result = getattr(self.pm.hook, hook_name)(**kwargs)
        if result is None:
            who = kwargs.get("account") or kwargs.get("context")
            provider = getattr(who, "provider", None) or getattr(who, "name", "?")
            raise NotSupported(f"The provider {provider!r} does not support {hook_name.removeprefix('hub_')}.")
        return result
