"""A provider that accepts the password "right" and has one empty calendar."""

from hub.exceptions import AuthenticationFailed, AuthExpired
from hub.plugins import hookimpl
from hub.types import ConnectField, ConnectResult, EventPage, ProviderInfo, RemoteCalendar

NAME = "testplugin"


@hookimpl
def hub_register_providers(register):
    register(ProviderInfo(
        name=NAME, label="Test provider", capabilities=frozenset({"calendar"}), connect_kind="form",
        connect_form=(ConnectField("email", "Email", kind="email"), ConnectField("password", "Password", kind="password")),
    ))


@hookimpl
def hub_connect(context, params):
    if params.get("password") != "right":
        raise AuthenticationFailed("Authentication failed. Please try again.", fix="The password is 'right'.")
    return ConnectResult(email=params["email"], credentials={"password": params["password"]})


@hookimpl
def hub_list_calendars(account):
    if account.credentials.get("password") != "right":
        raise AuthExpired("The password changed.")
    return [RemoteCalendar(remote_id="cal-1", name="Work", is_primary=True)]


@hookimpl
def hub_fetch_events(account, calendar_id, cursor, window):
    return EventPage(next_cursor="empty", done=True)  # a calendar with nothing on it


@hookimpl
def hub_disconnect(account):
    return True if account.provider == NAME else None
