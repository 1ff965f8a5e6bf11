"""Waiting in tests: for an event, never for a fixed time, with one patience for the whole suite.

Something that normally takes milliseconds may take seconds on two busy cores (a second test run, a
build, CI); every wait in the suite uses :data:`PATIENCE` so that one setting — ``HUB_TEST_PATIENCE``
seconds, default 60 — decides how long a test keeps waiting before it fails.
"""

from __future__ import annotations

import os
import time
from typing import Callable, TypeVar

T = TypeVar("T")

#: seconds a test waits for something that should happen before it calls it a failure
PATIENCE = float(os.environ.get("HUB_TEST_PATIENCE", "60"))


def wait_until(predicate: Callable[[], T], timeout: float | None = None, what: str = "the condition",
               interval: float = 0.02) -> T:
    """Poll ``predicate`` until it returns something true and return that; fail after ``timeout``
    (default :data:`PATIENCE`) naming ``what`` was awaited."""
    deadline = time.monotonic() + (PATIENCE if timeout is None else timeout)
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {PATIENCE if timeout is None else timeout:.0f} s for {what}")
        time.sleep(interval)
