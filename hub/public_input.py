"""What strangers type: one set of checks for every public input (the booking form and the booking API).

Every value is capped in length and refused when it holds control characters (CR/LF would end up in
iCalendar and mail headers); addresses are checked by ``email-validator`` for syntax only (no DNS
lookup: a guest's domain is not ours to probe from a web request).

Public API: :data:`MAX_NAME`, :data:`MAX_EMAIL`, :data:`MAX_ZONE`, :func:`clean_text`,
:func:`clean_email`, :func:`clean_phone`.
"""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

from hub.exceptions import ValidationError

MAX_NAME = 200
#: RFC 5321's limit for a forward path (what any mail server accepts)
MAX_EMAIL = 254
MAX_ZONE = 64
MAX_PHONE = 32
#: what people write in a phone number: an optional +, digits, spaces and the usual separators
_PHONE = re.compile(r"^\+?[0-9 ()./-]+$")


def _has_control(value: str) -> bool:
    # Unicode category C*: controls (CR, LF, NUL …), format characters (bidi overrides), unassigned
    return any(unicodedata.category(ch).startswith("C") for ch in value)


def clean_text(value: object, field: str, label: str, max_length: int = MAX_NAME, required: bool = True) -> str:
    """``value`` trimmed; refused when missing (if ``required``), too long, or holding control characters."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        if required:
            raise ValidationError(f"Please enter {label}.", field=field)
        return ""
    if len(text) > max_length:
        raise ValidationError(f"{label[0].upper()}{label[1:]} is too long (at most {max_length} characters).",
                              field=field)
    if _has_control(text):
        raise ValidationError(f"{label[0].upper()}{label[1:]} contains characters that are not allowed "
                              "(line breaks or other control characters).", field=field)
    return text


def clean_email(value: object, field: str = "email") -> str:
    """A syntactically valid address, lower-cased, or ValidationError."""
    text = clean_text(value, field, "your email address", MAX_EMAIL)
    try:
        # test_environment: the reserved .test domain is allowed (demo data and test peers use it)
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=True, test_environment=True)
    except EmailNotValidError as exc:
        raise ValidationError(f"Please enter a valid email address ({exc}).", field=field) from None
    return checked.normalized.lower()


def clean_phone(value: object, field: str = "phone", required: bool = True) -> str:
    """A phone number as written (``+49 30 1234567``, ``(555) 123-4567``): 5 to 15 digits (E.164's
    maximum), an optional leading + and spaces, dots, dashes, slashes or brackets; or ValidationError."""
    text = clean_text(value, field, "a phone number", MAX_PHONE, required)
    if not text:
        return ""
    digits = sum(ch.isdigit() for ch in text)
    if not _PHONE.match(text) or not 5 <= digits <= 15:
        raise ValidationError("Please enter a phone number with 5 to 15 digits, like +49 30 1234567.", field=field)
    return text
