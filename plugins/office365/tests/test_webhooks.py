"""Subscriptions and notifications over real HTTP: handshake, clientState, lifecycle, duplicates, disconnect."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from hub.exceptions import AuthExpired, WebhookRejected
from hub.types import SyncTarget, WebhookRequest, WebhookResult


@pytest.fixture
def primary(state, account) -> str:
    return state.mailbox(account.email).default_calendar_id


@pytest.fixture
def address(office365_webhook_receiver, account) -> str:
    return f"{office365_webhook_receiver.url}/webhooks/office365/{account.id}"


def _notify(remote, channel) -> WebhookRequest:
    return remote.notification(channel)


def test_watch_answers_graphs_handshake_through_the_plugin(hooks, account, primary, address, route,
                                                           office365_webhook_receiver, state):
    channel = hooks.hub_watch(account=account, kind="calendar", key=primary, address=address, renew=None)
    [handshake] = office365_webhook_receiver.requests  # made by the sandbox before it answered 201
    assert handshake.path.endswith(f"/webhooks/office365/{account.id}")
    sub = state.subscriptions[channel.channel_id]
    assert sub["clientState"] == channel.token and len(channel.token) >= 32
    assert sub["resource"] == f"me/calendars/{primary}/events"
    assert sub["lifecycleNotificationUrl"] == address
    answer = hooks.hub_handle_webhook(account=account, request=handshake, channels=[])
    assert (answer.status, answer.content_type, answer.body) == (200, "text/plain", handshake.args["validationToken"])


def test_watch_fails_clearly_when_the_hub_is_unreachable(hooks, account, primary, office365_webhook_receiver):
    from hub.exceptions import ProviderError

    with pytest.raises(ProviderError) as caught:
        hooks.hub_watch(account=account, kind="calendar", key=primary, address="http://127.0.0.1:9/webhooks/x",
                        renew=None)
    assert "webhook address" in caught.value.message and caught.value.fix


def test_mail_folders_can_be_watched(hooks, account, address, route, remote):
    channel = hooks.hub_watch(account=account, kind="mail", key="inbox", address=address, renew=None)
    route.append(channel)
    answer = hooks.hub_handle_webhook(account=account, request=_notify(remote, channel), channels=[channel])
    assert answer.syncs == [SyncTarget(kind="mail", key="inbox")]
    assert hooks.hub_watch(account=account, kind="mail", key="archive", address=address, renew=None) is None


def test_duplicate_deliveries_ask_for_one_sync(hooks, account, primary, address, route, remote, state,
                                               office365_webhook_receiver):
    channel = hooks.hub_watch(account=account, kind="calendar", key=primary, address=address, renew=None)
    route.append(channel)
    state.knobs.duplicate_notifications = True
    request = _notify(remote, channel)
    deliveries = office365_webhook_receiver.notifications()
    assert len(deliveries) == 2 and deliveries[0].body == deliveries[1].body
    assert [d[2] for d in state.deliveries] == [202, 202], "the hub's route accepted both"
    answers = [hooks.hub_handle_webhook(account=account, request=d, channels=[channel]) for d in deliveries]
    assert answers[0].syncs == answers[1].syncs == [SyncTarget(kind="calendar", key=primary)]
    doubled = replace(request, body=json.dumps({"value": json.loads(request.body)["value"] * 2}).encode())
    assert hooks.hub_handle_webhook(account=account, request=doubled, channels=[channel]).syncs == [
        SyncTarget(kind="calendar", key=primary)]


def test_forged_or_stale_notifications_are_rejected(hooks, account, primary, address, route, remote):
    channel = hooks.hub_watch(account=account, kind="calendar", key=primary, address=address, renew=None)
    request = _notify(remote, channel)
    with pytest.raises(WebhookRejected):
        hooks.hub_handle_webhook(account=account, request=request, channels=[replace(channel, token="guess")])
    with pytest.raises(WebhookRejected):
        hooks.hub_handle_webhook(account=account, request=request, channels=[])
    for body in (b"not json", b'{"value": []}'):
        with pytest.raises(WebhookRejected):
            hooks.hub_handle_webhook(account=account, request=replace(request, body=body), channels=[channel])


@pytest.mark.parametrize("event, expected", [
    ("reauthorizationRequired", "channels"), ("subscriptionRemoved", "channels"), ("missed", "full"),
])
def test_lifecycle_notifications(hooks, account, primary, address, route, state, office365_webhook_receiver, event,
                                 expected):
    channel = hooks.hub_watch(account=account, kind="calendar", key=primary, address=address, renew=None)
    route.append(channel)
    state.lifecycle(channel.channel_id, event)
    state.wait_for_deliveries()
    [request] = office365_webhook_receiver.notifications()
    assert json.loads(request.body)["value"][0]["lifecycleEvent"] == event
    answer = hooks.hub_handle_webhook(account=account, request=request, channels=[channel])
    if expected == "channels":
        assert answer.syncs == [SyncTarget(kind="channels", key=primary)]
    else:
        assert answer.syncs == [SyncTarget(kind="calendar", key=primary, full=True)]


def test_renew_and_recreate_after_removal(hooks, account, primary, address, route, state):
    channel = hooks.hub_watch(account=account, kind="calendar", key=primary, address=address, renew=None)
    renewed = hooks.hub_watch(account=account, kind="calendar", key=primary, address=address, renew=channel)
    assert (renewed.channel_id, renewed.token) == (channel.channel_id, channel.token)
    assert renewed.expires_at >= channel.expires_at
    state.lifecycle(channel.channel_id, "subscriptionRemoved")  # Graph dropped it
    state.wait_for_deliveries()
    again = hooks.hub_watch(account=account, kind="calendar", key=primary, address=address, renew=renewed)
    assert again.channel_id != channel.channel_id and again.channel_id in state.subscriptions
    assert again.token != channel.token


def test_disconnect_deletes_subscriptions_and_forgets_the_token(hooks, account, primary, address, route, state):
    hooks.hub_watch(account=account, kind="calendar", key=primary, address=address, renew=None)
    hooks.hub_watch(account=account, kind="mail", key="inbox", address=address, renew=None)
    assert len(state.subscriptions) == 2
    assert hooks.hub_disconnect(account=account) is True
    assert state.subscriptions == {}
    assert account.saved[-1]["token"] == {}
    with pytest.raises(AuthExpired):
        hooks.hub_list_calendars(account=account)


def test_disconnect_never_blocks(hooks, account, state):
    state.inject_fault(503, times=5)
    assert hooks.hub_disconnect(account=account) is True


def test_one_stale_item_does_not_hide_the_genuine_change_in_a_batch(hooks, account, primary, address, route,
                                                                   remote):
    channel = hooks.hub_watch(account=account, kind="calendar", key=primary, address=address, renew=None)
    inbox = hooks.hub_watch(account=account, kind="mail", key="inbox", address=address, renew=None)
    request = _notify(remote, channel)
    [genuine] = json.loads(request.body)["value"]
    stale = dict(genuine, subscriptionId="3f0c5f0e-dropped-long-ago", clientState="an old secret")
    forged = dict(genuine, subscriptionId=inbox.channel_id, clientState="guess")
    batch = replace(request, body=json.dumps({"value": [stale, forged, "junk", genuine]}).encode())
    answer = hooks.hub_handle_webhook(account=account, request=batch, channels=[channel, inbox])
    assert (answer.status, answer.syncs) == (202, [SyncTarget(kind="calendar", key=primary)])


def test_graph_batches_subscriptions_sharing_the_address(hooks, account, primary, address, route, state,
                                                         office365_webhook_receiver):
    calendar = hooks.hub_watch(account=account, kind="calendar", key=primary, address=address, renew=None)
    inbox = hooks.hub_watch(account=account, kind="mail", key="inbox", address=address, renew=None)
    route.extend([calendar, inbox])
    with state.notifier.batched():
        state.add_event(account.email, {"subject": "new", "start": {"dateTime": "2030-01-02T09:00:00",
                                                                      "timeZone": "UTC"},
                                        "end": {"dateTime": "2030-01-02T10:00:00", "timeZone": "UTC"}}, primary)
        state.deliver_mail(account.email, "inbox", subject="hello", sender="someone@example.org")
    state.wait_for_deliveries()
    [delivery] = office365_webhook_receiver.notifications()
    items = json.loads(delivery.body)["value"]
    assert sorted(i["subscriptionId"] for i in items) == sorted([calendar.channel_id, inbox.channel_id])
    answer = hooks.hub_handle_webhook(account=account, request=delivery, channels=[calendar, inbox])
    assert sorted(answer.syncs, key=lambda t: t.kind) == [SyncTarget(kind="calendar", key=primary),
                                                          SyncTarget(kind="mail", key="inbox")]


def test_graph_retries_a_failed_delivery(hooks, account, primary, address, route, remote, state,
                                         office365_webhook_receiver):
    channel = hooks.hub_watch(account=account, kind="calendar", key=primary, address=address, renew=None)
    route.append(channel)
    failures = [503]
    plugin = office365_webhook_receiver.handler

    def flaky(request):
        if "validationToken" not in request.args and failures:
            return WebhookResult(status=failures.pop())
        return plugin(request)

    office365_webhook_receiver.handler = flaky
    request = _notify(remote, channel)
    assert [outcome for _, _, outcome in state.deliveries] == [503, 202]
    assert state.deliveries[0][1] == state.deliveries[1][1] == json.loads(request.body)
