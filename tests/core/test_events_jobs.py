from __future__ import annotations

import pytest
from django.db import transaction

from rapport.audit.models import AuditEvent
from rapport.core import events, jobs
from rapport.core.models import Job, OutboxMessage
from rapport.customers import services

pytestmark = pytest.mark.django_db


def test_subscribers_run_after_commit_only(org, django_capture_on_commit_callbacks):
    seen: list[dict] = []

    def handler(topic, payload):
        seen.append(payload)

    events.subscribe("record.created", handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            account = services.account_create(actor=org["admin"], name="京东")
        assert {"type": "customers.account", "id": account.pk} in seen
        seen.clear()
        with (
            pytest.raises(RuntimeError),
            django_capture_on_commit_callbacks(execute=True),
            transaction.atomic(),
        ):
            services.account_create(actor=org["admin"], name="不会提交")
            raise RuntimeError
        assert seen == []
    finally:
        events.unsubscribe("record.created", handler)


def test_outbox_keeps_failed_deliveries_and_retries_with_the_same_key(org):
    services.account_create(actor=org["admin"], name="网易")
    calls: list[str] = []
    fail = {"on": True}

    def external(topic, payload, key):
        calls.append(key)
        if fail["on"]:
            raise ConnectionError("downstream unavailable")

    events._external.append(external)
    try:
        pending = OutboxMessage.objects.filter(delivered_at__isnull=True).count()
        assert pending >= 1
        assert events.relay_outbox() == 0
        assert OutboxMessage.objects.filter(delivered_at__isnull=True).count() == pending
        first_keys = list(calls)
        fail["on"] = False
        calls.clear()
        assert events.relay_outbox() == pending
        assert calls == first_keys  # same idempotency keys on retry: downstream can de-duplicate
        assert events.relay_outbox() == 0  # nothing is sent twice
    finally:
        events._external.remove(external)


def test_job_progress_and_checkpoint(org):
    job = jobs.job_create(actor=org["admin"], kind="test.count", title="Count", total=4)
    jobs.job_start(job=job)
    jobs.job_progress(job=job, processed=2, succeeded=2, checkpoint={"after_id": 2})
    job.refresh_from_db()
    assert (job.percent, job.checkpoint) == (50, {"after_id": 2})
    jobs.job_progress(
        job=job, processed=4, succeeded=3, failed=1, error={"row": 4, "message": "bad"}
    )
    jobs.job_finish(job=job)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and job.percent == 100 and job.errors[0]["row"] == 4
    assert AuditEvent.objects.filter(action="job.finish", object_id=str(job.pk)).exists()
