"""Browser-test fixtures: the app on a real port, a worker thread draining the queues, headless Chromium.

* ``live_server`` — the Flask app served by werkzeug's ``make_server`` in a thread on a free port
  (the hub's ``base_url`` points there, so OAuth redirects come back to it), CSRF protection on;
* ``background_worker`` — an RQ ``SimpleWorker`` in a thread that keeps draining the queues;
  ``pause()``/``resume()`` hold jobs back so a test can watch work happen;
* ``browser`` — Debian's Chromium through Playwright (never ``playwright install``); a missing
  Chromium or Playwright skips the tests, or fails them under CI (``peer_missing``);
* ``page`` / ``new_page`` — pages in fresh contexts; ``shot(page, name)`` saves a screenshot under
  ``test-artifacts/screenshots/`` (printed at the end of the run).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from hub.testing.peers.base import peer_missing
from hub.testing.waiting import PATIENCE

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
#: how long a page waits for something to appear (the worker thread runs jobs meanwhile): the suite's one
#: patience, so a loaded machine (a video link that needs a push job first) waits as every other wait does
WAIT_MS = int(PATIENCE * 1000)


def pytest_terminal_summary(terminalreporter):
    if SCREENSHOTS.exists() and any(SCREENSHOTS.iterdir()):
        terminalreporter.write_line(f"browser screenshots: {SCREENSHOTS}")


@pytest.fixture
def hub_settings_overrides(live_port):
    return {"base_url": f"http://127.0.0.1:{live_port}"}


@pytest.fixture
def app(app):
    app.config["WTF_CSRF_ENABLED"] = True  # the browser posts real forms with their tokens
    return app


@pytest.fixture
def live_server(live_url):
    return live_url


class BackgroundWorker:
    """A real RQ worker in a thread, draining the hub's queues until stopped."""

    def __init__(self, hub):
        from rq import SimpleWorker
        from rq.timeouts import TimerDeathPenalty

        class ThreadWorker(SimpleWorker):
            # a thread may not install signal handlers (SIGINT/SIGTERM, SIGALRM for job timeouts)
            death_penalty_class = TimerDeathPenalty

            def _install_signal_handlers(self):
                pass

        self.hub = hub
        self.worker_class = ThreadWorker
        self.running = threading.Event()
        self.running.set()
        self.stopping = threading.Event()
        # set from before the loop looks at the queues until the burst it starts has ended: RQ pops a job
        # off its queue a few Redis calls before it lists it as started, and a job in that gap is in
        # neither place — only this flag shows it
        self.busy = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="rq-worker", daemon=True)

    def _loop(self) -> None:
        queues = [self.hub.queues.by_name[n] for n in ("sync", "push", "default")]
        while not self.stopping.is_set():
            self.running.wait(0.5)
            self.busy.set()
            try:
                if self.running.is_set() and any(q.count for q in queues):
                    self.worker_class(queues, connection=self.hub.queues.connection).work(burst=True)
            finally:
                self.busy.clear()
            time.sleep(0.1)

    def pause(self) -> None:
        self.running.clear()

    def resume(self) -> None:
        self.running.set()

    def wait_idle(self, timeout: float = PATIENCE) -> None:
        """Until every queue is empty and nothing runs.

        The queues are read before the flag: a job queued when this was called has then either not been
        popped (counted) or been popped inside a burst that is still on (``busy``) or has ended (done).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            queues = self.hub.queues.by_name.values()
            if not any(q.count or q.started_job_registry.count for q in queues) and not self.busy.is_set():
                return
            time.sleep(0.1)
        raise AssertionError("the queues did not drain")


@pytest.fixture
def background_worker(hub):
    worker = BackgroundWorker(hub)
    worker.thread.start()
    yield worker
    worker.stopping.set()
    worker.resume()
    worker.thread.join(timeout=30)


@pytest.fixture(scope="session")
def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        peer_missing("playwright is not installed (pip install playwright; Chromium comes from Debian)")
    if not os.path.exists(CHROMIUM):
        peer_missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(_playwright):
    instance = _playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield instance
    instance.close()


@pytest.fixture
def new_page(browser, live_server):
    """``new_page()`` opens a page in a fresh context (its own cookies: another person)."""
    contexts = []

    def make(timezone_id: str = "Europe/Berlin"):
        context = browser.new_context(base_url=live_server, timezone_id=timezone_id, locale="en-GB",
                                      viewport={"width": 1200, "height": 900})
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


def shot(page, name: str) -> Path:
    """Save a full-page screenshot as ``test-artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, email: str, password: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Integrations')")
