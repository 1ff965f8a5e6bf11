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
from typing import Any, Iterable, cast

import pluggy
from pluggy import HookCaller, HookRelay

from hub import hookspecs
from hub.exceptions import ConfigError, NotSupported, ProviderError
from hub.types import ProviderInfo

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "crm_hub"
hookimpl = hookspecs.hookimpl


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

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.providers: dict[str, ProviderInfo] = {}
        self._provider_plugin: dict[str, str] = {}
        self._dists: dict[str, metadata.Distribution | None] = {}
        self._installed: dict[str, Any] = {}
        self.disabled: set[str] = set()
        #: one hook caller per (hook, plugin): the core calls only the plugin of the provider concerned
        self._callers: dict[tuple[str, str], HookCaller] = {}

    @property
    def hook(self) -> HookRelay:
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
        self._callers.clear()
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

            def register(info: ProviderInfo, _plugin: str = plugin_name) -> None:
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
        self._callers.clear()
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

    # --- calling providers ------------------------------------------------------------------------

    def call(self, hook_name: str, **kwargs: Any) -> Any:
        """Call a per-account hook on the one provider it concerns (named by ``account.provider`` or
        ``context.name``) and check its answer's type; no answer becomes :class:`NotSupported`."""
        result = self.maybe_call(hook_name, **kwargs)
        if result is None:
            raise NotSupported(f"The provider {self._provider_of(kwargs)!r} does not support "
                               f"{hook_name.removeprefix('hub_')}.")
        return result

    def maybe_call(self, hook_name: str, **kwargs: Any) -> Any:
        """Like :meth:`call`, for hooks whose ``None`` is an answer ("nothing to do")."""
        provider = self._provider_of(kwargs)
        plugin_name = self._provider_plugin.get(provider)
        if plugin_name is None or self.pm.is_blocked(plugin_name):
            return None
        result = self._caller(hook_name, plugin_name)(**kwargs)
        if result is not None:
            _check_answer(hook_name, plugin_name, result)
        return result

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call a broadcast hook on every plugin. An observer that raises is logged and skipped: a
        notification comes after the work is committed, and one faulty plugin must not fail it."""
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            try:
                impl.function(**{name: kwargs[name] for name in impl.argnames})
            except Exception:  # noqa: BLE001 - any plugin bug, logged with its name
                log.exception("plugin %r failed in %s", impl.plugin_name, hook_name)

    def _caller(self, hook_name: str, plugin_name: str) -> HookCaller:
        key = (hook_name, plugin_name)
        caller = self._callers.get(key)
        if caller is None:
            others = [plugin for name, plugin in self.pm.list_name_plugin() if name != plugin_name]
            caller = self._callers[key] = self.pm.subset_hook_caller(hook_name, remove_plugins=others)
        return caller

    @staticmethod
    def _provider_of(kwargs: dict[str, Any]) -> str:
        who = kwargs.get("account") or kwargs.get("context")
        return getattr(who, "provider", None) or getattr(who, "name", None) or "?"


def _check_answer(hook_name: str, plugin_name: str, result: Any) -> None:
    """Fail loudly, naming the plugin, when a hook answers with something its spec does not allow."""
    expected = _ANSWER_TYPES.get(hook_name)
    if expected is None:
        return
    outer, inner = expected
    ok = isinstance(result, outer) and (inner is None or all(isinstance(item, inner) for item in cast(list[Any], result)))
    if not ok:
        raise ProviderError(
            f"The plugin {plugin_name!r} answered {hook_name} with {type(result).__name__}, not "
            f"{outer.__name__}{f'[{inner.__name__}]' if inner else ''} as the contract says.",
            fix=f"This is a bug in the plugin {plugin_name!r}: report it to its authors.")


def _answer_types() -> dict[str, tuple[type, type | None]]:
    """Each firstresult hook's answer type, read from the hookspecs' return annotations."""
    import types
    import typing

    found: dict[str, tuple[type, type | None]] = {}
    for name in dir(hookspecs):
        spec = getattr(hookspecs, name)
        if not name.startswith("hub_") or not callable(spec):
            continue
        if not getattr(spec, f"{hookspecs.PROJECT_NAME}_spec", {}).get("firstresult"):
            continue  # broadcasts answer nothing the core uses
        answer = typing.get_type_hints(spec).get("return")
        options = [a for a in typing.get_args(answer) if a is not type(None)] if isinstance(
            answer, types.UnionType) else [answer]
        if len(options) != 1:
            continue
        origin = typing.get_origin(options[0])
        if origin is list:
            found[name] = (list, typing.get_args(options[0])[0])
        elif isinstance(options[0], type) and options[0] is not type(None):
            found[name] = (options[0], None)
    return found


_ANSWER_TYPES = _answer_types()
