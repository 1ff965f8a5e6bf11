"""Many accounts, several ``hub worker`` processes, one PostgreSQL, one Redis — and the counting.

Shared by ``tests/scale`` (small, in CI) and ``bench/scale_out.py`` (full size, with figures).

:class:`ScaleWorld` connects accounts across the Google and Microsoft sandboxes (over HTTP) and
Dovecot (IMAP), then runs *cycles*: the scheduler's poll fires twice (two schedulers on two machines),
``N`` burst workers drain the queues, and each cycle is measured three ways —

* job executions per account, read from the workers' own logs (job de-duplication);
* provider-side calls per account: calendar syncs started at the Google and Microsoft sandboxes,
  logins at Dovecot (one or two per account: a worker that syncs both of an account's folders
  reuses its IMAP connection, so at Dovecot a doubled sync shows as a third login at most);
* throughput: jobs per second between the first job's start and the last job's end, so worker
  start-up time is left out.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from hub import jobs
from tests.faults import agreement
from tests.faults.accounts import (
    add_user,
    connect_account,
    connect_google,
    connect_office365,
    imap_config,
    imap_params,
    set_provider_config,
)
from tests.faults.driving import WorkerProcess, pending_jobs
from tests.faults.worlds import at, raw_mail

#: "2026-11-21 17:24:37,697 INFO rq.worker: Worker abc: sync: hub.jobs.sync_calendar(1, 2, False) (sync-cal-1-2)"
JOB_START = re.compile(r"^(\S+ \S+) INFO rq\.worker: Worker \w+: \w+: hub\.jobs\.(\w+)\(([^)]*)\) \(([^)]+)\)$")
JOB_END = re.compile(r"^(\S+ \S+) INFO rq\.worker: Successfully completed hub\.jobs\.\w+\(")
STAMPS = ("%Y-%m-%d %H:%M:%S,%f", "%Y-%m-%d %H:%M:%S")
#: the share of each provider among the accounts
MIX = (("google", 0.4), ("office365", 0.4), ("imap", 0.2))


@dataclass
class Cycle:
    """What one cycle did."""

    workers: int
    #: job executions per (function, account id, detail)
    runs: Counter = field(default_factory=Counter)
    #: provider-side sync starts per account id
    provider_calls: Counter = field(default_factory=Counter)
    jobs: int = 0
    seconds: float = 0.0
    failed: list[str] = field(default_factory=list)

    @property
    def jobs_per_second(self) -> float:
        return self.jobs / self.seconds if self.seconds else 0.0


@dataclass
class Member:
    account_id: int
    provider: str
    email: str
    mail_user: object | None = None


class ScaleWorld:
    """Accounts at the sandboxes and Dovecot, connected to one hub; worker processes to sync them."""

    def __init__(self, hub, google_server, graph_sandbox, dovecot, smtp_server, logs: Path):
        self.hub, self.google, self.graph = hub, google_server, graph_sandbox
        self.dovecot, self.smtp_server, self.logs = dovecot, smtp_server, logs
        self.members: list[Member] = []
        self.cycles: list[Cycle] = []
        self._serial = 0
        set_provider_config(hub, "google", google_server.provider_config())
        set_provider_config(hub, "office365", graph_sandbox.config())
        set_provider_config(hub, "imap", imap_config(dovecot, smtp_server))

    # --- accounts -------------------------------------------------------------------------------------

    def populate(self, count: int, events: int = 3, messages: int = 2) -> None:
        """Create ``count`` accounts across the providers (:data:`MIX`), each with events and mail."""
        plan = [name for name, share in MIX for _ in range(round(count * share))]
        plan = (plan + ["google"] * count)[:count]
        for n, provider in enumerate(plan):
            self.members.append(getattr(self, f"_add_{provider}")(n, events, messages))
        jobs_queued = pending_jobs(self.hub)  # every connect queued the account's first sync
        assert jobs_queued == count, jobs_queued

    def _add_google(self, n: int, events: int, messages: int) -> Member:
        email = f"g{n}@example.com"
        self.google.state.add_user(email)
        for i in range(events):
            self._google_event(email, i)
        for i in range(messages):
            self.google.state.deliver_mail(email, raw_mail(f"hello {i}", "dan@globex.example", email,
                                                           f"<g{n}.{i}@globex.example>"))
        return Member(connect_google(self.hub, add_user(self.hub, email), email), "google", email)

    def _google_event(self, email: str, i: int) -> None:
        self._serial += 1
        self.google.state.create_event(email, email, {"summary": f"event {self._serial}",
                                                      "start": {"dateTime": at(1 + i, 9).isoformat()},
                                                      "end": {"dateTime": at(1 + i, 10).isoformat()}})

    def _add_office365(self, n: int, events: int, messages: int) -> Member:
        email = f"m{n}@contoso.example"
        self.graph.state.add_mailbox(email)
        for i in range(events):
            self._graph_event(email, i)
        for i in range(messages):
            self.graph.state.deliver_mail(email, "inbox", subject=f"hello {i}", sender="dan@globex.example",
                                          message_id=f"<m{n}.{i}@globex.example>")
        return Member(connect_office365(self.hub, add_user(self.hub, email), self.graph, email), "office365", email)

    def _graph_event(self, email: str, i: int) -> None:
        self._serial += 1
        when = {"start": {"dateTime": at(1 + i, 9).replace(tzinfo=None).isoformat(), "timeZone": "UTC"},
                "end": {"dateTime": at(1 + i, 10).replace(tzinfo=None).isoformat(), "timeZone": "UTC"}}
        self.graph.state.add_event(email, {"subject": f"event {self._serial}", **when})

    def _add_imap(self, n: int, events: int, messages: int) -> Member:
        user = self.dovecot.add_user()
        self.dovecot.append_many(user, "INBOX", [raw_mail(f"hello {i}", "dan@globex.example", user.email,
                                                          f"<i{n}.{i}@globex.example>") for i in range(messages)])
        params = imap_params(self.dovecot, user, self.smtp_server)
        return Member(connect_account(self.hub, add_user(self.hub, user.email), "imap", params), "imap", user.email, user)

    def remote_changes(self) -> None:
        """Something new at every account: an event, or (IMAP) a message."""
        for m in self.members:
            if m.provider == "google":
                self._google_event(m.email, 5)
            elif m.provider == "office365":
                self._graph_event(m.email, 5)
            else:
                self._serial += 1
                self.dovecot.append(m.mail_user, "INBOX", raw_mail("news", "dan@globex.example", m.email,
                                                                    f"<n{self._serial}@globex.example>"))

    # --- cycles ---------------------------------------------------------------------------------------

    def cycle(self, workers: int, poll: bool = True, timeout: float = 600, simple: bool = False,
              fork: bool = False) -> Cycle:
        """One cycle: (two schedulers poll at once,) ``workers`` burst workers drain the queues.

        :param simple: RQ's plain SimpleWorker instead of ``hub worker`` (timestamps to the second).
        :param fork: ``hub worker --fork`` (a work horse per job).
        """
        if poll:
            ticks = [threading.Thread(target=jobs.poll_all) for _ in range(2)]
            for t in ticks:
                t.start()
            for t in ticks:
                t.join()
        marks = self._provider_marks()
        number = len(self.cycles)
        procs = [WorkerProcess(self.hub, "google,office365,imap", self.logs / f"cycle{number}-worker{i}.log",
                               burst=True, simple=simple, fork=fork) for i in range(workers)]
        deadline = time.monotonic() + timeout
        for p in procs:
            code = p.wait(timeout=max(1.0, deadline - time.monotonic()))
            assert code == 0, p.output()[-3000:]
        result = Cycle(workers=workers)
        self._read_logs(procs, result)
        self._count_provider_calls(marks, result)
        result.failed = [j for q in self.hub.queues.by_name.values() for j in q.failed_job_registry.get_job_ids()]
        self.cycles.append(result)
        return result

    def _read_logs(self, procs: list[WorkerProcess], result: Cycle) -> None:
        first, last = None, None
        for p in procs:
            for line in p.output().splitlines():
                started, ended = JOB_START.match(line), JOB_END.match(line)
                if started:
                    stamp = _stamp(started.group(1))
                    first = stamp if first is None else min(first, stamp)
                    func, args = started.group(2), [a.strip().strip("'") for a in started.group(3).split(",")]
                    result.runs[(func, int(args[0]), tuple(args[1:2]))] += 1
                    result.jobs += 1
                elif ended:
                    stamp = _stamp(ended.group(1))
                    last = stamp if last is None else max(last, stamp)
        if first and last:
            result.seconds = (last - first).total_seconds()

    def _provider_marks(self) -> tuple[int, int, int]:
        log = Path(self.dovecot.directory) / "dovecot.log"
        return len(self.google.state.requests), len(self.graph.state.requests), log.stat().st_size if log.exists() else 0

    def _count_provider_calls(self, marks: tuple[int, int, int], result: Cycle) -> None:
        by_email = {m.email.lower(): m.account_id for m in self.members}
        by_user = {m.mail_user.username: m.account_id for m in self.members if m.mail_user is not None}
        for method, path, _ in list(self.google.state.requests)[marks[0]:]:
            found = re.match(r"/calendar/v3/calendars/([^/?]+)/events\?", path)
            if method == "GET" and found and "pageToken" not in path:
                result.provider_calls[by_email[found.group(1)]] += 1
        state = self.graph.state
        with state.lock:
            graph = list(state.requests[marks[1]:])
            owner = {token: state.grants[grant].email for token, (grant, _) in state.access_tokens.items()}
        for method, path, query, headers in graph:
            if method == "GET" and path.endswith("/calendarview/delta") and "skiptoken" not in query.lower():
                token = headers.get("Authorization", "")[7:]
                result.provider_calls[by_email[owner[token]]] += 1
        log = Path(self.dovecot.directory) / "dovecot.log"
        with log.open("rb") as fh:
            fh.seek(marks[2])
            for line in fh.read().decode(errors="replace").splitlines():
                found = re.search(r"imap-login: Info: Login: user=<([^>]+)>", line)
                if found and found.group(1) in by_user:
                    result.provider_calls[by_user[found.group(1)]] += 1

    # --- checks ---------------------------------------------------------------------------------------

    def exactly_once(self, cycle: Cycle) -> list[str]:
        """Problems with ``cycle``: an account synced twice or not at all (empty when all is well)."""
        problems = []
        per_account: dict[int, Counter] = defaultdict(Counter)
        for (func, account_id, detail), n in cycle.runs.items():
            per_account[account_id][(func,) + detail] = n
        for m in self.members:
            runs = per_account[m.account_id]
            wanted = {("sync_account",): 1, ("sync_mail", "inbox"): 1, ("sync_mail", "sent"): 1}
            if m.provider != "imap":
                wanted[("sync_calendar",)] = 1
            got = {k: v for k, v in runs.items() if k[0] in ("sync_account", "sync_mail")}
            for k, v in runs.items():  # one calendar per account here: its count, under one key
                if k[0] == "sync_calendar":
                    got[("sync_calendar",)] = v
            if got != wanted:
                problems.append(f"account {m.account_id} ({m.provider}): {got}")
            calls = cycle.provider_calls[m.account_id]
            if not (calls in (1, 2) if m.provider == "imap" else calls == 1):
                problems.append(f"account {m.account_id} ({m.provider}): {calls} sync starts at the provider")
        return problems

    def disagreements(self) -> list[str]:
        """Accounts where the hub and the provider disagree (events, and mail for IMAP)."""
        problems = []
        for m in self.members:
            if m.provider == "google":
                same = agreement.hub_events(self.hub, m.account_id) == agreement.google_events(self.google.state,
                                                                                                m.email)
            elif m.provider == "office365":
                same = agreement.hub_events(self.hub, m.account_id) == agreement.graph_events(self.graph.state,
                                                                                               m.email)
            else:
                same = agreement.hub_messages(self.hub, m.account_id, "inbox") == agreement.imap_messages(
                    self.dovecot, m.mail_user, "INBOX")
            if not same:
                problems.append(f"account {m.account_id} ({m.provider}, {m.email})")
        return problems


def _stamp(text: str) -> datetime:
    for layout in STAMPS:
        try:
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    raise ValueError(f"unknown log time {text!r}")


def report(cycles: list[Cycle]) -> str:
    """The figures, one line per cycle."""
    lines = [f"{'workers':>7} {'jobs':>6} {'seconds':>8} {'jobs/s':>7}"]
    for c in cycles:
        lines.append(f"{c.workers:>7} {c.jobs:>6} {c.seconds:>8.2f} {c.jobs_per_second:>7.1f}")
    return "\n".join(lines)
