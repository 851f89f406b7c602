"""Rebuild the search index as a resumable job.

The job walks each registered type by primary key in batches. Each batch's documents and the
job's counts and checkpoint ({"type", "after", "done"}) are saved in one transaction, so an
interrupted rebuild resumes after the last saved batch: nothing is indexed twice, nothing is
skipped. Documents are upserted by (type, id), so even a replayed batch cannot duplicate one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .. import jobs
from ..models import Job
from . import index, registry, statistics

KIND = "search.rebuild"
STALE_AFTER = timedelta(minutes=5)  # a running job with no heartbeat for this long is dead


class RebuildRunning(Exception):
    def __init__(self, job: Job) -> None:
        self.job = job
        super().__init__(f"search rebuild job #{job.pk} is running")


def _types(types: Sequence[str] | None) -> list[str]:
    known = registry.object_types()
    if not types:
        return known
    unknown = [name for name in types if name not in known]
    if unknown:
        raise LookupError(", ".join(unknown))
    return [name for name in known if name in types]


def resumable(types: Sequence[str] | None = None) -> Job | None:
    """The latest unfinished or failed rebuild of the same types, if any."""
    wanted = _types(types)
    for job in Job.objects.filter(
        kind=KIND, state__in=[Job.State.QUEUED, Job.State.RUNNING, Job.State.FAILED]
    ).order_by("-id")[:20]:
        if job.params.get("types") == wanted:
            return job
    return None


def start(*, actor, types: Sequence[str] | None = None, restart: bool = False) -> Job:
    """A rebuild job to run: the interrupted one of the same types, else a new one.

    Refuses (RebuildRunning) while another process is still working on that job.
    """
    wanted = _types(types)
    job = None if restart else resumable(wanted)
    if job is not None:
        alive = job.heartbeat_at and timezone.now() - job.heartbeat_at < STALE_AFTER
        if job.state == Job.State.RUNNING and alive:
            raise RebuildRunning(job)
        return job
    total = sum(registry.get(name).model._default_manager.count() for name in wanted)
    return jobs.job_create(
        actor=actor,
        kind=KIND,
        title="Rebuild the search index",
        total=total,
        params={"types": wanted},
    )


def run(job: Job, *, batch_size: int = 500, progress: Callable[[Job], None] | None = None) -> Job:
    """Index every record of the job's types from its checkpoint on; finish the job."""
    if job.state == Job.State.FAILED:
        job.finished_at = None
        job.save(update_fields=["finished_at"])
    jobs.job_start(job=job)
    checkpoint = dict(job.checkpoint or {})
    done: list[str] = list(checkpoint.get("done", []))
    processed = job.processed
    try:
        for object_type in job.params.get("types", []):
            if object_type in done:
                continue
            registration = registry.get(object_type)
            if registration is None:
                continue
            records = registration.model._default_manager
            after = int(checkpoint.get("after", 0)) if checkpoint.get("type") == object_type else 0
            while True:
                ids = list(
                    records.filter(pk__gt=after)
                    .order_by("pk")
                    .values_list("pk", flat=True)[:batch_size]
                )
                if not ids:
                    break
                with transaction.atomic():
                    batch = list(registration.for_indexing(records.filter(pk__in=ids)))
                    index.write(registration, batch)
                    after = ids[-1]
                    processed += len(ids)
                    checkpoint = {"type": object_type, "after": after, "done": done}
                    jobs.job_progress(
                        job=job, processed=processed, succeeded=processed, checkpoint=checkpoint
                    )
                if progress is not None:
                    progress(job)
            index.prune(object_type)
            statistics.refresh([object_type])
            done = [*done, object_type]
            checkpoint = {"type": None, "after": 0, "done": done}
            jobs.job_progress(
                job=job, processed=processed, total=max(job.total, processed), checkpoint=checkpoint
            )
    except Exception as error:
        jobs.job_progress(job=job, error={"message": str(error)[:500]})
        jobs.job_finish(job=job, state=Job.State.FAILED)
        raise
    return jobs.job_finish(job=job, result={"indexed": processed, "types": done})


def rebuild(
    *,
    actor=None,
    types: Sequence[str] | None = None,
    batch_size: int = 500,
    progress: Callable[[Job], None] | None = None,
) -> Job:
    """Start (or resume) and run a rebuild in this process."""
    return run(start(actor=actor, types=types), batch_size=batch_size, progress=progress)
