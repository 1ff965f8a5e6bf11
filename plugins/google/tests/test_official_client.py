"""Google's own client libraries as the sandbox's oracle.

google-api-python-client builds its requests from the discovery documents bundled in the package
(``static_discovery=True``, nothing fetched), google-auth refreshes tokens and google-auth-oauthlib
runs the authorization-code exchange. Every operation the plugin uses goes through them: a request
the official client sends that the sandbox refuses, or an answer it cannot parse, fails here.
"""

from __future__ import annotations

import base64
import io
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import google.auth.transport.requests
import pytest
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload

from hub_google.sandbox.state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from hub_google.testing import SANDBOX_USER, approve

SCOPES = ["openid", "https://www.googleapis.com/auth/userinfo.email", "https://www.googleapis.com/auth/calendar",
          "https://www.googleapis.com/auth/gmail.readonly", "https://www.googleapis.com/auth/gmail.send"]
REDIRECT = "http://127.0.0.1:9/callback"


@pytest.fixture
def credentials(google_sandbox) -> Credentials:
    """Credentials from google-auth-oauthlib's code flow against the sandbox's consent page and token endpoint."""
    config = {"web": {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET,
                      "auth_uri": f"{google_sandbox.url}/o/oauth2/v2/auth", "token_uri": f"{google_sandbox.url}/token",
                      "redirect_uris": [REDIRECT]}}
    flow = Flow.from_client_config(config, scopes=SCOPES, redirect_uri=REDIRECT, autogenerate_code_verifier=True)
    url, _ = flow.authorization_url(access_type="offline", prompt="consent", include_granted_scopes="true")
    answer = approve(url, SANDBOX_USER)
    flow.fetch_token(code=answer["code"])
    return flow.credentials


def _service(credentials, name: str, version: str, endpoint: str):
    """The client built from its bundled discovery document; ``endpoint`` replaces rootUrl + servicePath."""
    return build(name, version, credentials=credentials, static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": endpoint})


@pytest.fixture
def calendar(google_sandbox, credentials):
    return _service(credentials, "calendar", "v3", google_sandbox.url + "/calendar/v3/")


@pytest.fixture
def gmail(google_sandbox, credentials):
    return _service(credentials, "gmail", "v1", google_sandbox.url + "/")


def _over_http(request):
    """The client keeps https for media uploads when the endpoint is overridden (it swaps only the host):
    the request stays exactly as built, only its scheme follows the plain-http sandbox."""
    request.uri = request.uri.replace("https://", "http://", 1)
    return request


def _slot(days: int, hour: int) -> dict:
    moment = (datetime.now(timezone.utc) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return {"dateTime": moment.isoformat(), "timeZone": "Europe/Berlin"}


def test_token_exchange_and_refresh(google_sandbox, credentials):
    assert credentials.token and credentials.refresh_token and set(SCOPES) <= set(credentials.granted_scopes)
    first = credentials.token
    credentials.refresh(google.auth.transport.requests.Request())
    assert credentials.token != first and credentials.valid


def test_calendar_list_and_events_with_page_and_sync_tokens(google_sandbox, calendar):
    for i in range(5):
        google_sandbox.state.create_event(SANDBOX_USER, SANDBOX_USER, {
            "summary": f"e{i}", "start": _slot(2, 8 + i), "end": _slot(2, 9 + i)})
    entries = calendar.calendarList().list(maxResults=1).execute()["items"]
    assert [e["id"] for e in entries] == [SANDBOX_USER]
    request, items, sync_token = calendar.events().list(calendarId="primary", maxResults=2), [], None
    while request is not None:
        page = request.execute()
        items += page["items"]
        sync_token = page.get("nextSyncToken", sync_token)
        request = calendar.events().list_next(request, page)
    assert sorted(i["summary"] for i in items) == [f"e{i}" for i in range(5)] and sync_token
    google_sandbox.state.create_event(SANDBOX_USER, SANDBOX_USER, {"summary": "new", "start": _slot(3, 8),
                                                                    "end": _slot(3, 9)})
    changes = calendar.events().list(calendarId="primary", syncToken=sync_token).execute()
    assert [i["summary"] for i in changes["items"]] == ["new"] and changes["nextSyncToken"]


def test_insert_with_meet_and_updates_then_patch_and_delete_with_if_match(google_sandbox, calendar):
    body = {"id": "hubevent00001", "summary": "demo", "start": _slot(4, 10), "end": _slot(4, 11),
            "attendees": [{"email": "guest@example.org"}],
            "conferenceData": {"createRequest": {"requestId": "req-1",
                                                 "conferenceSolutionKey": {"type": "hangoutsMeet"}}},
            "extendedProperties": {"private": {"hubClientId": "c-1"}}}
    made = calendar.events().insert(calendarId="primary", body=body, conferenceDataVersion=1,
                                    sendUpdates="all").execute()
    assert made["id"] == "hubevent00001" and made["conferenceData"]["createRequest"]["requestId"] == "req-1"
    assert [i["recipients"] for i in google_sandbox.state.invitations] == [["guest@example.org"]]

    stale = made["etag"]
    patch = calendar.events().patch(calendarId="primary", eventId=made["id"], body={"summary": "moved"},
                                    conferenceDataVersion=1, sendUpdates="none")
    patch.headers["If-Match"] = stale
    patched = patch.execute()
    assert patched["summary"] == "moved" and patched["etag"] != stale

    late = calendar.events().delete(calendarId="primary", eventId=made["id"], sendUpdates="none")
    late.headers["If-Match"] = stale
    with pytest.raises(HttpError) as caught:
        late.execute()
    assert caught.value.resp.status == 412
    delete = calendar.events().delete(calendarId="primary", eventId=made["id"], sendUpdates="none")
    delete.headers["If-Match"] = patched["etag"]
    assert delete.execute() == ""


def test_free_busy(google_sandbox, calendar):
    google_sandbox.state.create_event(SANDBOX_USER, SANDBOX_USER, {"summary": "b", "start": _slot(2, 9),
                                                                    "end": _slot(2, 10)})
    now = datetime.now(timezone.utc).replace(microsecond=0)
    answer = calendar.freebusy().query(body={
        "timeMin": now.isoformat(), "timeMax": (now + timedelta(days=30)).isoformat(),
        "items": [{"id": SANDBOX_USER}, {"id": "ghost@example.com"}]}).execute()
    assert len(answer["calendars"][SANDBOX_USER]["busy"]) == 1
    assert answer["calendars"]["ghost@example.com"]["errors"][0]["reason"] == "notFound"


def test_watch_and_stop(google_sandbox, calendar, google_webhook_receiver):
    channel = calendar.events().watch(calendarId="primary", body={
        "id": "official-1", "type": "web_hook", "address": f"{google_webhook_receiver.url}/hook",
        "token": "secret"}).execute()
    assert channel["id"] == "official-1" and channel["resourceId"]
    google_webhook_receiver.wait_for(lambda r: r.headers.get("X-Goog-Resource-State") == "sync")
    assert calendar.channels().stop(body={"id": channel["id"], "resourceId": channel["resourceId"]}).execute() == ""


def _mail(subject: str, to: str = "someone@example.org") -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = SANDBOX_USER, to, subject
    message.set_content("hello")
    return message


def test_gmail_list_get_history_and_send_both_ways(google_sandbox, gmail):
    incoming = _mail("incoming", to=SANDBOX_USER)
    incoming.replace_header("From", "ana@northwind.example")
    google_sandbox.state.deliver_mail(SANDBOX_USER, incoming.as_bytes())
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    listed = gmail.users().messages().list(userId="me", labelIds=["INBOX"], maxResults=10).execute()
    [ref] = listed["messages"]
    full = gmail.users().messages().get(userId="me", id=ref["id"], format="metadata",
                                        metadataHeaders=["Subject", "From"]).execute()
    assert {h["name"]: h["value"] for h in full["payload"]["headers"]}["Subject"] == "incoming"

    raw = base64.urlsafe_b64encode(_mail("quote").as_bytes()).decode()
    sent = gmail.users().messages().send(userId="me", body={"raw": raw}).execute()
    sent_headers = gmail.users().messages().get(userId="me", id=sent["id"], format="metadata",
                                                metadataHeaders=["Message-ID"]).execute()["payload"]["headers"]
    reply = _mail("Re: quote")
    reply["In-Reply-To"] = reply["References"] = sent_headers[0]["value"]
    media = MediaIoBaseUpload(io.BytesIO(reply.as_bytes()), mimetype="message/rfc822")
    upload = gmail.users().messages().send(userId="me", body={"threadId": sent["threadId"]}, media_body=media)
    assert "uploadType=multipart" in upload.uri
    uploaded = _over_http(upload).execute()
    assert "SENT" in uploaded["labelIds"] and uploaded["threadId"] == sent["threadId"]
    history = gmail.users().history().list(userId="me", startHistoryId=start,
                                           historyTypes=["messageAdded"]).execute()
    added = {m["message"]["id"] for h in history["history"] for m in h.get("messagesAdded", [])}
    assert added == {sent["id"], uploaded["id"]}
