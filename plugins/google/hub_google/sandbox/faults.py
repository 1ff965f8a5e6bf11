"""Fault injection: the sandbox's knobs for rate limits, server errors and slow answers.

A :class:`Fault` matches requests by path prefix and method and fires a given number of times
(or until cleared). It either answers an error with Google's body for that error, or sleeps first
(to trip the client's timeout) and then lets the request through — or both.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from hub_google.sandbox.errors import GoogleError

#: the bodies Google sends for the errors a client must treat as "slow down" or "try again"
KINDS = {
    "429": (429, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    "rateLimitExceeded": (403, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    "userRateLimitExceeded": (403, "usageLimits", "userRateLimitExceeded", "User Rate Limit Exceeded"),
    "quotaExceeded": (403, "usageLimits", "quotaExceeded", "Calendar usage limits exceeded."),
    "500": (500, "global", "backendError", "Backend Error"),
    "502": (502, "global", "backendError", "Bad Gateway"),
    "503": (503, "global", "backendError", "Service unavailable"),
}


@dataclass
class Fault:
    """One injected fault.

    :param kind: a key of :data:`KINDS`, or ``None`` for a delay-only fault.
    :param times: how many matching requests it hits; ``None`` = until cleared.
    :param path: only requests whose path starts with this (``/calendar/``, ``/gmail/``, ``/token``).
    :param method: only this HTTP method.
    :param delay: seconds to sleep before answering (simulates a hung server).
    :param retry_after: value of the ``Retry-After`` header, if any.
    :param after: let the request do its work first, then answer the error (or sleep): the change
        is made but the client never hears of it — a lost answer, the case idempotency is for.
    """

    kind: str | None = "429"
    times: int | None = 1
    path: str | None = None
    method: str | None = None
    delay: float = 0.0
    retry_after: float | None = None
    after: bool = False
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault hits a request."""
        if path.startswith("/_sandbox"):
            return False
        if self.path is None and path.startswith("/o/oauth2"):
            return False  # the consent page is a person's browser, not an API client
        if self.path and not path.startswith(self.path):
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return self.times is None or self.hits < self.times

    def error(self) -> GoogleError | None:
        """The Google error this fault answers with, if any."""
        if self.kind is None:
            return None
        code, domain, reason, message = KINDS[self.kind]
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(int(self.retry_after) if float(self.retry_after).is_integer()
                                         else self.retry_after)
        return GoogleError(code, reason, message, domain=domain, headers=headers)


class FaultPlan:
    """The list of active faults; thread-safe, first match wins."""

    def __init__(self):
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        """Add a fault."""
        if fault.kind is not None and fault.kind not in KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}; use one of {sorted(KINDS)}")
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching this request (counted as hit), or None."""
        with self._lock:
            fault = next((f for f in self._faults if f.matches(method, path)), None)
            if fault is not None:
                fault.hits += 1
            return fault

    @staticmethod
    def fire(fault: Fault | None) -> None:
        """Sleep and/or raise as ``fault`` says."""
        if fault is None:
            return
        if fault.delay:
            time.sleep(fault.delay)
        error = fault.error()
        if error is not None:
            raise error
