"""Benchmark: initial mail sync of a 10,000-message mailbox in Dovecot, the hub against its peers.

One command::

    .venv/bin/python bench/mail_sync.py             # --messages 10000 --workers 2 --noop-runs 7

It generates a mailbox (realistic sizes, 5 % with 100–500 KB attachments, ~200 addresses over ~30
domains, reply threads, 3/4 in INBOX and 1/4 in Sent), APPENDs it to a Dovecot started with the test
suite's launcher (:class:`hub.testing.peers.imap.DovecotServer`), then times in the same run:

(a) the hub: ``hub.sync.mail.sync_folder`` for INBOX and Sent through the real IMAP plugin into a
    fresh SQLite database (``--database-url``: a fresh database on that PostgreSQL server), with
    address matching and timeline logging, in ``--workers`` processes;
(b) raw imapclient fetching the same data the hub fetches (the header fields it reads, BODYSTRUCTURE,
    text parts), without parsing — and (b') raw imapclient fetching whole messages (BODY.PEEK[]);
(c) ``mbsync`` (isync) pulling both folders to a maildir, with its default fsync and with FSync no;
(d) the hub's no-op incremental sync of both folders (median of ``--noop-runs``) over the pooled
    connection and logging in afresh for each folder, and mbsync's.

Every tool talks STARTTLS to the same server over loopback. A table with the ratios is printed, with
the load average before and after. ``--baseline CHECKOUT`` also times (a) with another checkout's hub
and IMAP plugin (``git archive main | tar -x -C /tmp/main``), before (a), same mailbox: the figures
before and after a change in one run. ``bench/imap_fetch.py`` compares the plugin alone.
The hub runs as ``--workers`` worker processes taking sync jobs from a queue, as RQ workers do: a
large folder's initial sync is split into parts (``hub_mail_partitions``), each part a job of its own.
Goals (issue 19): (a) ≤ 1.5× (b) and ≤ 1.0× (c') FSync no, medians of 3 runs; the cold no-op sync
≤ 50 ms; the peak memory of a hub worker is reported, and the CPU seconds of the workers (the
figure to compare on a machine others share).
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

FOLDERS = {"inbox": "INBOX", "sent": "Sent"}
ME = "me@acme.example"


# --- the mailbox ---------------------------------------------------------------------------------------

WORDS = ("offer pricing contract renewal meeting agenda budget proposal quarter roadmap invoice delivery "
         "schedule feedback review integration support team update timeline launch customer partner").split()


def people(rng: random.Random) -> tuple[list[str], list[str]]:
    """~200 addresses over ~30 domains: 25 companies, 4 free-mail providers, our own domain."""
    companies = [f"{rng.choice(WORDS)}{i}-corp.example" for i in range(25)]
    free = ["gmail.com", "outlook.com", "gmx.de", "yahoo.com"]
    domains = companies + free + ["acme.example"]
    addresses = sorted({f"{rng.choice(WORDS)}.{rng.choice(WORDS)}{rng.randrange(100)}@{rng.choice(domains)}"
                        for _ in range(230)})[:200]
    return addresses, companies


def paragraph(rng: random.Random, size: int) -> str:
    words, length = [], 0
    while length < size:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    lines = [" ".join(words[i:i + 12]) for i in range(0, len(words), 12)]
    return "\r\n".join(lines)


def build(rng: random.Random, n: int, sender: str, to: list[str], cc: list[str], subject: str,
          date: datetime, refs: list[str]) -> tuple[bytes, str]:
    """One message as raw bytes, assembled by hand (the email package would take longer than the sync)."""
    msgid = f"<bench{n}.{rng.getrandbits(40):x}@{sender.split('@')[1]}>"
    head = [f"Message-ID: {msgid}", f"Date: {format_datetime(date)}", f"From: {sender}", f"To: {', '.join(to)}",
            f"Subject: {subject}", "MIME-Version: 1.0"]
    if cc:
        head.append(f"Cc: {', '.join(cc)}")
    if refs:
        head += [f"In-Reply-To: {refs[-1]}", f"References: {' '.join(refs[-10:])}"]
    text = paragraph(rng, int(rng.lognormvariate(7.5, 0.9)) + 200)  # median ~1.8 KB, long tail
    with_html = rng.random() < 0.4
    attachment = rng.random() < 0.05
    text_part = f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"
    body = text_part
    if with_html:
        html = "<html><body>" + "".join(f"<p>{line}</p>" for line in text.split("\r\n")) + "</body></html>"
        html_part = f"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{html}\r\n"
        body = (f"Content-Type: multipart/alternative; boundary=alt{n}\r\n\r\n"
                f"--alt{n}\r\n{text_part}--alt{n}\r\n{html_part}--alt{n}--\r\n")
    if attachment:
        blob = base64.encodebytes(rng.randbytes(rng.randrange(100_000, 500_000))).decode().replace("\n", "\r\n")
        att = (f"Content-Type: application/pdf; name=report{n}.pdf\r\nContent-Transfer-Encoding: base64\r\n"
               f"Content-Disposition: attachment; filename=report{n}.pdf\r\n\r\n{blob}")
        body = f"Content-Type: multipart/mixed; boundary=mix{n}\r\n\r\n--mix{n}\r\n{body}--mix{n}\r\n{att}--mix{n}--\r\n"
    return ("\r\n".join(head) + "\r\n" + body).encode(), msgid


def generate(count: int, seed: int) -> tuple[dict[str, list[bytes]], list[str], list[str]]:
    """``{"inbox": [...], "sent": [...]}`` of raw messages, oldest first, plus addresses and company domains."""
    rng = random.Random(seed)
    addresses, companies = people(rng)
    threads: list[tuple[str, list[str], list[str]]] = []  # subject, references, participants
    now = datetime.now(timezone.utc)
    out: dict[str, list[bytes]] = {"inbox": [], "sent": []}
    for n in range(count):
        date = now - timedelta(days=25) + timedelta(seconds=n * 25 * 86400 / count)
        if threads and rng.random() < 0.6:
            subject, refs, who = rng.choice(threads[-300:])
            subject = subject if subject.startswith("Re: ") else "Re: " + subject
        else:
            subject = " ".join(rng.choice(WORDS) for _ in range(4)).capitalize()
            refs, who = [], rng.sample(addresses, rng.randint(1, 3))
        outgoing = rng.random() < 0.25
        sender, to = (ME, who[:2]) if outgoing else (who[0], [ME])
        raw, msgid = build(rng, n, sender, to, who[2:] if not outgoing else [], subject, date, refs)
        threads.append((subject, refs + [msgid], who))
        out["sent" if outgoing else "inbox"].append(raw)
    return out, addresses, companies


# --- peers ------------------------------------------------------------------------------------------------


def start_peers(tmp: Path):
    from hub.testing.peers.imap import DovecotServer
    from hub.testing.peers.smtp import SmtpServer

    directory = tmp / "dovecot"
    directory.mkdir()
    os.chmod(tmp, 0o755)
    os.chmod(directory, 0o755)  # Dovecot's mail processes run as nobody
    dovecot = DovecotServer(directory, shutil.which("dovecot") or "/usr/sbin/dovecot").start()
    smtp = SmtpServer(tmp).start()
    return dovecot, smtp


def seed(dovecot, user, mailbox: dict[str, list[bytes]]) -> None:
    """APPEND everything, one connection per folder in parallel."""
    def fill(folder: str) -> None:
        with dovecot.client(user, timeout=120) as imap:
            for raw in mailbox[folder]:
                imap.append(FOLDERS[folder], raw)

    threads = [threading.Thread(target=fill, args=(f,)) for f in mailbox]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# --- (a) the hub ---------------------------------------------------------------------------------------------


def fresh_database(server_url: str | None, tmp: Path, cleanups: list) -> str:
    """A new SQLite file in ``tmp``, or a new database on the PostgreSQL server of ``server_url``
    (dropped by the callables appended to ``cleanups``)."""
    if not server_url:
        return f"sqlite:///{tmp / 'hub.db'}"
    import sqlalchemy as sa

    url = sa.engine.make_url(server_url).set(drivername="postgresql+psycopg")
    server = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"hub_bench_{os.getpid()}_{len(cleanups)}"
    with server.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()

    cleanups.append(drop)
    return url.set(database=name).render_as_string(hide_password=False)


def make_hub(tmp: Path, dovecot, smtp, user, addresses: list[str], companies: list[str], database_url: str):
    """A Hub on the fresh database ``database_url`` with Acme's people, contacts for a third of the
    addresses, and the Dovecot mailbox connected through the IMAP plugin. Returns (hub, account id)."""
    from hub import crypto
    from hub.config import Settings
    from hub.core import Hub
    from hub.crm.matching import is_free_mail
    from hub.models import (
        Account,
        Company,
        CompanyDomain,
        Contact,
        ContactAddress,
        Organization,
        OrganizationDomain,
        ProviderSetting,
        User,
        UserAlias,
    )

    import hub_imap.hooks
    from hub_imap.testing import connect_params, trusted

    settings = Settings.load({
        "instance_path": tmp / "instance", "database_url": database_url,
        "keys": crypto.format_keys([crypto.new_key()]), "load_plugins": "", "allow_private_hosts": True,
    }, environ={})
    hub = Hub(settings, extra_plugins=[("imap", hub_imap.hooks)])
    hub.db.upgrade()
    rng = random.Random(7)
    with hub.db.session() as s:
        org = Organization(name="Acme", domains=[OrganizationDomain(domain="acme.example")])
        s.add(org)
        s.flush()
        me = User(email=ME, organization_id=org.id, aliases=[UserAlias(email=user.email)])
        s.add(me)
        s.add(ProviderSetting(name="imap", enabled=True, config={"ca_certificates": trusted(dovecot, smtp)}))
        by_domain = {}
        for domain in companies:
            by_domain[domain] = Company(name=domain, domains=[CompanyDomain(domain=domain)])
            s.add(by_domain[domain])
        s.flush()
        for address in rng.sample([a for a in addresses if not a.endswith("@acme.example")], 70):
            domain = address.split("@")[1]
            company = None if is_free_mail(domain) else by_domain.get(domain)
            s.add(Contact(name=address.split("@")[0], company_id=company.id if company else None,
                          addresses=[ContactAddress(email=address)]))
        s.flush()
        user_id = me.id
    params = connect_params(dovecot, user, smtp, imap_security="starttls", smtp_security="starttls")
    result = hub.plugins.call("hub_connect", context=hub.provider_context("imap"), params=params)
    with hub.db.session() as s:
        account = Account(user_id=user_id, provider="imap", email=result.email, credentials=result.credentials,
                          settings=result.settings)
        s.add(account)
        s.flush()
        return hub, account.id


def _worker(settings_values: dict, account_id: int, ready, go, tasks, results, code: str | None = None) -> None:
    """One worker process, as an RQ worker: builds its own Hub, then runs sync jobs from ``tasks``
    — a folder, or one part of a folder's split initial sync — until it gets ``None``. ``code``: a
    checkout whose hub and IMAP plugin to import instead of the installed ones (``--baseline``)."""
    if code:
        sys.path[:0] = [code, os.path.join(code, "plugins", "imap")]

    from hub.config import Settings
    from hub.core import Hub
    from hub.sync.mail import sync_folder

    import hub_imap.hooks

    hub = Hub(Settings(**settings_values), extra_plugins=[("imap", hub_imap.hooks)])
    ready.release()
    go.wait()
    started = os.times()
    while (task := tasks.get()) is not None:
        folder, part = task
        try:
            stats = sync_folder(hub, account_id, folder, part=part)
        except BaseException as exc:  # report, never leave the parent waiting
            results.put((task, None, repr(exc), 0, (os.getpid(), 0.0)))
            raise
        now = os.times()
        cpu = now.user + now.system - started.user - started.system
        results.put((task, time.perf_counter(), stats, _peak_kb(), (os.getpid(), cpu)))
    hub.close()


def _peak_kb() -> int:
    """This process's peak resident memory in KB. Not ``ru_maxrss``: a spawned process is forked
    before it execs, and Linux carries the fork's high-water mark — the parent's whole RSS, here
    the generated mailbox — over the exec (it read 370 MB for a 110 MB worker). VmHWM is the
    peak of the process's own memory since the exec."""
    import resource

    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def hub_initial(hub, account_id: int, workers: int, code: str | None = None) -> tuple[float, dict, float, float]:
    """Seconds until both folders are synced by ``workers`` processes, the stats per folder (summed
    over its parts), the largest worker's peak memory in MB and the CPU seconds (user + system) the
    workers spent on the jobs — on a shared machine the wall time swings with other load, the
    CPU time much less. A folder sync that splits its initial
    sync hands out its parts as further jobs, as ``hub.jobs.sync_mail`` does. ``code``: run the
    workers on another checkout's code (see :func:`_worker`)."""
    from dataclasses import asdict

    # spawned, not forked: the parent runs server threads (SMTP, Dovecot's token endpoint)
    ctx = multiprocessing.get_context("spawn")
    tasks, results, ready, go = ctx.Queue(), ctx.Queue(), ctx.Semaphore(0), ctx.Event()
    values = asdict(hub.settings)
    procs = [ctx.Process(target=_worker, args=(values, account_id, ready, go, tasks, results, code))
             for _ in range(max(1, workers))]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    for folder in FOLDERS:
        tasks.put((folder, None))
    outstanding, ended, peak_kb = len(FOLDERS), 0.0, 0
    cpu: dict[int, float] = {}
    totals: dict[str, dict] = {f: defaultdict(float) for f in FOLDERS}
    start = time.perf_counter()
    go.set()
    while outstanding:
        (folder, _part), finished, stats, rss, (pid, cpu_seconds) = results.get(timeout=600)
        outstanding -= 1
        cpu[pid] = max(cpu.get(pid, 0.0), cpu_seconds)
        if finished is None:
            for _ in procs:
                tasks.put(None)
            raise SystemExit(f"a sync job failed: {stats}")
        ended, peak_kb = max(ended, finished), max(peak_kb, rss)
        for key in ("stored", "provider_seconds", "store_seconds", "lock_seconds", "pages"):
            totals[folder][key] += stats.get(key, 0.0)  # a --baseline checkout may not count one
        for part in stats["parts"]:
            tasks.put((folder, part))
        outstanding += len(stats["parts"])
        if stats["again"]:
            tasks.put((folder, None))
            outstanding += 1
    for _ in procs:
        tasks.put(None)
    for p in procs:
        p.join()
    return ended - start, {f: dict(t) for f, t in totals.items()}, peak_kb / 1024, sum(cpu.values())


def hub_noop(hub, account_id: int, runs: int, cold: bool) -> tuple[float, int, float]:
    """Median seconds of a no-op sync of both folders, IMAP commands it sent, and seconds in the plugin.

    :param cold: log in afresh for each folder, as a job in a new worker or a forked work horse does;
        else reuse the pooled connection, as a long-lived worker process does.
    """
    import imaplib

    from hub.sync.mail import sync_folder

    from hub_imap import session

    sent = 0
    original = imaplib.IMAP4._command

    def counting(self, name, *args):
        nonlocal sent
        sent += 1
        return original(self, name, *args)

    times, in_plugin, commands = [], [], []
    imaplib.IMAP4._command = counting
    try:
        for _ in range(runs):
            elapsed = plugin = 0.0
            sent_in_run = 0
            for folder in FOLDERS:
                if cold:
                    session.close_all()  # its LOGOUT is not part of the sync: a work horse just exits
                sent = 0
                start = time.perf_counter()
                stats = sync_folder(hub, account_id, folder)
                elapsed += time.perf_counter() - start
                sent_in_run += sent
                assert stats["fetched"] == 0, stats
                plugin += stats["provider_seconds"]
            times.append(elapsed)
            in_plugin.append(plugin)
            commands.append(sent_in_run)
    finally:
        imaplib.IMAP4._command = original
        session.close_all()
    return statistics.median(times), max(commands), statistics.median(in_plugin)


# --- (b) raw imapclient ------------------------------------------------------------------------------------------


def _text_sections(structure, prefix: str = "") -> list[str]:
    """Sections of the text/plain and text/html parts that are not attachments (a BODYSTRUCTURE walk).

    imapclient gives a multipart as ``([parts…], subtype, …)`` and a text part as
    ``(type, subtype, params, id, description, encoding, size, lines, md5, disposition, …)``.
    """
    if isinstance(structure[0], list):
        out = []
        for i, part in enumerate(structure[0]):
            out += _text_sections(part, f"{prefix}{i + 1}.")
        return out
    if (structure[0] or b"").lower() != b"text":
        return []
    disposition = structure[9] if len(structure) > 9 else None
    if isinstance(disposition, tuple) and disposition and (disposition[0] or b"").lower() == b"attachment":
        return []
    return [prefix.rstrip(".") or "1"]


def imapclient_same(dovecot, user) -> tuple[float, int]:
    """What the hub downloads: its header fields, BODYSTRUCTURE, text parts — fetched, not parsed."""
    from hub_imap.fetch import HEADER_FIELDS

    header_item = f"BODY.PEEK[HEADER.FIELDS ({' '.join(HEADER_FIELDS)})]"
    start = time.perf_counter()
    total = 0
    with dovecot.client(user, timeout=120) as imap:
        for mailbox in FOLDERS.values():
            imap.select_folder(mailbox, readonly=True)
            uids = imap.search(["ALL"])
            for i in range(0, len(uids), 500):
                batch = uids[i:i + 500]
                data = imap.fetch(batch, ["UID", "RFC822.SIZE", "INTERNALDATE", "BODYSTRUCTURE", header_item])
                groups = defaultdict(list)
                for uid, item in data.items():
                    groups[tuple(_text_sections(item[b"BODYSTRUCTURE"]))].append(uid)
                for sections, group in groups.items():
                    if sections:
                        imap.fetch(group, [f"BODY.PEEK[{s}]" for s in sections])
                total += len(data)
    return time.perf_counter() - start, total


def imapclient_whole(dovecot, user) -> tuple[float, int]:
    """Whole messages: UID SEARCH ALL + FETCH (UID FLAGS RFC822.SIZE BODY.PEEK[]) in batches of 500."""
    start = time.perf_counter()
    total = 0
    with dovecot.client(user, timeout=120) as imap:
        for mailbox in FOLDERS.values():
            imap.select_folder(mailbox, readonly=True)
            uids = imap.search(["ALL"])
            for i in range(0, len(uids), 500):
                total += len(imap.fetch(uids[i:i + 500], ["UID", "FLAGS", "RFC822.SIZE", "BODY.PEEK[]"]))
    return time.perf_counter() - start, total


# --- (c) mbsync ---------------------------------------------------------------------------------------------------


def mbsync(tmp: Path, dovecot, user, fsync: bool, tag: str) -> tuple[float, float]:
    """(first sync, no-op second sync) seconds of mbsync pulling both folders into a fresh maildir."""
    store = tmp / f"maildir-{tag}"
    store.mkdir()
    config = tmp / f"mbsyncrc-{tag}"
    config.write_text(f"""\
FSync {"yes" if fsync else "no"}

IMAPAccount bench
Host 127.0.0.1
Port {dovecot.port}
User {user.username}
Pass {user.password}
SSLType STARTTLS
CertificateFile {dovecot.cert_path}

IMAPStore remote
Account bench

MaildirStore local
Path {store}/
Inbox {store}/INBOX
SubFolders Verbatim

Channel bench
Far :remote:
Near :local:
Patterns INBOX Sent
Create Near
Sync Pull
SyncState *
""")
    times = []
    for _ in range(2):
        start = time.perf_counter()
        subprocess.run(["mbsync", "-q", "-c", str(config), "bench"], check=True)
        times.append(time.perf_counter() - start)
    return times[0], times[1]


# --- the run ---------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--workers", type=int, default=2, help="worker processes running the hub's sync jobs")
    parser.add_argument("--noop-runs", type=int, default=7)
    parser.add_argument("--database-url", metavar="URL",
                        help="a PostgreSQL server (postgresql://user@host/db) to store into, a fresh database "
                             "per hub; default: a fresh SQLite file")
    parser.add_argument("--baseline", metavar="CHECKOUT",
                        help="also time the initial sync with the hub and IMAP plugin of this checkout (say a "
                             "git worktree of main), same mailbox, same run: figures before and after a change")
    args = parser.parse_args(argv)
    if args.baseline and not (Path(args.baseline) / "hub" / "__init__.py").exists():
        raise SystemExit(f"--baseline {args.baseline}: not a checkout of the hub")
    load_before = os.getloadavg()
    if shutil.which("mbsync") is None or shutil.which("dovecot") is None:
        raise SystemExit("needs dovecot (dovecot-imapd) and mbsync (isync) installed")

    tmp = Path(tempfile.mkdtemp(prefix="hub-bench-mail-"))
    dovecot = smtp = None
    cleanups: list = []
    try:
        t = time.perf_counter()
        mailbox, addresses, companies = generate(args.messages, args.seed)
        size = sum(len(m) for msgs in mailbox.values() for m in msgs)
        print(f"generated {args.messages} messages, {size / 1e6:.0f} MB "
              f"({len(mailbox['inbox'])} inbox, {len(mailbox['sent'])} sent) in {time.perf_counter() - t:.1f} s",
              flush=True)
        dovecot, smtp = start_peers(tmp)
        user = dovecot.add_user()
        t = time.perf_counter()
        seed(dovecot, user, mailbox)
        print(f"appended to Dovecot in {time.perf_counter() - t:.1f} s", flush=True)

        b_same, n_same = imapclient_same(dovecot, user)
        b_whole, n_whole = imapclient_whole(dovecot, user)
        c_fsync, c_noop = mbsync(tmp, dovecot, user, fsync=True, tag="fsync")
        c_nofsync, _ = mbsync(tmp, dovecot, user, fsync=False, tag="nofsync")
        baseline = None
        if args.baseline:  # before the hub below: neither profits from the other warming Dovecot's cache
            (tmp / "baseline").mkdir()
            old_hub, old_account = make_hub(tmp / "baseline", dovecot, smtp, user, addresses, companies,
                                            fresh_database(args.database_url, tmp / "baseline", cleanups))
            old_a, old_stats, old_mb, old_cpu = hub_initial(old_hub, old_account, args.workers, code=args.baseline)
            old_hub.close()
            baseline = (old_a, old_mb, int(sum(s["stored"] for s in old_stats.values())), old_stats, old_cpu)
        hub, account_id = make_hub(tmp, dovecot, smtp, user, addresses, companies,
                                   fresh_database(args.database_url, tmp, cleanups))
        a, stats, worker_mb, worker_cpu = hub_initial(hub, account_id, args.workers)
        stored = int(sum(s["stored"] for s in stats.values()))
        if stored != args.messages or n_same != args.messages or n_whole != args.messages:
            raise SystemExit(f"counts differ: hub {stored}, imapclient {n_same}/{n_whole}, expected {args.messages}")
        in_plugin = {f: st["provider_seconds"] for f, st in stats.items()}
        in_store = {f: st["store_seconds"] for f, st in stats.items()}
        noop, commands, noop_plugin = hub_noop(hub, account_id, args.noop_runs, cold=False)
        cold, cold_commands, cold_plugin = hub_noop(hub, account_id, args.noop_runs, cold=True)
        from sqlalchemy import func, select

        from hub.models import TimelineEntry
        with hub.db.session() as s:
            logged = s.scalar(select(func.count(func.distinct(TimelineEntry.mail_message_id))))
        hub.close()
    finally:
        for cleanup in cleanups:
            cleanup()
        if smtp is not None:
            smtp.stop()
        if dovecot is not None:
            dovecot.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    store = "PostgreSQL" if args.database_url else "SQLite"
    rows = [
        (f"(a) hub initial sync → {store}, matching + logging"
         f" ({args.workers} process{'es' if args.workers > 1 else ''})", a),
        ("(b) imapclient, same data (header fields, BODYSTRUCTURE, text parts)", b_same),
        ("(b') imapclient, whole messages BODY.PEEK[]", b_whole),
        ("(c) mbsync → maildir (FSync yes, the default)", c_fsync),
        ("(c') mbsync → maildir (FSync no)", c_nofsync),
        ("(d) hub no-op incremental sync, both folders, pooled connection", noop),
        ("    of which inside the IMAP plugin (NOOP?, SELECT, SEARCH)", noop_plugin),
        ("(d) hub no-op, a fresh login per folder (a new worker, or --fork)", cold),
        ("    of which inside the IMAP plugin (connect, TLS, LOGIN, SELECT …)", cold_plugin),
        ("(d') mbsync no-op second run", c_noop),
    ]
    load_after = os.getloadavg()
    if baseline is not None:
        rows.insert(1, (f"(a0) the same with --baseline {Path(args.baseline).name} "
                        f"(stored {baseline[2]}, {baseline[1]:.0f} MB/worker)", baseline[0]))
    print()
    print("load average (1, 5, 15 min): before %.2f %.2f %.2f, after %.2f %.2f %.2f" % (*load_before, *load_after))
    print(f"{args.messages} messages, {size / 1e6:.0f} MB; hub logged {logged} on timelines; "
          f"{os.cpu_count()} cores; Python {sys.version.split()[0]}; peak memory per hub worker {worker_mb:.0f} MB")
    print(f"| {'task':<70} | {'seconds':>8} | {'(a) ÷ this':>10} |")
    print(f"|{'-' * 72}|{'-' * 10}|{'-' * 12}|")
    for name, secs in rows:
        in_ms = name.startswith(("(d", "    "))
        ratio = "" if in_ms else f"{a / secs:.2f}"
        shown = f"{secs * 1000:.1f} ms" if in_ms else f"{secs:.2f}"
        print(f"| {name:<70} | {shown:>8} | {ratio:>10} |")
    print()
    for folder in FOLDERS:
        print(f"(a) {folder}: {stats[folder]['stored']:.0f} messages in {stats[folder]['pages']:.0f} pages, "
              f"{in_plugin[folder]:.2f} s inside the IMAP plugin "
              f"(fetch + parse), {in_store[folder]:.2f} s in the engine (clean, match, store, log; of which "
              f"{stats[folder]['lock_seconds']:.2f} s waiting for the database's write lock)")
    print(f"(a) CPU seconds of the hub's workers (user + system, all processes): {worker_cpu:.2f}"
          + (f"; (a0): {baseline[4]:.2f}" if baseline is not None else ""))
    if baseline is not None:
        for folder, st in baseline[3].items():
            print(f"(a0) {folder}: {st['provider_seconds']:.2f} s inside the IMAP plugin, "
                  f"{st['store_seconds']:.2f} s in the engine")
    print()
    verdict = lambda ok: "yes" if ok else "NO"  # noqa: E731
    print(f"goal (a) <= 1.0x (c') FSync no:    {verdict(a <= c_nofsync)}  ({a:.2f} s vs {c_nofsync:.2f} s; "
          f"vs FSync yes {c_fsync:.2f} s: {verdict(a <= c_fsync)})")
    print(f"goal (a) within 1.5x of (b):       {verdict(a <= 1.5 * b_same)}  (a/b = {a / b_same:.2f})")
    print(f"goal no-op at most 50 ms:          {verdict(noop <= 0.05)}  ({noop * 1000:.1f} ms, "
          f"{commands} IMAP commands for both folders, pooled; {cold * 1000:.1f} ms and {cold_commands} "
          f"commands logging in per folder: {verdict(cold < 0.05)})")


if __name__ == "__main__":
    main()
