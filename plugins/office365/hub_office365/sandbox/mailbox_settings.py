"""GET /me/mailboxSettings and its single-setting segments (``/me/mailboxSettings/timeZone`` …).

Graph serves a mailbox's settings only to a token holding ``MailboxSettings.Read`` or
``MailboxSettings.ReadWrite``; any other token gets Exchange's 403 ``ErrorAccessDenied``, as a token
without the scope does at Graph. ``timeZone`` is in the format the tenant's administrator chose —
Windows names by default, IANA names where configured — so the sandbox answers whatever name the
mailbox was given (:attr:`~hub_office365.sandbox.state.Mailbox.time_zone`).
"""

from __future__ import annotations

from werkzeug.routing import Rule
from werkzeug.wrappers import Request

from hub_office365.sandbox.errors import GraphError
from hub_office365.sandbox.odata import CONTEXT

#: the delegated scopes that may read mailbox settings (compared without case)
READ_SCOPES = {"mailboxsettings.read", "mailboxsettings.readwrite"}
#: the settings a single-setting request may name, as Graph spells them
SETTINGS = ("archiveFolder", "automaticRepliesSetting", "dateFormat", "delegateMeetingMessageDeliveryOptions",
            "language", "timeFormat", "timeZone", "userPurpose", "workingHours")
#: segments the server lower-cases before routing
KEYWORDS = {"mailboxsettings"} | {name.lower() for name in SETTINGS}


def _settings(box) -> dict:
    return {
        "archiveFolder": box.folder_id("archive"),
        "timeZone": box.time_zone,
        "automaticRepliesSetting": {
            "status": "disabled", "externalAudience": "all", "internalReplyMessage": "", "externalReplyMessage": "",
            "scheduledStartDateTime": {"dateTime": "2020-01-01T00:00:00.0000000", "timeZone": "UTC"},
            "scheduledEndDateTime": {"dateTime": "2020-01-02T00:00:00.0000000", "timeZone": "UTC"}},
        "language": {"locale": "en-US", "displayName": "English (United States)"},
        "workingHours": {"daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                         "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000",
                         "timeZone": {"name": box.time_zone}},
        "userPurpose": "user",
        "dateFormat": "M/d/yyyy",
        "timeFormat": "h:mm tt",
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateAndInformationToPrincipal",
    }


def _check_scope(state, request: Request) -> None:
    token = request.headers.get("Authorization", "")[7:].strip()
    if not state.token_scopes(token) & READ_SCOPES:
        raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")


def mailbox_settings(state, request: Request, box, setting: str | None = None) -> dict:
    """The whole settings object, or ``{"value": …}`` of one setting."""
    _check_scope(state, request)
    with state.lock:
        settings = _settings(box)
    context = CONTEXT + f"users('{box.email}')/mailboxSettings"
    if setting is None:
        return {"@odata.context": context, **settings}
    name = next(n for n in SETTINGS if n.lower() == setting)
    value = settings[name]
    if isinstance(value, dict):
        return {"@odata.context": f"{context}/{name}", **value}
    return {"@odata.context": f"{context}/{name}", "value": value}


def rules() -> list[Rule]:
    """URL rules (paths already lower-cased by the server)."""
    settings = ", ".join(name.lower() for name in SETTINGS)
    return [Rule("/v1.0/me/mailboxsettings", endpoint=mailbox_settings, methods=["GET"]),
            Rule(f"/v1.0/me/mailboxsettings/<any({settings}):setting>", endpoint=mailbox_settings, methods=["GET"])]
