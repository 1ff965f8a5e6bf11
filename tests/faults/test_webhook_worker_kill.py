"""A worker machine dies while it is posting a webhook to the host CRM.

The receiver holds the request until the worker (``hub worker``, its own process) is SIGKILLed, so
the CRM got the event but the hub never heard the answer. Recovery is what production does: the
reconciler hands the abandoned job to RQ's cleanup, a fresh worker sends the event again — with the
same ``webhook-id``, so a receiver that keeps the ids it saw sees the event exactly once.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from hub import events
from hub.events.delivery import new_secret
from hub.jobs.reconciler import reconcile
from hub.models import Organization, WebhookDelivery, WebhookEndpoint, utcnow
from tests.faults.driving import WorkerProcess, drain_until_quiet, promote_scheduled
from tests.webhook_receiver import Receiver, serve

pytestmark = pytest.mark.faults


@pytest.fixture
def receiver():
    found = Receiver(hold=threading.Event())
    server, found.url = serve(found)
    yield found
    found.hold.set()
    server.shutdown()
    server.server_close()


def test_a_worker_killed_mid_delivery_sends_the_event_again_with_the_same_id(hub, tmp_path, receiver):
    receiver.secret = new_secret()
    with hub.db.session() as s:
        org = Organization(name="Corp")
        s.add(org)
        s.flush()
        s.add(WebhookEndpoint(organization_id=org.id, url=receiver.url, secret={"secret": receiver.secret},
                              allow_private=True))
        s.flush()
        event_id = events.record(s, org.id, "contact.created", {"contact_id": 1, "emails": ["ann@newco.test"]})
    worker = WorkerProcess(hub, "", tmp_path / "worker-1.log", burst=True)
    receiver.wait_for(1)  # the CRM has the event; the worker waits for its answer
    worker.kill()
    receiver.hold.set()

    report = reconcile(hub, now=utcnow() + timedelta(minutes=3))
    assert any(job_id.startswith("webhooks-") for job_id in report.abandoned), report
    promote_scheduled(hub)
    drain_until_quiet(hub)

    assert [r.event_id for r in receiver.requests] == [event_id, event_id]
    assert all(r.verified and r.payload["data"]["emails"] == ["ann@newco.test"] for r in receiver.requests)
    assert len({r.event_id for r in receiver.accepted()}) == 1
    with hub.db.session() as s:
        [delivery] = s.query(WebhookDelivery).all()
        assert delivery.delivered_at is not None and delivery.attempts == 1  # the killed attempt left no trace
