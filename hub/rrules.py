"""What an RRULE must hold before anything expands it (RFC 5545 §3.3.10).

Expanders loop without end on some broken rules (``INTERVAL=0`` makes dateutil repeat one instant for
ever), so the engine and the plugins check every rule here first and report the object instead.
"""

from __future__ import annotations

import icalendar

FREQUENCIES = frozenset({"SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"})


def rule_problem(value: str) -> str | None:
    """Why the RRULE value (``FREQ=…;…``, or a whole ``RRULE:…`` line) cannot be expanded, or ``None``."""
    if value.upper().startswith("RRULE"):
        value = value.partition(":")[2]
    try:
        parts = icalendar.vRecur.from_ical(value)
    except (ValueError, TypeError) as exc:
        return f"the repeat rule cannot be read ({str(exc)[:80]})"
    freq = [str(f).upper() for f in parts.get("FREQ", [])]
    if len(freq) != 1 or freq[0] not in FREQUENCIES:
        return f"the repeat rule has an unknown frequency ({','.join(freq) or 'none'})"
    for name in ("INTERVAL", "COUNT"):
        for number in parts.get(name, []):
            if not isinstance(number, int) or number < 1:
                return f"the repeat rule's {name} must be a positive number ({number})"
    return None
