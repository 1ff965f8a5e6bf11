"""``hub demo``: one command brings up the whole product offline, with demo users and data.

The command runs as a real subprocess (stand-ins, web app, workers, scheduler); the test then uses it
over HTTP as a person would: signs in with a printed login and finds the seeded data synced.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from contextlib import ExitStack

import pytest
import requests

from hub.demo import (
    IMAP_MESSAGES,
    PASSWORD,
    USERS,
    Peers,
    address,
    configure,
    connect_oauth,
    customer_addresses,
    demo_mailbox,
    seed_company,
    start_sandboxes,
    welcome,
)
from hub.models import Account
from hub.testing.peers.base import free_port, wait_for_port

pytestmark = pytest.mark.slow

#: what the `test` extras install and the `demo` extra does not (None in sys.modules: importing fails)
TEST_LIBRARIES = ("pytest", "_pytest", "hypothesis", "hub.testing", "googleapiclient", "msgraph", "msal", "dnslib")


def test_a_demo_mailbox_has_a_few_hundred_messages_in_threads():
    inbox, sent = demo_mailbox("jules@demo-corp.test", "Jules", IMAP_MESSAGES, "seed")
    assert len(inbox) + len(sent) >= IMAP_MESSAGES >= 300
    assert sent and any(b"In-Reply-To" in raw for raw in inbox + sent)
    contacts = {email for _name, email in customer_addresses()}
    assert sum(any(c.encode() in raw for c in contacts) for raw in inbox) > len(inbox) // 2


def test_the_welcome_text_names_every_role_and_the_password():
    text = welcome("http://127.0.0.1:5000", ["sam@demo-corp.test: Google connected"], [])
    for login, _name, _role, _provider in USERS:
        assert address(login) in text
    for label in ("Administrator", "Company Manager", "Marketing Manager", "Sales Manager", "Salesperson",
                  "Jr. Salesperson"):
        assert label in text
    assert PASSWORD in text and "http://127.0.0.1:5000/book/sam-intro" in text
    assert "/book/sales-team (round-robin)" in text and "/book/team-demo (collective)" in text


def _signed_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(f"{base}/login", timeout=30).text).group(1)
    answer = session.post(f"{base}/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                          timeout=30)
    assert answer.url == f"{base}/", answer.text[:500]
    return session


def _wait_for(check, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(1)


@pytest.mark.parametrize("hub_load_plugins", ["google,office365"])
def test_hook_hub_demo_sandbox(hub, hub_load_plugins, monkeypatch):
    """Each plugin's stand-in starts through the hook with the demo users in it, a demo user connects
    through the provider's real OAuth flow against it, and it stops with the demo's peers."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the stand-ins speak plain http on loopback
    peers = Peers(ExitStack())
    with peers.stack:
        start_sandboxes(hub, peers)
        assert (sorted(peers.config), peers.notes) == (["google", "office365"], [])
        configure(hub, peers)
        ids = seed_company(hub)
        connected = {provider: connect_oauth(hub, peers, ids["sophie"], provider, address("sophie"))
                     for provider in ("google", "office365")}
        with hub.db.session() as s:
            assert {p: (s.get(Account, i).provider, s.get(Account, i).email) for p, i in connected.items()} == {
                p: (p, address("sophie")) for p in connected}
        urls = [peers.config["google"]["api_base"], peers.config["office365"]["graph_base"]]
    for url in urls:
        with pytest.raises(requests.ConnectionError):
            requests.get(url, timeout=5)


def test_hub_demo_runs_the_product(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    log = open(tmp_path / "demo.log", "w")
    # the `demo` extra installs no test library: the demo process (its peers, the plugins' sandboxes)
    # runs with every one of them made unimportable
    command = (f"import sys; sys.modules.update(dict.fromkeys({TEST_LIBRARIES!r})); from hub.cli import main; "
               f"main(['demo', '--port', '{port}', '--instance', {str(tmp_path / 'demo')!r}])")
    proc = subprocess.Popen([sys.executable, "-c", command], stdout=log, stderr=subprocess.STDOUT, env=env,
                            cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_port(port, timeout=120, proc=proc)
        output = (tmp_path / "demo.log").read_text()
        assert f"CRM hub demo: open {base}" in output and "sam@demo-corp.test" in output
        for line in ("Google connected", "Microsoft 365 connected", "IMAP/SMTP connected", "iCloud connected"):
            assert line in output, output[-3000:]

        jules = _signed_in(base, "jules@demo-corp.test")
        def synced_messages() -> int:  # inbox and sent finish one after the other: wait for both
            page = jules.get(f"{base}/mail/", timeout=30).text
            return sum(int(n.replace(",", "")) for n in re.findall(r"Initial sync complete \(([\d,]+) messages\)", page))

        assert _wait_for(lambda: synced_messages() >= 300), f"Jules' IMAP mailbox synced {synced_messages()} messages"

        sam = _signed_in(base, "sam@demo-corp.test")
        assert _wait_for(lambda: "✓" in sam.get(f"{base}/calendars/", timeout=30).text)
        booking = requests.get(f"{base}/book/sam-intro", timeout=30)
        assert booking.status_code == 200 and "data-slot=" in booking.text
        types = sam.get(f"{base}/meetings/", timeout=30).text
        assert "Talk to sales" in types and "Product demo with the team" in types
        for team_page in ("sales-team", "team-demo"):  # the collective one waits for every member's calendar
            assert _wait_for(lambda page=team_page: "data-slot=" in requests.get(f"{base}/book/{page}", timeout=30).text), \
                team_page
        contacts = sam.get(f"{base}/contacts", timeout=30).text
        assert "Maria Lopez" in contacts and "Acme Industries" in contacts

        admin = _signed_in(base, "admin@demo-corp.test")
        providers = admin.get(f"{base}/admin/providers", timeout=30).text
        for name in ("google", "office365", "imap", "icloud"):
            assert f'data-provider="{name}" data-enabled="yes"' in providers
        users = admin.get(f"{base}/admin/users", timeout=30).text
        assert users.count('<span class="badge enabled">Enabled</span>') >= 3
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
