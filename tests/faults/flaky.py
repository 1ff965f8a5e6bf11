"""The Google and Microsoft sandboxes with faults at a *rate*, through the sandboxes' own fault knobs.

The sandboxes' knobs fire a fault on the next N matching requests; these subclasses draw one at
random for a share of API requests instead, so a whole sync runs under a steady 15–20 % of 500s,
503s, 429s with ``Retry-After``, answers held back past the client's timeout and (Google) answers
lost after the change was made. The error bodies are the sandboxes' own, i.e. the providers' real
shapes. Explicitly injected faults still come first.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass

from hub_google.sandbox.faults import Fault as GoogleFault
from hub_google.sandbox.faults import FaultPlan
from hub_google.sandbox.state import SandboxState as GoogleState
from hub_office365.sandbox.state import Fault as GraphFault
from hub_office365.sandbox.state import SandboxState as GraphState

#: the plugins are configured with a 1 s timeout in these tests; a held-back answer outlasts it. This is a
#: fault knob, not the suite's patience: on a busy machine more answers outlast it, which only raises the
#: fault rate the engine must survive (the sandboxes do not count a client that hung up as a failure)
CLIENT_TIMEOUT = 1
HELD_BACK = 1.4


class RandomRate:
    """A thread-safe, seeded dice with a rate that tests turn up and down."""

    def __init__(self, rate: float = 0.0, seed: int = 11):
        self.rate = rate
        self.random = random.Random(seed)
        self.drawn: Counter = Counter()
        self._lock = threading.Lock()

    def draw(self, kinds: tuple[str, ...]) -> str | None:
        with self._lock:
            if self.rate <= 0 or self.random.random() >= self.rate:
                return None
            kind = self.random.choice(kinds)
            self.drawn[kind] += 1
            return kind


class RandomGoogleFaults(FaultPlan):
    """Google's fault plan plus random faults on the Calendar, Gmail and token endpoints."""

    KINDS = ("500", "503", "429", "timeout", "lost_answer")
    API = ("/calendar/", "/gmail/", "/token")

    def __init__(self, dice: RandomRate):
        super().__init__()
        self.dice = dice

    def take(self, method: str, path: str) -> GoogleFault | None:
        explicit = super().take(method, path)
        if explicit is not None or not path.startswith(self.API):
            return explicit
        kind = self.dice.draw(self.KINDS)
        if kind is None:
            return None
        if kind == "timeout":
            return GoogleFault(kind=None, delay=HELD_BACK)
        if kind == "lost_answer":  # the change is made, then the answer is a 503: the client must not repeat it
            return GoogleFault(kind="503", after=True)
        return GoogleFault(kind=kind, retry_after=1 if kind == "429" else None)


class FlakyGoogleState(GoogleState):
    """Google's sandbox state whose faults come at ``dice.rate``."""

    def __init__(self, dice: RandomRate):
        super().__init__()
        self.faults = RandomGoogleFaults(dice)


class FlakyGraphState(GraphState):
    """Microsoft's sandbox state whose Graph requests fail at ``dice.rate``."""

    KINDS = ("500", "503", "429", "timeout")

    def __init__(self, dice: RandomRate):
        super().__init__()
        self.dice = dice

    def take_fault(self, method: str, path: str) -> GraphFault | None:
        explicit = super().take_fault(method, path)
        if explicit is not None:
            return explicit
        kind = self.dice.draw(self.KINDS)
        if kind is None:
            return None
        if kind == "timeout":
            return GraphFault("timeout", status=504, delay=HELD_BACK)
        return GraphFault("status", status=int(kind), retry_after=1 if kind == "429" else None)


#: seconds :func:`slow_down` holds a request by default; a test's kill or outage comes long before
SLOW = 8.0


@dataclass
class NthRequest(GoogleFault):
    """A fault on the ``skip + 1``-th request to exactly ``path`` (Google's knob matches path prefixes and
    fires on the first matching requests)."""

    skip: int = 0

    def matches(self, method: str, path: str) -> bool:
        if path != self.path or not super().matches(method, path):
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        return True


def slow_down(google, path: str, method: str, skip: int, delay: float = SLOW) -> NthRequest:
    """Hold the ``skip + 1``-th ``method`` request to exactly ``path`` for ``delay`` seconds (then answer it)."""
    return google.state.faults.add(NthRequest(kind=None, times=1, path=path, method=method, delay=delay, skip=skip))
