"""The demo-mode banner: every page of ``hub demo`` says it is a demo, that its data is reset at each
start, and the one step to real use (``hub demo`` sets ``HUB_DEMO`` for itself and its children)."""

from __future__ import annotations

import os

from flask import Flask

DEMO_ENV = "HUB_DEMO"


def demo_mode() -> bool:
    return os.environ.get(DEMO_ENV) == "1"


def init_app(app: Flask) -> None:
    app.context_processor(lambda: {"demo_mode": demo_mode()})
