"""Benchmark: the IMAP plugin alone — fetch and parse every message of bench/mail_sync.py's mailbox,
page by page as the initial sync does — for this checkout and another one, alternating, same Dovecot.

One command::

    .venv/bin/python bench/imap_fetch.py --baseline /path/to/checkout   # --messages 4000 --rounds 3

The mail engine and database are left out, so a change to the plugin's fetching and parsing shows
without the noise of the SQLite writer (see bench/mail_sync.py for the whole initial sync). Each
round runs both checkouts in fresh processes, in alternating order; wall and CPU seconds are printed
per run with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

#: one run, in a fresh interpreter: ``child.py <checkout or -> <port> <user> <password> <CA file>``
CHILD = r'''
import json, ssl, sys, time
if sys.argv[1] != "-":
    sys.path[:0] = [sys.argv[1], sys.argv[1] + "/plugins/imap"]
from hub_imap.connection import ImapClient
from hub_imap.fetch import fetch_messages
port, user, password, ca = sys.argv[2:6]
context = ssl.create_default_context(cafile=ca)
client = ImapClient("127.0.0.1", int(port), tls=False, ssl_context=context, allow_private=True, timeout=60)
client.starttls(context)
client.login(user, password)
wall = cpu = 0.0
count = 0
for mailbox in ("INBOX", "Sent"):
    uidvalidity = int(client.select_folder(mailbox, readonly=True)[b"UIDVALIDITY"])
    uids = client.search(["ALL"])
    start, clock = time.perf_counter(), time.process_time()
    for i in range(0, len(uids), 250):
        count += len(fetch_messages(client, uids[i:i + 250], mailbox=mailbox, uidvalidity=uidvalidity, folder="inbox"))
    wall += time.perf_counter() - start
    cpu += time.process_time() - clock
print(json.dumps([wall, cpu, count]))
'''


def main() -> None:
    import mail_sync

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, metavar="CHECKOUT")
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hub-bench-fetch-"))
    dovecot = smtp = None
    try:
        mailbox, _addresses, _companies = mail_sync.generate(args.messages, 20240501)
        dovecot, smtp = mail_sync.start_peers(tmp)
        user = dovecot.add_user()
        mail_sync.seed(dovecot, user, mailbox)
        child = tmp / "child.py"
        child.write_text(CHILD)
        results: dict[str, list[tuple[float, float]]] = {"this": [], "baseline": []}
        for round_ in range(args.rounds):
            order = [("this", "-"), ("baseline", args.baseline)]
            for name, code in order if round_ % 2 == 0 else order[::-1]:
                run = subprocess.run([sys.executable, str(child), code, str(dovecot.port), user.username,
                                      user.password, str(dovecot.cert_path)],
                                     capture_output=True, text=True, cwd=tmp, check=True)
                wall, cpu, count = json.loads(run.stdout.strip().splitlines()[-1])
                results[name].append((wall, cpu))
                print(f"round {round_} {name:8}: {count} messages, wall {wall:.2f} s, CPU {cpu:.2f} s "
                      f"({cpu / count * 1000:.2f} ms/message), load {os.getloadavg()[0]:.1f}", flush=True)
        for name, runs in results.items():
            walls, cpus = sorted(w for w, _ in runs), sorted(c for _, c in runs)
            print(f"median {name:8}: wall {walls[len(walls) // 2]:.2f} s, CPU {cpus[len(cpus) // 2]:.2f} s")
    finally:
        if smtp is not None:
            smtp.stop()
        if dovecot is not None:
            dovecot.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
