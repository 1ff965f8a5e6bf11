"""Finding 8: the login throttle counted per IP only, so guessing one password from many IPs was
never slowed. Now failures per address from any IP pause the address — briefly, so a stranger cannot
lock its owner out for long."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter

from tests.security.conftest import ALICE, PASSWORD
from web.login_throttle import ADDRESS_PAUSE, PER_ADDRESS


class FromAddress(HTTPAdapter):
    """Connect from another loopback address (127.0.0.2, 127.0.0.3 …): another client IP to the hub."""

    def __init__(self, source: str):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def client_at(ip: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(ip))
    return session


def sign_in(session: requests.Session, live_url: str, password: str) -> requests.Response:
    return session.post(f"{live_url}/login", data={"email": ALICE, "password": password}, allow_redirects=False,
                        timeout=30)


def test_guessing_from_many_ips_pauses_the_address_briefly(people, hub, live_url):
    for i in range(PER_ADDRESS):  # four guesses from each of five IPs: under every per-IP limit
        assert sign_in(client_at(f"127.0.0.{2 + i // 4}"), live_url, f"guess-{i}").status_code == 401
    fresh = client_at("127.0.0.50")
    paused = sign_in(fresh, live_url, PASSWORD)
    assert paused.status_code == 429 and "Too many failed sign-ins" in paused.text
    ttl = hub.queues.connection.ttl([k for k in hub.queues.connection.keys("hub:login-paused:*")][0])
    assert 0 < ttl <= ADDRESS_PAUSE <= 5 * 60  # brief: the owner is back within minutes
    hub.queues.connection.delete(*hub.queues.connection.keys("hub:login-paused:*"))
    assert sign_in(fresh, live_url, PASSWORD).status_code == 302
