"""Microsoft's msgraph-sdk as the Graph sandbox's oracle.

The SDK builds every request from Graph's published model (kiota URL templates, the ``delta()``
function-call form, ``/users/TokenToReplace`` rewritten to ``/me``) and parses every answer into
its model classes; it runs offline against the sandbox through its request adapter's base URL. A
request it sends that the sandbox refuses, or an answer it cannot parse, fails here. Sign-in goes
through MSAL, which accepts only https authorities: for it the sandbox serves https with a
self-signed certificate, and MSAL reads the sandbox's OpenID discovery document.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import msal
import pytest
import requests
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.online_meeting_provider_type import (
    OnlineMeetingProviderType,
)
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.models.single_value_legacy_extended_property import (
    SingleValueLegacyExtendedProperty,
)
from msgraph.generated.models.subscription import Subscription
from msgraph.generated.users.item.calendar.get_schedule.get_schedule_post_request_body import (
    GetSchedulePostRequestBody,
)
from msgraph.generated.users.item.calendars.item.calendar_view.delta.delta_request_builder import (
    DeltaRequestBuilder as CalendarDelta,
)
from msgraph.generated.users.item.mail_folders.item.messages.delta.delta_request_builder import (
    DeltaRequestBuilder as MessagesDelta,
)

from hub.testing.peers.base import self_signed_cert

from hub_office365.mapping import MARKER_PROPERTY
from hub_office365.sandbox import SandboxState, serve
from hub_office365.sandbox.state import Grant
from hub_office365.testing import USER


class SandboxToken(AccessTokenProvider):
    """Hands the SDK a token the sandbox issued (in production azure-identity would)."""

    def __init__(self, token: str, host: str):
        self.token, self.host = token, host

    async def get_authorization_token(self, uri: str, additional_authentication_context=None) -> str:
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator([self.host])


@pytest.fixture
def sdk(office365_sandbox) -> GraphServiceClient:
    state = office365_sandbox.state
    grant = Grant(id=str(uuid.uuid4()), email=USER, client_id="sandbox-client",
                  scopes=["User.Read", "Calendars.ReadWrite", "Mail.Read", "Mail.Send"])
    state.grants[grant.id] = grant
    token = state.issue_tokens(grant)["access_token"]
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(SandboxToken(token, "127.0.0.1")))
    adapter.base_url = office365_sandbox.graph_base
    return GraphServiceClient(request_adapter=adapter)


def run(coroutine):
    """The SDK is async: run it on a thread of its own, since an earlier test (Playwright's sync API) may
    still hold an event loop on this one."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def _when(days: int, hour: int, zone: str = "UTC") -> DateTimeTimeZone:
    day = (datetime.now(timezone.utc) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return DateTimeTimeZone(date_time=day.replace(tzinfo=None).isoformat(), time_zone=zone)


def _paged(headers: int) -> RequestConfiguration:
    config = RequestConfiguration()
    config.headers.add("Prefer", f"odata.maxpagesize={headers}")
    return config


def test_calendars_and_calendar_view_delta_pages(sdk, office365_sandbox):
    state = office365_sandbox.state
    calendar_id = state.mailbox(USER).default_calendar_id
    for i in range(3):
        state.add_event(USER, {"subject": f"e{i}", "start": {"dateTime": _when(2, 8 + i).date_time, "timeZone": "UTC"},
                               "end": {"dateTime": _when(2, 9 + i).date_time, "timeZone": "UTC"}})
    calendars = run(sdk.me.calendars.get())
    assert [c.id for c in calendars.value] == [calendar_id] and calendars.value[0].is_default_calendar
    now = datetime.now(timezone.utc)
    config = RequestConfiguration(query_parameters=CalendarDelta.DeltaRequestBuilderGetQueryParameters(
        start_date_time=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        end_date_time=(now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")))
    config.headers.add("Prefer", "odata.maxpagesize=2")
    page = run(sdk.me.calendars.by_calendar_id(calendar_id).calendar_view.delta.get(request_configuration=config))
    subjects = [e.subject for e in page.value]
    while page.odata_next_link:
        page = run(sdk.me.calendars.by_calendar_id(calendar_id).calendar_view.delta.with_url(
            page.odata_next_link).get(request_configuration=_paged(2)))
        subjects += [e.subject for e in page.value]
    assert sorted(subjects) == ["e0", "e1", "e2"] and page.odata_delta_link
    state.add_event(USER, {"subject": "new", "start": {"dateTime": _when(3, 8).date_time, "timeZone": "UTC"},
                           "end": {"dateTime": _when(3, 9).date_time, "timeZone": "UTC"}})
    changes = run(sdk.me.calendars.by_calendar_id(calendar_id).calendar_view.delta.with_url(
        page.odata_delta_link).get())
    assert [e.subject for e in changes.value] == ["new"]


def test_create_with_marker_and_teams_then_patch_and_delete_with_if_match(sdk, office365_sandbox):
    calendar_id = office365_sandbox.state.mailbox(USER).default_calendar_id
    events = sdk.me.calendars.by_calendar_id(calendar_id).events
    made = run(events.post(Event(
        subject="demo", body=ItemBody(content="agenda"), start=_when(4, 9, "W. Europe Standard Time"),
        end=_when(4, 10, "W. Europe Standard Time"), transaction_id="client-sdk", is_online_meeting=True,
        online_meeting_provider=OnlineMeetingProviderType.TeamsForBusiness,
        single_value_extended_properties=[SingleValueLegacyExtendedProperty(id=MARKER_PROPERTY, value="client-sdk")])))
    assert made.transaction_id == "client-sdk" and made.online_meeting.join_url.startswith("https://teams")
    stale = made.additional_data["@odata.etag"]

    config = RequestConfiguration()
    config.headers.add("If-Match", stale)
    moved = run(sdk.me.events.by_event_id(made.id).patch(Event(subject="moved"), request_configuration=config))
    assert moved.subject == "moved"
    with pytest.raises(ODataError) as caught:
        run(sdk.me.events.by_event_id(made.id).delete(request_configuration=config))
    assert caught.value.response_status_code == 412
    config = RequestConfiguration()
    config.headers.add("If-Match", moved.additional_data["@odata.etag"])
    run(sdk.me.events.by_event_id(made.id).delete(request_configuration=config))
    assert made.id not in office365_sandbox.state.mailbox(USER).events


def test_get_schedule(sdk, office365_sandbox):
    office365_sandbox.state.add_event(USER, {"subject": "b", "start": {"dateTime": _when(2, 9).date_time,
                                                                       "timeZone": "UTC"},
                                             "end": {"dateTime": _when(2, 10).date_time, "timeZone": "UTC"}})
    answer = run(sdk.me.calendar.get_schedule.post(GetSchedulePostRequestBody(
        schedules=[USER], start_time=_when(0, 0), end_time=_when(30, 0), availability_view_interval=60)))
    [info] = answer.value
    assert info.schedule_id == USER and [i.subject for i in info.schedule_items] == ["b"]


def test_subscription_create_renew_delete(sdk, office365_sandbox, office365_webhook_receiver):
    expiry = datetime.now(timezone.utc) + timedelta(hours=2)
    sub = run(sdk.subscriptions.post(Subscription(
        change_type="created,updated,deleted", notification_url=office365_webhook_receiver.url + "/hook",
        lifecycle_notification_url=office365_webhook_receiver.url + "/hook", resource="me/events",
        expiration_date_time=expiry, client_state="secret", latest_supported_tls_version="v1_2")))
    assert sub.id and office365_webhook_receiver.requests[0].args["validationToken"]
    renewed = run(sdk.subscriptions.by_subscription_id(sub.id).patch(Subscription(
        expiration_date_time=expiry + timedelta(hours=1))))
    assert renewed.expiration_date_time > sub.expiration_date_time
    run(sdk.subscriptions.by_subscription_id(sub.id).delete())
    assert sub.id not in office365_sandbox.state.subscriptions


def test_mail_delta_send_and_reply(sdk, office365_sandbox):
    state = office365_sandbox.state
    state.deliver_mail(USER, "inbox", subject="Pricing", sender="ana@northwind.example", message_id="<p@x.example>")
    since = (datetime.now(timezone.utc) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = RequestConfiguration(query_parameters=MessagesDelta.DeltaRequestBuilderGetQueryParameters(
        select=["id", "subject", "internetMessageId", "from"], filter=f"receivedDateTime ge {since}"))
    page = run(sdk.me.mail_folders.by_mail_folder_id("inbox").messages.delta.get(request_configuration=config))
    [original] = page.value
    assert (original.subject, original.internet_message_id) == ("Pricing", "<p@x.example>")
    assert page.odata_delta_link

    draft = run(sdk.me.messages.post(Message(subject="Hello", body=ItemBody(content="hi"), to_recipients=[
        Recipient(email_address=EmailAddress(address="bob@example.org"))])))
    run(sdk.me.messages.by_message_id(draft.id).send.post())
    from msgraph.generated.users.item.messages.item.create_reply.create_reply_post_request_body import (
        CreateReplyPostRequestBody,
    )
    reply = run(sdk.me.messages.by_message_id(original.id).create_reply.post(CreateReplyPostRequestBody(
        comment="thanks")))
    assert reply.conversation_id and reply.subject.lower().startswith("re:")
    sent = [m for m in state.mailbox(USER).messages.values() if m["parentFolderId"] ==
            state.mailbox(USER).folder_id("sentitems")]
    assert [m["subject"] for m in sent] == ["Hello"]


@pytest.fixture
def tls_sandbox(tmp_path):
    """The sandbox over https, and a requests session that trusts its certificate (and nothing from the
    environment, whose CA bundle would otherwise win over the session's)."""
    cert, key = self_signed_cert(tmp_path)
    state = SandboxState()
    state.add_mailbox(USER, "Alice Adams")
    with serve(state, ssl_context=(str(cert), str(key))) as sandbox, requests.Session() as http:
        sandbox.config()
        http.verify, http.trust_env = str(cert), False
        yield sandbox, http


def test_msal_code_flow_refresh_and_the_consent_limit(tls_sandbox):
    sandbox, http = tls_sandbox
    app = msal.ConfidentialClientApplication("sandbox-client", client_credential="sandbox-secret",
                                             authority=f"{sandbox.url}/common", http_client=http,
                                             instance_discovery=False, validate_authority=False)
    flow = app.initiate_auth_code_flow(["Calendars.ReadWrite", "Mail.Read"], redirect_uri="http://127.0.0.1:9/cb",
                                       login_hint=USER)
    page = http.get(flow["auth_uri"], timeout=5)
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    answer = http.post(flow["auth_uri"].split("?")[0], data={**form, "login": USER, "consent": "accept"},
                       allow_redirects=False, timeout=5)
    query = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    first = app.acquire_token_by_auth_code_flow(flow, query)
    assert first.get("access_token") and first.get("refresh_token"), first
    again = app.acquire_token_by_refresh_token(first["refresh_token"], ["Calendars.ReadWrite"])
    assert again.get("access_token") and again["refresh_token"] != first["refresh_token"], again
    wider = app.acquire_token_by_refresh_token(again["refresh_token"], ["Calendars.ReadWrite", "Mail.Send"])
    assert (wider.get("error"), wider.get("error_codes")) == ("invalid_grant", [65001])
