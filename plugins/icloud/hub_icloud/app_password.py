"""Apple app-specific passwords: the shape check that catches "I typed my Apple ID password".

iCloud refuses the normal Apple ID password for CalDAV and IMAP; third-party apps need an
app-specific password, which Apple only offers once two-factor authentication is on. Such a
password is 16 lowercase letters shown as ``xxxx-xxxx-xxxx-xxxx``. Checking the shape before
talking to Apple gives the person the one explanation that helps, instead of "wrong password".
"""

from __future__ import annotations

import re

from hub.exceptions import AuthenticationFailed

_SHAPE = re.compile(r"[a-z]{4}-[a-z]{4}-[a-z]{4}-[a-z]{4}")

HOW_TO = (
    "Create an app-specific password: sign in at appleid.apple.com, open Sign-In and Security → "
    "App-Specific Passwords, choose '+', name it (e.g. 'CRM') and paste the password shown "
    "(xxxx-xxxx-xxxx-xxxx) here. Apple offers app-specific passwords only when two-factor "
    "authentication is turned on for your Apple ID."
)


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
