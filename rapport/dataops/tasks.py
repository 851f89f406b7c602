from celery import shared_task


@shared_task(name="dataops.duplicate_scan")
def duplicate_scan(job_id: int | None = None) -> int:
    """Run (or resume) a duplicate scan; the nightly schedule starts one without a job."""
    from rapport.core.models import Job

    from . import scan

    job = Job.objects.filter(pk=job_id).first() if job_id else scan.scan_start(actor=None)
    if job is None:
        return 0
    scan.scan_run(job)
    return sum((job.result or {}).get("pairs", {}).values())


@shared_task(name="dataops.import_execute")
def import_execute(job_id: int) -> str:
    """Run (or resume) an import job."""
    from rapport.core.models import Job

    from . import importing

    job = Job.objects.filter(pk=job_id, kind=importing.KIND).first()
    if job is None or job.is_finished:
        return "missing"
    return importing.import_execute(job).state


@shared_task(name="dataops.export_execute")
def export_execute(job_id: int) -> str:
    """Write (or resume) an export file."""
    from rapport.core.models import Job

    from . import exporting

    job = Job.objects.filter(pk=job_id, kind=exporting.KIND).first()
    if job is None or job.is_finished:
        return "missing"
    return exporting.export_execute(job).state


@shared_task(name="dataops.backup")
def backup_now(user_id: int | None = None) -> str:
    """Write, verify and prune backups (the nightly schedule, or "Back up now")."""
    from rapport.identity.models import User

    from . import backup

    actor = User.objects.filter(pk=user_id).first() if user_id else None
    return backup.backup_create(actor=actor).file_name


@shared_task(name="dataops.quality_compute")
def quality_compute(job_id: int | None = None) -> str:
    """Compute (or resume computing) the data-quality scores; the nightly schedule starts
    one without a job."""
    from rapport.core.models import Job

    from . import quality

    if job_id:
        job = Job.objects.filter(pk=job_id, kind=quality.KIND).first()
        if job is None:
            return "missing"
    else:
        job = quality.compute_start(actor=None)
    if job.is_finished:
        return job.state
    if job.state == Job.State.RUNNING and quality.in_hand(job):
        return "running"  # another worker is on it
    return quality.compute_run(job).state


@shared_task(name="dataops.privacy_bundle")
def privacy_bundle(job_id: int) -> str:
    """Write the data bundle of a data-subject access request."""
    from rapport.core.models import Job

    from . import privacy

    job = Job.objects.filter(pk=job_id, kind=privacy.BUNDLE_KIND).first()
    if job is None or job.is_finished:
        return "missing"
    return privacy.bundle_execute(job).state


@shared_task(name="dataops.subject_request_reminders")
def subject_request_reminders() -> int:
    """Remind assignees of data-subject requests due soon or overdue (daily on beat)."""
    from . import privacy

    return privacy.reminders_send()


@shared_task(name="dataops.retention")
def retention(job_id: int | None = None) -> str:
    """Apply the retention policies (nightly on beat, or "Run now"); resumes an unfinished run."""
    from rapport.core.models import Job

    from . import privacy_retention

    if job_id:
        job = Job.objects.filter(pk=job_id, kind=privacy_retention.KIND).first()
        if job is None:
            return "missing"
    else:
        job = privacy_retention.retention_start(actor=None)
    if job.is_finished:
        return job.state
    return privacy_retention.retention_run(job).state
