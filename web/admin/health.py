"""Admin → Queues & workers: jobs queued, running and failed per queue, which workers are alive, and
the push notifications that were rejected (forged or stale: the administrator's concern, not the user's)."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import jsonify, render_template
from rq import Worker

from hub import error_log
from hub.core import current_hub
from hub.permissions import Permission
from web.access import actor, requires
from web.admin import bp

#: a worker whose last heartbeat is older than this is shown as not responding
STALE_AFTER_SECONDS = 120


def worker_rows() -> list[dict]:
    """Every RQ worker registered in Redis with its state, queues and heartbeat age."""
    hub = current_hub()
    now = datetime.now(timezone.utc)
    rows = []
    for w in Worker.all(connection=hub.queues.connection):
        beat = w.last_heartbeat
        if beat is not None and beat.tzinfo is None:
            beat = beat.replace(tzinfo=timezone.utc)
        age = (now - beat).total_seconds() if beat else None
        rows.append({"name": w.name, "state": str(w.get_state()), "queues": w.queue_names(),
                     "heartbeat_seconds_ago": None if age is None else round(age),
                     "alive": age is not None and age < STALE_AFTER_SECONDS,
                     "current_job": w.get_current_job_id()})
    return sorted(rows, key=lambda r: r["name"])


@bp.route("/health")
@requires(Permission.ADMIN)
def health():
    hub = current_hub()
    with hub.db.session() as s:
        rejected = error_log.for_admin(s, actor().organization_id)
    return render_template("admin/health.html", counts=hub.queues.counts(), workers=worker_rows(),
                           rejected=rejected)


@bp.route("/health.json")
@requires(Permission.ADMIN)
def health_json():
    """The same numbers for monitoring."""
    hub = current_hub()
    workers = worker_rows()
    return jsonify(queues=hub.queues.counts(), workers=workers, workers_alive=sum(w["alive"] for w in workers))
