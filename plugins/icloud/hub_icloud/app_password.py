"""Apple app-specific passwords: the shape check that catches "I typed my Apple ID password".

iCloud refuses the normal Apple ID password for CalDAV and IMAP; third-party apps need an
app-specific password, which Apple only offers once two-factor authentication is on. Such a
password is 16 lowercase letters shown as ``xxxx-xxxx-xxxx-xxxx``. Checking the shape before
talking to Apple gives the person the one explanation that helps, instead of "wrong password".
"""

from __future__ import annotations

import re

from hub.exceptions import AuthenticationFailed

from hub_caldav.presets import APPLE_APP_PASSWORD_HOW_TO as HOW_TO

_SHAPE = re.compile(r"[a-z]{4}-[a-z]{4}-[a-z]{4}-[a-z]{4}")


def normalize(password: str) -> str:
    """Return ``password`` in Apple's ``xxxx-xxxx-xxxx-xxxx`` form, forgiving spaces and case.

    :raises AuthenticationFailed: the value cannot be an app-specific password; the fix explains
        how to create one. The password itself never appears in the message.
    """
    letters = re.sub(r"[\s-]", "", password or "").lower()
    candidate = "-".join(letters[i:i + 4] for i in range(0, len(letters), 4))
    if not _SHAPE.fullmatch(candidate):
        raise AuthenticationFailed(
            "This is not an app-specific password. iCloud does not accept your Apple ID password "
            "for other apps.",
            fix=HOW_TO,
        )
    return candidate
