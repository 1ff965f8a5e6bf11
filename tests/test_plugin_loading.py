"""Plugin discovery: entry points, HUB_LOAD_PLUGINS, admin disable, and typos caught at start-up."""

from __future__ import annotations

import types

import pytest

from hub.app import create_app
from hub.exceptions import ConfigError, NotSupported
from hub.models import ProviderSetting
from hub.plugins import PluginManager, hookimpl


def test_separately_installed_plugin_is_found_through_its_entry_point():
    pm = PluginManager()
    pm.load(None)
    record = next(r for r in pm.records() if r.name == "testplugin")
    assert record.distribution == "crm-hub-testplugin" and record.version == "0.0.1"
    assert "testplugin" in pm.providers and pm.providers["testplugin"].can("calendar")


def test_load_plugins_names_what_loads():
    pm = PluginManager()
    pm.load("")
    assert "testplugin" not in pm.providers
    record = next(r for r in pm.records() if r.name == "testplugin")
    assert record.enabled is False


def test_load_plugins_with_an_unknown_name_fails_clearly():
    with pytest.raises(ConfigError) as err:
        PluginManager().load("testplugin,nosuchplugin")
    assert "nosuchplugin" in err.value.message


@pytest.fixture
def hub_load_plugins():
    return "testplugin"


def test_admin_disable_blocks_the_plugin_and_enable_restores_it(hub):
    handle_kwargs = {"context": hub.provider_context("testplugin"), "params": {"email": "a@x.test", "password": "right"}}
    assert hub.plugins.call("hub_connect", **handle_kwargs).email == "a@x.test"
    with hub.db.session() as s:
        s.add(ProviderSetting(name="testplugin", enabled=False))
    hub.refresh_disabled_providers()
    assert "testplugin" not in hub.plugins.enabled_providers()
    assert hub.plugins.pm.hook.hub_connect(**handle_kwargs) is None  # its hooks no longer run
    with pytest.raises(NotSupported):
        hub.plugins.provider("testplugin")
    with hub.db.session() as s:
        s.get(ProviderSetting, "testplugin").enabled = True
    hub.refresh_disabled_providers()
    assert hub.plugins.call("hub_connect", **handle_kwargs).email == "a@x.test"


def test_a_misspelt_hook_fails_start_up_with_a_clear_message(hub):
    typo = types.SimpleNamespace()

    @hookimpl
    def hub_list_calendar(account):  # missing "s"
        return []

    typo.hub_list_calendar = hub_list_calendar
    with pytest.raises(ConfigError) as err:
        create_app({"instance_path": hub.settings.instance_path, "database_url": hub.settings.database_url,
                    "keys": hub.settings.keys, "load_plugins": ""}, extra_plugins=[("typo", typo)])
    assert "hub_list_calendar" in err.value.message and "unknown hook" in err.value.message


def test_a_hookimpl_with_a_wrong_argument_is_refused():
    bad = types.SimpleNamespace()

    @hookimpl
    def hub_list_calendars(acount):  # misspelt argument
        return []

    bad.hub_list_calendars = hub_list_calendars
    with pytest.raises(ConfigError) as err:
        PluginManager().load("", extra=[("bad", bad)])
    assert "acount" in err.value.message


def test_two_plugins_registering_one_provider_name_is_an_error():
    from hub_testplugin import hub_register_providers

    clone = types.SimpleNamespace(hub_register_providers=hookimpl(lambda register: hub_register_providers(register)))
    with pytest.raises(ConfigError) as err:
        PluginManager().load("testplugin", extra=[("clone", clone)])
    assert "testplugin" in err.value.message
