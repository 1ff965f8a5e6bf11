"""MemoryProvider: the reference implementation of every hook in :mod:`hub.hookspecs`, kept in memory.

It is what the sync engines are developed and fuzzed against, and what a plugin author reads to
see the contract done right: per-account hooks answer ``None`` for other providers' accounts, errors
are hub errors, a retried create never makes a second event, etags guard updates, cursors expire.

pluggy hooks are usually module functions; this provider is a class so that each instance holds its
own :class:`~hub.testing.memory_backend.MemoryBackend` (the "provider's servers")::

    backend = MemoryBackend()
    backend.add_account("alice@example.com", "secret")
    hub = Hub(settings, extra_plugins=[("memory", MemoryProvider(backend))])

Credentials are ``{"token": …}``: a token the backend issued at connect time, which disconnecting
(or :meth:`MemoryBackend.revoke`) makes stop working.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import secrets
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from typing import Any, Callable, Iterable, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

from hub.exceptions import (
    AlreadyExists,
    AuthenticationFailed,
    AuthExpired,
    CursorExpired,
    NotFound,
    ProviderError,
    ValidationError,
    WebhookRejected,
)
from hub.mime import add_attachments
from hub.plugins import hookimpl
from hub.testing.conformance import Remote
from hub.testing.memory_backend import MemoryAccount, MemoryBackend, MemoryCalendar, as_datetime
from hub.types import (
    ALL_CAPABILITIES,
    VIDEO,
    AccountHandle,
    Address,
    AttachmentInfo,
    BusyInterval,
    ConnectField,
    ConnectKind,
    ConnectResult,
    EventChange,
    EventPage,
    FreeBusy,
    MailPage,
    OAuthStart,
    OutgoingMessage,
    ProviderContext,
    ProviderInfo,
    PushChannel,
    PushResult,
    RemoteCalendar,
    RemoteEvent,
    RemoteMessage,
    SentMessage,
    SyncTarget,
    WebhookRequest,
    WebhookResult,
    Window,
)

__all__ = ["MemoryBackend", "MemoryProvider", "MemoryRemote"]

CHANNEL_LIFETIME = timedelta(days=7)


class MemoryProvider:
    """A provider plugin object whose hooks serve accounts of one :class:`MemoryBackend`.

    :param backend: the provider-side state; a fresh one when omitted.
    :param name: the provider name it registers (two instances with different names can coexist).
    :param connect_kind: ``"form"`` (email + password) or ``"oauth"`` (authorization code + PKCE).
    :param capabilities: what it declares; hooks of undeclared capabilities still work.
    :param sends_invitations: declare that it mails attendees itself (it does not: for tests of the hub's
        choice only).
    """

    def __init__(self, backend: MemoryBackend | None = None, name: str = "memory", connect_kind: ConnectKind = "form",
                 capabilities: Iterable[str] = ALL_CAPABILITIES,
                 authorize_url: str = "https://memory.invalid/authorize", sends_invitations: bool = False):
        self.backend = backend if backend is not None else MemoryBackend()
        self.name = name
        self.connect_kind = connect_kind
        self.capabilities = frozenset(capabilities)
        self.authorize_url = authorize_url
        self.sends_invitations = sends_invitations

    def __repr__(self) -> str:
        return f"<MemoryProvider {self.name}>"

    # --- helpers every hook uses ------------------------------------------------------------------

    def _open(self, hook: str, account: AccountHandle) -> MemoryAccount:
        """Count the call, raise an injected fault, and find the account its token belongs to."""
        self.backend.enter(hook)
        found = self.backend.account_for_token(account.credentials.get("token"))
        if found is None:
            raise AuthExpired(f"The connection to {account.email} was revoked.",
                              fix="Reconnect the account on the Integrations page.")
        return found

    def _cursor(self, cursor: str, prefix: str, parts: int) -> list[str]:
        """Split ``prefix:epoch:…`` into its fields after the epoch; an old epoch or garbage is CursorExpired.

        Cursors: ``changes:epoch:seq`` (incremental), ``full:epoch:snapshot:last id`` (a full calendar
        sync in progress), ``init:epoch:snapshot:last uid:since`` (an initial mail sync in progress).
        """
        fields = cursor.split(":", parts) if cursor.startswith(prefix) else []
        if len(fields) != parts + 1 or fields[1] != str(self.backend.epoch) or not fields[2].isdigit():
            raise CursorExpired(f"The sync cursor {cursor[:40]!r} is no longer valid.")
        return fields[2:]

    # --- registration and connecting ---------------------------------------------------------------

    @hookimpl
    def hub_register_providers(self, register: Callable[[ProviderInfo], None]) -> None:
        form = () if self.connect_kind == "oauth" else (
            ConnectField("email", "Email address", kind="email"),
            ConnectField("password", "Password", kind="password"),
        )
        register(ProviderInfo(name=self.name, label=f"Memory ({self.name})", capabilities=self.capabilities,
                              connect_kind=self.connect_kind, connect_form=form,
                              sends_invitations=self.sends_invitations,
                              description="In-memory reference provider for tests and development."))

    @hookimpl
    def hub_authorization_url(self, context: ProviderContext, start: OAuthStart) -> str | None:
        if self.connect_kind != "oauth":
            return None  # a form provider has no authorization URL
        query = {"response_type": "code", "client_id": "hub", "redirect_uri": start.redirect_uri,
                 "scope": "offline_access calendar mail", "state": start.state,
                 "code_challenge": start.code_challenge, "code_challenge_method": "S256"}
        if start.login_hint:
            query["login_hint"] = start.login_hint
        return f"{self.authorize_url}?{urlencode(query)}"

    @hookimpl
    def hub_connect(self, context: ProviderContext, params: dict[str, Any]) -> ConnectResult | None:
        self.backend.enter("hub_connect")
        email = self._check_code(params) if self.connect_kind == "oauth" else self._check_password(params)
        account = self.backend.accounts[email]
        return ConnectResult(email=email, credentials={"token": self.backend.issue_token(email)},
                             display_name=account.display_name)

    def _check_password(self, params: dict[str, Any]) -> str:
        for name in ("email", "password"):
            if not params.get(name):
                raise ValidationError(f"The {name} is missing.", fix=f"Enter the {name}.", field=name)
        account = self.backend.accounts.get(params["email"].strip().lower())
        # one message for an unknown address and a wrong password: no account enumeration
        if account is None or not secrets.compare_digest(account.password, params["password"]):
            raise AuthenticationFailed(f"The email address or password for {params['email']} is wrong.",
                                       fix="Check the email address and the password, then try again.")
        return account.email

    def _check_code(self, params: dict[str, Any]) -> str:
        with self.backend.lock:
            grant = self.backend.grants.pop(params.get("code") or "", None)  # a code works once
        verifier = (params.get("code_verifier") or "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
        if grant is None or grant.redirect_uri != params.get("redirect_uri") or grant.code_challenge != challenge:
            raise AuthenticationFailed("The sign-in could not be completed: the authorization code is invalid.",
                                       fix="Start connecting the account again.")
        return grant.email

    @hookimpl
    def hub_disconnect(self, account: AccountHandle) -> bool | None:
        try:
            mine = self._open("hub_disconnect", account)
        except ProviderError:  # unreachable or already revoked: the disconnect goes on
            return True
        for channel_id in list(mine.channels):
            self.backend.unwatch(mine.email, channel_id)
        self.backend.revoke(mine.email, account.credentials["token"])
        return True

    # --- calendars ---------------------------------------------------------------------------------

    @hookimpl
    def hub_list_calendars(self, account: AccountHandle) -> list[RemoteCalendar] | None:
        mine = self._open("hub_list_calendars", account)
        return [RemoteCalendar(**vars(cal.info)) for cal in mine.calendars.values()]

    @hookimpl
    def hub_fetch_events(self, account: AccountHandle, calendar_id: str, cursor: str | None,
                         window: Window) -> EventPage | None:
        mine = self._open("hub_fetch_events", account)
        with self.backend.lock:
            cal = self.backend.calendar(mine.email, calendar_id)
            if cursor is None or cursor.startswith("full:"):
                return self._full_page(cal, cursor, window)
            return self._changes_page(cal, cursor, window)

    def _full_page(self, cal: MemoryCalendar, cursor: str | None, window: Window) -> EventPage:
        """Events in the window ordered by remote id; ``full:epoch:snapshot:last id`` resumes.

        Changes made while the pages are read have a sequence above the snapshot, so the
        incremental sync that follows picks them up.
        """
        if cursor is None:
            snapshot, after = self.backend.seq, ""
        else:
            snapshot_text, after = self._cursor(cursor, "full:", 3)
            snapshot = int(snapshot_text)
        visible = sorted(k for k in self._in_window(cal, window) if k > after)
        page = visible[: self.backend.page_size]
        events = [self._copy(cal.events[k]) for k in page]
        if len(visible) > len(page):
            return EventPage(events=events, next_cursor=f"full:{self.backend.epoch}:{snapshot}:{page[-1]}",
                             done=False)
        return EventPage(events=events, next_cursor=f"changes:{self.backend.epoch}:{snapshot}", done=True)

    def _changes_page(self, cal: MemoryCalendar, cursor: str, window: Window) -> EventPage:
        """What changed after the cursor's sequence; an event that left the window counts as deleted."""
        (seq_text,) = self._cursor(cursor, "changes:", 2)
        changes = cal.log.after(int(seq_text))
        page = changes[: self.backend.page_size]
        visible = self._in_window(cal, window)
        out = EventPage(done=len(changes) <= len(page))
        for _seq, key in page:
            if key in visible:
                out.events.append(self._copy(cal.events[key]))
            else:
                out.deleted.append(key)
        out.next_cursor = f"changes:{self.backend.epoch}:{page[-1][0] if page else seq_text}"
        return out

    def _in_window(self, cal: MemoryCalendar, window: Window) -> set[str]:
        """Remote ids of events overlapping the window; exceptions come with their series."""
        inside = {k for k, e in cal.events.items() if self.backend.occurrences(e, window.start, window.end)}
        return inside | {k for k, e in cal.events.items() if e.recurring_event_id in inside}

    @staticmethod
    def _copy(event: RemoteEvent) -> RemoteEvent:
        return copy.deepcopy(event)  # callers may mutate what they get; the backend's copy stays

    @hookimpl
    def hub_push_events(self, account: AccountHandle, calendar_id: str,
                        changes: list[EventChange]) -> list[PushResult] | None:
        mine = self._open("hub_push_events", account)
        results = []
        for change in changes:
            try:
                results.append(self._apply(mine, calendar_id, change))
            except ProviderError as error:  # one bad change does not fail the batch
                results.append(PushResult(change.client_id, remote_id=change.remote_id, error=error))
        return results

    def _apply(self, mine: MemoryAccount, calendar_id: str, change: EventChange) -> PushResult:
        backend = self.backend
        with backend.lock:
            cal = backend.calendar(mine.email, calendar_id)
            if change.op == "delete":
                if change.remote_id in cal.events:
                    gone = cal.events[change.remote_id]
                    backend.delete_event(mine.email, calendar_id, change.remote_id, if_match=change.etag)
                    if change.send_invites:
                        backend.cancellations.extend((gone.remote_id, p.email) for p in gone.attendees
                                                     if not p.organizer)
                return PushResult(change.client_id, remote_id=change.remote_id)  # already gone is deleted
            if change.op == "create":
                earlier = cal.by_client_id.get(change.client_id)
                if earlier in cal.events:  # a retried create: answer with the event it made
                    return self._result(change.client_id, cal.events[earlier])
                if earlier is not None:
                    raise AlreadyExists(f"The event for {change.client_id} was created and then deleted.")
                video = None
                if change.want_video and VIDEO in self.capabilities:
                    video = f"https://video.memory.invalid/{secrets.token_urlsafe(8)}"
                event = change.event.replace(remote_id="", etag=None, hub_marker=change.client_id,
                                             video_url=video or change.event.video_url)
                stored = backend.put_event(mine.email, calendar_id, event, client_id=change.client_id)
            else:
                old = cal.events.get(change.remote_id or "")
                if old is None:
                    raise NotFound(f"The event {change.remote_id} does not exist any more.")
                event = change.event.replace(remote_id=old.remote_id, hub_marker=old.hub_marker,
                                             ical_uid=old.ical_uid, video_url=change.event.video_url or old.video_url)
                stored = backend.put_event(mine.email, calendar_id, event, if_match=change.etag)
            if change.send_invites:
                backend.invitations.extend((stored.remote_id, p.email) for p in stored.attendees if not p.organizer)
            return self._result(change.client_id, stored)

    @staticmethod
    def _result(client_id: str, event: RemoteEvent) -> PushResult:
        return PushResult(client_id, remote_id=event.remote_id, etag=event.etag, ical_uid=event.ical_uid,
                          video_url=event.video_url)

    @hookimpl
    def hub_free_busy(self, account: AccountHandle, calendar_ids: list[str], start: datetime,
                      end: datetime) -> FreeBusy | None:
        mine = self._open("hub_free_busy", account)
        answer = FreeBusy()
        with self.backend.lock:
            for calendar_id in calendar_ids:
                cal = mine.calendars.get(calendar_id)
                if cal is None:
                    answer.errors[calendar_id] = "notFound"
                    continue
                answer.busy[calendar_id] = merge(self._busy(cal, start, end), start, end)
        return answer

    def _busy(self, cal: MemoryCalendar, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Busy intervals of opaque, live events; a series' exceptions replace their occurrences."""
        moved = {(e.recurring_event_id, as_datetime(e.original_start)) for e in cal.events.values()
                 if e.recurring_event_id and e.original_start is not None}
        spans = []
        for event in cal.events.values():
            if event.transparent or event.status == "cancelled":
                continue
            for o_start, o_end in self.backend.occurrences(event, start, end):
                if event.recurrence and (event.remote_id, o_start) in moved:
                    continue
                spans.append((o_start, o_end))
        return spans

    # --- mail ------------------------------------------------------------------------------------

    @hookimpl
    def hub_mail_partitions(self, account: AccountHandle, folder: str, since: datetime, parts: int):
        if account.provider != self.name:
            return None
        self._open("hub_mail_partitions", account)
        return None  # one job pages through a memory folder: nothing here is large

    @hookimpl
    def hub_mail_folders(self, account: AccountHandle) -> list[str] | None:
        if account.provider != self.name:
            return None
        mine = self._open("hub_mail_folders", account)
        with self.backend.lock:
            return sorted(mine.folders)

    @hookimpl
    def hub_sync_mail(self, account: AccountHandle, folder: str, cursor: str | None, limit: int,
                      since: datetime) -> MailPage | None:
        mine = self._open("hub_sync_mail", account)
        with self.backend.lock:
            box = mine.folders.get(folder)
            if box is None:
                raise NotFound(f"There is no mail folder {folder!r}.")
            epoch = self.backend.epoch
            if cursor is None or cursor.startswith("init:"):
                # initial sync: messages since `since`, by UID; init:epoch:snapshot:last uid:since
                if cursor is None:
                    snapshot, after, since_ts = self.backend.seq, 0, since.timestamp()
                else:
                    snapshot_text, after_text, since_text = self._cursor(cursor, "init:", 4)
                    try:
                        snapshot, after, since_ts = int(snapshot_text), int(after_text), float(since_text)
                    except ValueError:
                        raise CursorExpired(f"The mail cursor {cursor[:40]!r} is not valid.") from None
                wanted = [m for uid, m in sorted(box.messages.items())
                          if uid > after and m.received.timestamp() >= since_ts]
                page = wanted[:limit]
                done = len(wanted) <= limit
                next_cursor = (f"changes:{epoch}:{snapshot}" if done
                               else f"init:{epoch}:{snapshot}:{page[-1].uid}:{since_ts}")
                return MailPage(messages=[parse_message(m.raw, f"{folder}/{m.uid}", folder) for m in page],
                                next_cursor=next_cursor, done=done, total_estimate=len(wanted))
            (seq_text,) = self._cursor(cursor, "changes:", 2)
            changes = box.log.after(int(seq_text))
            changed = changes[:limit]
            out = MailPage(done=len(changes) <= limit,
                           next_cursor=f"changes:{epoch}:{changed[-1][0] if changed else seq_text}")
            for _seq, uid in changed:
                stored = box.messages.get(int(uid))
                if stored is None:
                    out.deleted.append(f"{folder}/{uid}")
                else:
                    out.messages.append(parse_message(stored.raw, f"{folder}/{uid}", folder))
            return out

    @hookimpl
    def hub_send_mail(self, account: AccountHandle, message: OutgoingMessage) -> SentMessage | None:
        mine = self._open("hub_send_mail", account)
        raw, message_id = compose(message, mine.email)
        with self.backend.lock:
            self.backend.outbox.append(raw)
            uid = self.backend.deliver(mine.email, "sent", raw)
            for rcpt in message.to + message.cc + message.bcc:  # recipients hosted here get a copy
                if rcpt.email.lower() in self.backend.accounts:
                    self.backend.deliver(rcpt.email.lower(), "inbox", raw)
        thread = message.thread_id or (message.references[0] if message.references else message.in_reply_to)
        return SentMessage(remote_id=f"sent/{uid}", message_id=message_id, thread_id=thread or message_id)

    # --- push notifications ------------------------------------------------------------------------

    @hookimpl
    def hub_watch(self, account: AccountHandle, kind: str, key: str, address: str,
                  renew: PushChannel | None) -> PushChannel | None:
        mine = self._open("hub_watch", account)
        if key not in (mine.calendars if kind == "calendar" else mine.folders):
            raise NotFound(f"There is no {kind} {key!r} to watch.")
        channel = PushChannel(
            channel_id=renew.channel_id if renew else "ch-" + secrets.token_hex(6),
            expires_at=datetime.now(timezone.utc) + CHANNEL_LIFETIME,
            resource_id=f"{kind}/{key}",
            token=renew.token if renew and renew.token else secrets.token_urlsafe(16),
            calendar_id=key if kind == "calendar" else None,
            folder=key if kind != "calendar" else None,
        )
        self.backend.watch(mine.email, channel, address)
        return channel

    @hookimpl
    def hub_unwatch(self, account: AccountHandle, channel: PushChannel) -> bool | None:
        try:
            mine = self._open("hub_unwatch", account)
            self.backend.unwatch(mine.email, channel.channel_id)
        except ProviderError:  # revoked or unreachable: the channel lapses on its own
            pass
        return True

    @hookimpl
    def hub_handle_webhook(self, account: AccountHandle, request: WebhookRequest,
                           channels: list[PushChannel]) -> WebhookResult | None:
        self.backend.enter("hub_handle_webhook")  # no provider calls here: only verify and interpret
        channel_id = request.headers.get("X-Memory-Channel", "")
        token = request.headers.get("X-Memory-Token", "")
        channel = next((c for c in channels if c.channel_id == channel_id), None)
        if channel is None or not channel.token or not secrets.compare_digest(channel.token, token):
            raise WebhookRejected(f"A notification for channel {channel_id[:20]!r} did not carry the right token.")
        if request.headers.get("X-Memory-State") == "sync":  # the handshake after a watch: nothing changed
            return WebhookResult(status=200)
        kind: Literal["calendar", "mail"] = "calendar" if channel.calendar_id else "mail"
        return WebhookResult(status=202, syncs=[SyncTarget(kind=kind, key=channel.calendar_id or channel.folder)])


# --- mail conversion (what a real provider's parser would do) ----------------------------------------


def compose(message: OutgoingMessage, sender: str) -> tuple[bytes, str]:
    """The RFC 822 bytes of an outgoing message and its Message-ID."""
    msg = EmailMessage()
    message_id = message.message_id or make_msgid(domain=sender.rpartition("@")[2] or "memory.invalid")
    msg["Message-ID"] = message_id
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["From"] = _format(message.sender)
    msg["To"] = ", ".join(_format(a) for a in message.to)
    if message.cc:
        msg["Cc"] = ", ".join(_format(a) for a in message.cc)
    if message.bcc:  # kept in the sender's copy only, as mail clients do
        msg["Bcc"] = ", ".join(_format(a) for a in message.bcc)
    msg["Subject"] = message.subject
    if message.in_reply_to:
        msg["In-Reply-To"] = message.in_reply_to
    if message.references:
        msg["References"] = " ".join(message.references)
    msg.set_content(message.text_body or "")
    if message.html_body:
        msg.add_alternative(message.html_body, subtype="html")
    add_attachments(msg, message.attachments)
    return bytes(msg), message_id


def _format(address: Address) -> str:
    return f'"{address.name}" <{address.email}>' if address.name else address.email


def parse_message(raw: bytes, remote_id: str, folder: str) -> RemoteMessage:
    """A RemoteMessage from RFC 822 bytes; what cannot be read sets ``parse_error`` instead of failing."""
    out = RemoteMessage(remote_id=remote_id, folder=folder, size=len(raw))
    try:
        msg = message_from_bytes(raw, policy=policy.default)
        out.message_id = (msg["Message-ID"] or "").strip() or None
        out.subject = str(msg["Subject"] or "")
        out.in_reply_to = (msg["In-Reply-To"] or "").strip() or None
        out.references = str(msg["References"] or "").split()
        out.thread_id = (out.references[0] if out.references else out.in_reply_to) or out.message_id
        senders = _addresses(msg, "From")
        out.sender = senders[0] if senders else None
        out.to, out.cc, out.bcc = (_addresses(msg, h) for h in ("To", "Cc", "Bcc"))
        out.date = msg["Date"].datetime if msg["Date"] else None
        for part, attr in ((msg.get_body(("plain",)), "text_body"), (msg.get_body(("html",)), "html_body")):
            if part is not None:
                setattr(out, attr, part.get_content())
        out.attachments = [AttachmentInfo(a.get_filename() or "", a.get_content_type(),
                                          len(a.get_payload(decode=True) or b""))
                           for a in msg.iter_attachments()]
        defects = [*msg.defects, *(d for _name, value in msg.items() for d in getattr(value, "defects", ()))]
        if defects:  # read, but not fully: say so rather than pass it off as clean
            out.parse_error = "; ".join(sorted({type(d).__name__ for d in defects}))
    except Exception as exc:  # one bad message never fails a page (email raises many types)
        out.parse_error = f"{type(exc).__name__}: {exc}"
    return out


def _addresses(msg, header: str) -> list[Address]:
    return [Address(email=addr, name=name) for name, addr in getaddresses(msg.get_all(header, [])) if addr]


# --- the Remote of the conformance suite ------------------------------------------------------------


class MemoryRemote(Remote):
    """Provider-side edits on one backend account, for :class:`hub.testing.ProviderTests`."""

    def __init__(self, backend: MemoryBackend, email: str):
        self.backend = backend
        self.email = email

    def create_event(self, calendar_id: str, event: RemoteEvent) -> str:
        return self.backend.put_event(self.email, calendar_id, event.replace(hub_marker=None)).remote_id

    def update_event(self, calendar_id: str, event: RemoteEvent) -> None:
        self.backend.put_event(self.email, calendar_id, event)

    def delete_event(self, calendar_id: str, remote_id: str) -> None:
        self.backend.delete_event(self.email, calendar_id, remote_id)

    def deliver_mail(self, folder: str, raw: bytes) -> None:
        self.backend.deliver(self.email, folder, raw)

    def expire_cursors(self) -> None:
        self.backend.expire_cursors()

    def approve(self, authorization_url: str) -> dict[str, str]:
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
        code = self.backend.approve(query.get("login_hint", self.email), query["code_challenge"], query["redirect_uri"])
        return {"code": code, "state": query["state"]}

    def notification(self, channel: PushChannel) -> WebhookRequest:
        if channel.calendar_id:
            now = datetime.now(timezone.utc)
            self.backend.put_event(self.email, channel.calendar_id,
                                   RemoteEvent("", now + timedelta(days=1), now + timedelta(days=1, hours=1),
                                               summary="changed at the provider"))
        else:
            self.backend.deliver(self.email, channel.folder, b"Subject: new\r\n\r\nnew mail\r\n")
        request = self.backend.last_notification(channel.channel_id)
        if request is None:
            raise AssertionError(f"no notification was sent on channel {channel.channel_id}")
        return request


def merge(spans: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> list[BusyInterval]:
    """Sorted, merged busy intervals clipped to [start, end)."""
    out: list[BusyInterval] = []
    for s, e in sorted((max(s, start), min(e, end)) for s, e in spans):
        if s >= e:
            continue
        if out and s <= out[-1].end:
            out[-1].end = max(out[-1].end, e)
        else:
            out.append(BusyInterval(s, e))
    return out
