"""A TCP fault proxy on loopback: forwards to a peer (Dovecot, Radicale, a sandbox) and spoils a share
of the traffic the way a bad network does.

Hand-written because it must sit below TLS and HTTP alike (IMAP over TLS, CalDAV over HTTP) and fail
at exact points — refusing a connection, cutting it before a request reaches the peer, cutting it
*after* the peer acted but before its answer arrives (the lost answer that idempotency is for), or
holding traffic back. ``per="request"`` rolls the dice for every chunk a client sends (≈ one HTTP
request or IMAP command); ``per="connection"`` once per connection, which suits chatty protocols.
"""

from __future__ import annotations

import random
import selectors
import socket
import threading
import time
from collections import Counter

KINDS = ("refuse", "drop", "lost_answer", "delay")


class FaultProxy:
    """``127.0.0.1:<port>`` → ``upstream_host:upstream_port`` with ``rate`` of the traffic spoiled.

    :param rate: share of requests (or connections) that suffer a fault; change it at any time.
    :param per: ``"request"`` or ``"connection"``.
    :param kinds: which faults to draw from (:data:`KINDS`).
    :param delay: seconds a ``delay`` fault holds the traffic back.
    :param seed: makes the fault sequence repeatable.
    :param spare_first: leave the first N chunks of every connection alone (with ``per="request"``),
        e.g. a TLS handshake and a login, to aim the faults at an established session.
    """

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1", rate: float = 0.0,
                 per: str = "request", kinds: tuple[str, ...] = KINDS, delay: float = 0.3, seed: int | None = None,
                 spare_first: int = 0):
        if per not in ("request", "connection"):
            raise ValueError("per must be 'request' or 'connection'")
        self.upstream = (upstream_host, upstream_port)
        self.rate = rate
        self.per = per
        self.kinds = kinds
        self.delay = delay
        self.spare_first = spare_first
        self.random = random.Random(seed)
        self.faults: Counter = Counter()
        self._aimed: list[bytes] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # closing a socket does not wake a blocked accept(): poll instead
        self.port = self._listener.getsockname()[1]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"fault-proxy-{self.port}", daemon=True)

    # --- control ---------------------------------------------------------------------------------------

    def start(self) -> "FaultProxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._listener.close()
        self.sever_all()

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def sever_all(self) -> None:
        """Cut every open connection now (a NAT timeout, a restarted load balancer)."""
        with self._lock:
            live, self._live = list(self._live), set()
        for sock in live:
            _close(sock)

    def lose_next_answer_to(self, request_start: bytes) -> None:
        """Aim one lost answer: the next request beginning with ``request_start`` (``b"PUT "``,
        ``b"POST /v1.0/me/calendars/"``) reaches the peer, and its answer never comes back."""
        with self._lock:
            self._aimed.append(request_start)

    def _aimed_at(self, chunk: bytes) -> str | None:
        with self._lock:
            for start in self._aimed:
                if chunk.startswith(start):
                    self._aimed.remove(start)
                    self.faults["lost_answer"] += 1
                    return "lost_answer"
        return None

    def _draw(self) -> str | None:
        with self._lock:
            if self.rate <= 0 or self.random.random() >= self.rate:
                return None
            kind = self.random.choice(self.kinds)
            self.faults[kind] += 1
            return kind

    # --- forwarding -----------------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        fault = self._draw() if self.per == "connection" else None
        if fault == "refuse":
            _close(client)
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            _close(client)
            return
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(True)
        with self._lock:
            self._live.update((client, upstream))
        # a connection-level "drop" or "lost answer" strikes after a few exchanges, not at once
        strike_at = self.random.randint(1, 6) if fault in ("drop", "lost_answer") else None
        swallow_reply = False
        chunks = 0
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        try:
            while not self._stopped.is_set():
                for key, _ in selector.select(timeout=0.5):
                    source, target = key.fileobj, key.data
                    data = source.recv(65536)
                    if not data:
                        return
                    if source is client:
                        chunks += 1
                        if self.per == "request":
                            kind = self._aimed_at(data) or (self._draw() if chunks > self.spare_first else None)
                        else:
                            kind = fault if fault == "delay" or chunks == strike_at else None
                        if kind in ("refuse", "drop"):
                            return  # the request never reaches the peer
                        if kind == "delay":
                            time.sleep(self.delay)
                        if kind == "lost_answer":
                            swallow_reply = True
                    elif swallow_reply:
                        return  # the peer acted and answered; the client never hears it
                    target.sendall(data)
        except OSError:
            return
        finally:
            selector.close()
            with self._lock:
                self._live.difference_update((client, upstream))
            _close(client)
            _close(upstream)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
