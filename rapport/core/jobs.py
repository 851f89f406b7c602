"""The one job/progress model: start a job, report progress, checkpoint, finish.

A job's work function is called with the Job and resumes from `job.checkpoint`; it calls
`progress(...)` as it goes, which saves counts and checkpoint together so a crash resumes
from the last saved point and neither repeats nor skips committed work.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from . import trail
from .models import Job


def job_create(
    *, actor, kind: str, title: str = "", total: int = 0, params: dict | None = None
) -> Job:
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind, title=title, total=total, params=params or {}, created_by=actor
        )
        trail.record(actor=actor, action="job.create", target=job, extra={"kind": kind})
    return job


def job_start(*, job: Job) -> Job:
    job.state = Job.State.RUNNING
    job.started_at = job.started_at or timezone.now()
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["state", "started_at", "heartbeat_at"])
    return job


def job_progress(
    *,
    job: Job,
    processed: int | None = None,
    succeeded: int | None = None,
    failed: int | None = None,
    total: int | None = None,
    checkpoint: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> Job:
    """Save counts and checkpoint in one write (call it inside the batch's transaction)."""
    for name, value in (
        ("processed", processed),
        ("succeeded", succeeded),
        ("failed", failed),
        ("total", total),
    ):
        if value is not None:
            setattr(job, name, value)
    if checkpoint is not None:
        job.checkpoint = checkpoint
    if error is not None:
        job.errors = [*job.errors, error][-500:]
    job.heartbeat_at = timezone.now()
    job.save(
        update_fields=[
            "processed",
            "succeeded",
            "failed",
            "total",
            "checkpoint",
            "errors",
            "heartbeat_at",
        ]
    )
    return job


def job_finish(*, job: Job, state: str = Job.State.SUCCEEDED, result: dict | None = None) -> Job:
    job.state = state
    job.finished_at = timezone.now()
    if result is not None:
        job.result = result
    job.save(update_fields=["state", "finished_at", "result"])
    trail.record(
        actor=job.created_by,
        action="job.finish",
        target=job,
        result="success" if state == Job.State.SUCCEEDED else "failure",
        extra={"kind": job.kind, "processed": job.processed, "failed": job.failed},
    )
    return job


def job_cancel(*, actor, job: Job) -> Job:
    if job.is_finished:
        return job
    with transaction.atomic():
        job_finish(job=job, state=Job.State.CANCELLED)
        trail.record(actor=actor, action="job.cancel", target=job)
    return job
