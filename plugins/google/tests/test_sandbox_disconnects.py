"""A client that goes away mid-request (its read timeout ran out on a busy machine) is not a sandbox crash."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from hub.testing.waiting import wait_until


def test_a_client_hanging_up_mid_body_is_not_a_crash(google_sandbox):
    url = urlsplit(google_sandbox.url)
    before = len(google_sandbox.state.requests)
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(b"POST /token HTTP/1.1\r\nHost: sandbox\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 1000\r\n\r\ngrant_type=refresh_token")  # 976 bytes short, then gone
    wait_until(lambda: len(google_sandbox.state.requests) > before, what="the sandbox to finish the request")
    assert google_sandbox.state.crashes == []
