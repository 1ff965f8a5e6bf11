"""``python -m hub_google.sandbox``: serve the Google sandbox in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import threading

from hub_google.sandbox.server import run_sandbox
from hub_google.sandbox.state import SandboxState


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(description="Serve a local sandbox of the Google Calendar and Gmail APIs.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--demo", metavar="EMAIL", help="seed demo calendars, events and mail for this address")
    parser.add_argument("--loopback-push", action="store_true",
                        help="also accept http:// push addresses on this machine (Google takes only https)")
    args = parser.parse_args(argv)
    state = SandboxState()
    state.loopback_http_push = args.loopback_push
    server = run_sandbox(args.port, demo_email=args.demo, state=state)
    print(f"Google sandbox on {server.url}", flush=True)
    print("provider config: " + json.dumps(server.provider_config()), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
