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
