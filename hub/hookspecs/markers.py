"""The pluggy markers of the contract: ``hookspec`` for the hooks here, ``hookimpl`` for plugins."""

import pluggy

PROJECT_NAME = "crm_hub"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: what a plugin marks its implementations with (also ``hub.hookimpl``)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
