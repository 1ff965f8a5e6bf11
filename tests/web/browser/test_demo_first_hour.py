"""A newcomer's first hour: README's `python3 dev.py run` on a machine whose Dovecot is broken.

The real command runs (the demo: sandboxes, local IMAP/CalDAV/SMTP peers, seeded users); the person
then looks at it in headless Chromium, and finally presses Ctrl-C.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path

import pytest

from hub.demo import PASSWORD
from hub.testing.peers.base import free_port, wait_for_port
from tests.processes import kill_all, output_of, start, stop_and_collect, wait_until
from tests.web.browser.conftest import WAIT_MS, shot

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def broken_dovecot(tmp_path) -> Path:
    """A `dovecot` on PATH that cannot start, as one whose imap binary is missing."""
    if os.geteuid() != 0:
        pytest.skip("the demo tries Dovecot only as root (its mail processes run as nobody)")
    folder = tmp_path / "bin"
    folder.mkdir()
    dovecot = folder / "dovecot"
    dovecot.write_text("#!/bin/sh\necho 'Fatal: service(imap): executable /usr/lib/dovecot/imap not found' >&2\n"
                       "exit 89\n")
    dovecot.chmod(0o755)
    return folder


@pytest.fixture
def demo(tmp_path, broken_dovecot):
    """`python3 dev.py run` from a fresh folder, up and seeded: (base url, process, instance)."""
    port = free_port()
    instance = tmp_path / "hub-demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_INSTANCE_PATH": str(instance), "PYTHONUNBUFFERED": "1",
                "PATH": f"{broken_dovecot}:{env.get('PATH', '')}"})
    proc = start(instance, [sys.executable, str(ROOT / "dev.py"), "run", "--port", str(port)], env, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: f"CRM hub demo: open {base}" in output_of(instance) or proc.poll() is not None, 600,
                   "the demo's welcome text")
        wait_for_port(port, timeout=60, proc=proc)
        wait_until(lambda: "serving on" in output_of(instance), 60, "the web server")
    except BaseException:
        kill_all(proc, instance)
        raise
    yield base, proc, instance
    kill_all(proc, instance)


def sign_in_to(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Integrations')")


def test_dev_py_run_with_a_broken_dovecot_shows_imap_and_icloud_and_stops_on_ctrl_c(demo, browser):
    base, proc, instance = demo
    output = output_of(instance)
    assert "IMAP/SMTP connected" in output and "iCloud connected" in output, output[-4000:]
    assert output.count("Dovecot is installed but did not start") == 1, output[-4000:]
    assert "pymap instead" in output and "is skipped" not in output, output[-4000:]

    context = browser.new_context(viewport={"width": 1200, "height": 900}, timezone_id="Europe/Berlin")
    context.set_default_timeout(WAIT_MS)
    try:
        admin = context.new_page()
        sign_in_to(admin, base, "admin@demo-corp.test")
        admin.goto(f"{base}/admin/providers")
        for name in ("imap", "icloud"):
            assert admin.get_attribute(f"[data-provider={name}]", "data-enabled") == "yes"
        shot(admin, "demo-broken-dovecot-admin-providers")

        jules = context.browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        jules.set_default_timeout(WAIT_MS)
        sign_in_to(jules, base, "jules@demo-corp.test")

        def inbox_synced() -> bool:  # the IMAP account is usable: its mail arrives
            jules.goto(f"{base}/mail/")
            return bool(re.search(r"Initial sync complete \([\d,]+ messages\)", jules.content()))

        wait_until(inbox_synced, 180, "Jules' IMAP inbox to sync")
        shot(jules, "demo-broken-dovecot-imap-mail")
        jules.context.close()
    finally:
        context.close()

    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
    stop_and_collect(proc, instance)
