"""The sandbox's own HTTP API under ``/_sandbox/`` — the knobs of :class:`SandboxState` over HTTP.

For tests in another process and for ``hub demo``: inject faults, revoke grants, expire sync
tokens and history ids, make changes as another Google client would, deliver mail, and read what
the sandbox sent (invitations, outbound mail, push deliveries). Not part of Google's API.
"""

from __future__ import annotations

from dataclasses import asdict

from hub_google.sandbox.errors import bad_request, not_found
from hub_google.sandbox.routing import Call, Route

BASE = "/_sandbox"


def summary(call: Call):
    """Users, calendars and channels at a glance."""
    state = call.state
    return {
        "users": [{"email": u.email, "name": u.name, "calendars": list(u.calendar_list),
                   "messages": len(u.mailbox.messages), "history_id": u.mailbox.history_id}
                  for u in state.users.values()],
        "calendars": {c.id: {"summary": c.summary, "events": len(c.events), "version": c.version}
                      for c in state.calendars.values()},
        "channels": [c.as_json() | {"address": c.address, "stopped": c.stopped}
                     for c in state.channels.channels.values()],
    }


def add_user(call: Call):
    """Create a sandbox user."""
    body = call.json()
    if "@" not in (body.get("email") or ""):
        raise bad_request("email is required")
    user = call.state.add_user(body["email"], body.get("name", ""), body.get("time_zone", "UTC"))
    return {"email": user.email, "name": user.name}


def _known(call: Call, email: str):
    try:
        return call.state.user(email)
    except KeyError:
        raise not_found(f"no sandbox user {email}") from None


def faults(call: Call):
    """POST adds a fault (body: Fault's fields), DELETE clears them."""
    if call.request.method == "DELETE":
        call.state.clear_faults()
        return None
    body = call.json()
    try:
        fault = call.state.inject(body.get("kind", "429"), body.get("times", 1), body.get("path"), body.get("method"),
                                  float(body.get("delay", 0)), body.get("retry_after"), bool(body.get("after")))
    except (ValueError, TypeError) as exc:
        raise bad_request(str(exc)) from None
    return asdict(fault)


def revoke(call: Call):
    """Revoke every grant of a user."""
    email = call.json().get("email", "")
    _known(call, email)
    return {"revoked": call.state.revoke_grants(email)}


def expire_access_tokens(call: Call):
    """Make access tokens expire now."""
    call.state.expire_access_tokens(call.json().get("email"))
    return None


def expire_sync_tokens(call: Call):
    """Expire Calendar sync tokens."""
    call.state.expire_sync_tokens(call.json().get("calendar_id"))
    return None


def expire_history(call: Call):
    """Expire Gmail history ids."""
    call.state.expire_history(call.json().get("email"))
    return None


def event_create(call: Call, email: str, calendar_id: str):
    """Create an event as another Google client."""
    _known(call, email)
    body = call.json()
    return call.state.create_event(email, calendar_id, body, event_id=body.pop("id", None))


def event_change(call: Call, email: str, calendar_id: str, event_id: str):
    """PATCH or DELETE an event as another Google client."""
    _known(call, email)
    if call.request.method == "DELETE":
        call.state.delete_event(email, calendar_id, event_id)
        return None
    return call.state.update_event(email, calendar_id, event_id, call.json(), replace=False)


def deliver(call: Call, email: str):
    """Deliver an RFC 822 message (the request body)."""
    _known(call, email)
    labels = tuple((call.arg("labels") or "INBOX,UNREAD").split(","))
    message = call.state.deliver_mail(email, call.request.get_data(), labels)
    return {"id": message.id, "threadId": message.thread_id, "historyId": str(message.history_id)}


def invitations(call: Call):
    """The invitation mails Google would have sent."""
    return {"invitations": call.state.invitations}


def outbound(call: Call):
    """Mail sent to addresses outside the sandbox."""
    return {"messages": [{"from": m["from"], "to": m["to"], "raw": m["raw"].decode("utf-8", "replace")}
                         for m in call.state.outbound]}


def deliveries(call: Call):
    """Push notification attempts and their outcome."""
    return {"deliveries": [asdict(d) for d in call.state.notifier.deliveries]}


ROUTES = [
    Route(f"{BASE}/state", ("GET",), summary, None, None),
    Route(f"{BASE}/users", ("POST",), add_user, None, None),
    Route(f"{BASE}/faults", ("POST", "DELETE"), faults, None, None),
    Route(f"{BASE}/revoke", ("POST",), revoke, None, None),
    Route(f"{BASE}/expire-access-tokens", ("POST",), expire_access_tokens, None, None),
    Route(f"{BASE}/expire-sync-tokens", ("POST",), expire_sync_tokens, None, None),
    Route(f"{BASE}/expire-history", ("POST",), expire_history, None, None),
    Route(f"{BASE}/users/<email>/calendars/<calendar_id>/events", ("POST",), event_create, None, None),
    Route(f"{BASE}/users/<email>/calendars/<calendar_id>/events/<event_id>", ("PATCH", "DELETE"), event_change,
          None, None),
    Route(f"{BASE}/users/<email>/messages", ("POST",), deliver, None, None),
    Route(f"{BASE}/invitations", ("GET",), invitations, None, None),
    Route(f"{BASE}/outbound", ("GET",), outbound, None, None),
    Route(f"{BASE}/deliveries", ("GET",), deliveries, None, None),
]
