"""Provider push notifications: ``/webhooks/<provider>/<account id>``.

The plugin verifies the notification against the account's live channels and says which syncs it
implies; this route enqueues them (de-duplicated by job id) and answers fast.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort
from flask import request as flask_request
from sqlalchemy import select

from hub import work
from hub.account_status import log_rejected_webhook
from hub.accounts import to_channel
from hub.core import current_hub
from hub.exceptions import WebhookRejected
from hub.models import Account, Calendar, PushChannelRecord
from hub.types import WebhookRequest
from web.access import public

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

#: provider notifications are a few KB at most; a bigger body is refused with 413 before it is read
MAX_BODY_BYTES = 64 * 1024


@bp.route("/<provider>/<int:account_id>", methods=["POST", "GET"])
@public
def receive(provider: str, account_id: int):
    body = _bounded_body()
    hub = current_hub()
    with hub.db.session(write_lock=True) as s:
        account = s.get(Account, account_id)
        if account is None or account.provider != provider:
            return Response("unknown account", status=404)
        channels = [to_channel(c) for c in s.scalars(
            select(PushChannelRecord).where(PushChannelRecord.account_id == account_id))]
    req = WebhookRequest(
        method=flask_request.method, path=flask_request.path, headers=dict(flask_request.headers),
        args=flask_request.args.to_dict(), body=body,
    )
    handle = hub.account_handle(account_id)
    try:
        result = hub.plugins.call("hub_handle_webhook", account=handle, request=req, channels=channels)
    except WebhookRejected as exc:
        with hub.db.session(write_lock=True) as s:
            # rate-limited and for administrators; a forged notification never changes the account's status
            if log_rejected_webhook(s, hub.queues.connection, s.get(Account, account_id)):
                log.warning("rejected webhook for account %s: %s", account_id, type(exc).__name__)
        return Response("rejected", status=403)
    for target in result.syncs:
        _enqueue(hub, account_id, target)
    return Response(result.body, status=result.status, content_type=result.content_type)


def _bounded_body() -> bytes:
    """The body, read no further than :data:`MAX_BODY_BYTES` (+1 to notice more), or 413."""
    if (flask_request.content_length or 0) > MAX_BODY_BYTES:
        abort(413)
    body = flask_request.stream.read(MAX_BODY_BYTES + 1)  # a chunked body has no length to check first
    if len(body) > MAX_BODY_BYTES:
        abort(413)
    return body


def _enqueue(hub, account_id: int, target) -> None:
    if target.kind == "calendar":
        with hub.db.session(write_lock=True) as s:
            query = select(Calendar.id).where(Calendar.account_id == account_id, Calendar.sync_enabled.is_(True))
            if target.key:
                query = query.where(Calendar.remote_id == target.key)
            ids = s.scalars(query).all()
        for calendar_id in ids:
            work.enqueue_calendar_sync(hub, account_id, calendar_id, full=target.full)
    elif target.kind == "mail":
        for folder in ([target.key] if target.key else ["inbox", "sent"]):
            work.enqueue_mail_sync(hub, account_id, folder, full=target.full)
    elif target.kind == "channels":  # the provider dropped or wants to reauthorize a channel
        work.enqueue_channel_renewal(hub, account_id, force_key=target.key or "")
