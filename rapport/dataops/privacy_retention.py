"""Retention policies: how long each class of data is kept, and what happens after.

    preview()                          # [(policy, how many records it would touch now)]
    job = retention_start(actor=…)     # the enabled policies, as one resumable Job
    retention_run(job)                 # nightly on beat (`dataops.retention`), or "Run now"

Data classes and what a policy does to what is older than its days:

- interactions (time of the interaction; open tasks are left alone): clear the text and the
  attachments, keeping kind, time, outcome and links (`redact`), or delete them (`delete`);
- inactive contacts (not changed and no interaction within the days): anonymize, as an
  erasure request would (`customers.services.contact_anonymize`);
- withdrawn consents (withdrawn longer ago): keep the answer as evidence, clear the
  evidence text (`strip`);
- export files, data-subject access bundles (finished longer ago), import files (uploaded
  longer ago; their rows' raw cells go too, so rollback is no longer offered): delete;
- closed data-subject requests: clear the person's identification, keep kind, dates and
  outcome (`anonymize`).

A run walks each enabled policy's candidates in id order, a batch at a time; a batch and
its checkpoint commit together, so a run that stops resumes where it was and does nothing
twice (what was done no longer matches). The counts per policy are the job's result and
the run's audit event. Writes to customer data go through the customers services, as the
retention schedule (no acting person); the run's audit event names who started it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core import jobs, trail
from rapport.core.errors import DomainError, PermissionDenied
from rapport.core.models import Job
from rapport.customers import services as customer_services
from rapport.customers.models import Consent, ConsentStatus, Contact, Interaction
from rapport.identity import policy as access
from rapport.identity.models import Action, User

from .models import (
    ImportRow,
    ImportRun,
    ImportState,
    RetentionAction,
    RetentionClass,
    RetentionPolicy,
    SubjectRequest,
    SubjectRequestStatus,
)

KIND = "dataops.retention"
OBJECT_TYPE = RetentionPolicy.security_type
BATCH = 200
FINISHED = (Job.State.SUCCEEDED, Job.State.FAILED, Job.State.CANCELLED)
ACTIONS: dict[str, tuple[str, ...]] = {
    RetentionClass.INTERACTIONS: (RetentionAction.REDACT, RetentionAction.DELETE),
    RetentionClass.INACTIVE_CONTACTS: (RetentionAction.ANONYMIZE,),
    RetentionClass.WITHDRAWN_CONSENTS: (RetentionAction.STRIP,),
    RetentionClass.EXPORT_FILES: (RetentionAction.DELETE,),
    RetentionClass.IMPORT_FILES: (RetentionAction.DELETE,),
    RetentionClass.PRIVACY_BUNDLES: (RetentionAction.DELETE,),
    RetentionClass.SUBJECT_REQUESTS: (RetentionAction.ANONYMIZE,),
}
DESCRIPTIONS = {
    RetentionClass.INTERACTIONS: gettext_lazy(
        "Calls, meetings, notes and done tasks older than this (open tasks stay)."
    ),
    RetentionClass.INACTIVE_CONTACTS: gettext_lazy(
        "Contacts neither changed nor in any interaction for this long."
    ),
    RetentionClass.WITHDRAWN_CONSENTS: gettext_lazy(
        "Consents withdrawn longer ago: the answer stays as evidence, the evidence text goes."
    ),
    RetentionClass.EXPORT_FILES: gettext_lazy("Export files of finished exports."),
    RetentionClass.IMPORT_FILES: gettext_lazy(
        "Uploaded import files and the raw cells kept of their rows (rollback ends)."
    ),
    RetentionClass.PRIVACY_BUNDLES: gettext_lazy(
        "Data bundles made for data-subject access requests."
    ),
    RetentionClass.SUBJECT_REQUESTS: gettext_lazy(
        "Closed data-subject requests: the person's identification is cleared, the rest stays."
    ),
}
MIN_DAYS, MAX_DAYS = 1, 36500


def _refuse(name: str, message: str, code: str) -> ValidationError:
    return ValidationError({name: ValidationError(message, code=code)})


def can_manage(user: User) -> bool:
    return access.has_grant(user, OBJECT_TYPE, Action.MANAGE)


# What a missing policy starts as (the migration seeds the same): days, then what, enabled.
DEFAULTS: dict[str, tuple[int, str, bool]] = {
    RetentionClass.INTERACTIONS: (1825, RetentionAction.REDACT, False),
    RetentionClass.INACTIVE_CONTACTS: (1095, RetentionAction.ANONYMIZE, False),
    RetentionClass.WITHDRAWN_CONSENTS: (730, RetentionAction.STRIP, False),
    RetentionClass.EXPORT_FILES: (30, RetentionAction.DELETE, True),
    RetentionClass.IMPORT_FILES: (90, RetentionAction.DELETE, False),
    RetentionClass.PRIVACY_BUNDLES: (30, RetentionAction.DELETE, True),
    RetentionClass.SUBJECT_REQUESTS: (1095, RetentionAction.ANONYMIZE, False),
}


def policies() -> list[RetentionPolicy]:
    """One policy per data class, in a fixed order; a class without a row (a newer class,
    a wiped table) gets one with its defaults."""
    found = list(RetentionPolicy.objects.select_related("updated_by").order_by("id"))
    missing = [code for code in DEFAULTS if code not in {p.data_class for p in found}]
    if missing:
        RetentionPolicy.objects.bulk_create(
            [
                RetentionPolicy(
                    data_class=code,
                    days=DEFAULTS[code][0],
                    action=DEFAULTS[code][1],
                    enabled=DEFAULTS[code][2],
                )
                for code in missing
            ],
            ignore_conflicts=True,
        )
        found = list(RetentionPolicy.objects.select_related("updated_by").order_by("id"))
    return found


def policy_update(
    *,
    actor: User,
    policy: RetentionPolicy,
    days: int | None = None,
    action: str | None = None,
    enabled: bool | None = None,
) -> RetentionPolicy:
    """Change how long a class is kept, what happens after, or whether the policy runs.
    Needs manage on retention; audited with before/after."""
    if not can_manage(actor):
        raise PermissionDenied()
    fields = ("days", "action", "enabled")
    before = trail.snapshot(policy, fields)
    if days is not None:
        try:
            days = int(days)
        except (TypeError, ValueError):
            raise _refuse("days", _("Enter a whole number of days."), "invalid") from None
        if not MIN_DAYS <= days <= MAX_DAYS:
            raise _refuse(
                "days",
                _("Between %(low)d and %(high)d days.") % {"low": MIN_DAYS, "high": MAX_DAYS},
                "out_of_range",
            )
        policy.days = days
    if action is not None:
        allowed = ACTIONS[policy.data_class]
        if action not in allowed:
            raise _refuse(
                "action",
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(allowed)},
                "invalid_choice",
            )
        policy.action = action
    if enabled is not None:
        policy.enabled = bool(enabled)
    changes = trail.diff(before, trail.snapshot(policy, fields))
    if not changes:
        return policy
    with transaction.atomic():
        policy.updated_by = actor
        policy.save()
        trail.record(actor=actor, action="update", target=policy, changes=changes)
    return policy


# --- what a policy touches -------------------------------------------------------------------


def cutoff(policy: RetentionPolicy, now: datetime) -> datetime:
    return now - timedelta(days=policy.days)


def _job_files(kind: str, before: datetime) -> QuerySet:
    return Job.objects.filter(kind=kind, state__in=FINISHED, finished_at__lt=before).exclude(
        result__has_key="file_removed_at"
    )


def candidates(policy: RetentionPolicy, before: datetime) -> QuerySet:
    """The records `policy` would act on now (those older than `before`, not yet done)."""
    from . import exporting, privacy

    data_class = policy.data_class
    if data_class == RetentionClass.INTERACTIONS:
        records = Interaction.objects.filter(occurred_at__lt=before).exclude(
            kind="task", done_at__isnull=True
        )
        if policy.action == RetentionAction.REDACT:
            records = records.filter(redacted_at__isnull=True)
        return records
    if data_class == RetentionClass.INACTIVE_CONTACTS:
        recent = Interaction.objects.filter(contact_id=OuterRef("pk"), occurred_at__gte=before)
        return Contact.objects.filter(
            anonymized_at__isnull=True, created_at__lt=before, updated_at__lt=before
        ).exclude(Exists(recent))
    if data_class == RetentionClass.WITHDRAWN_CONSENTS:
        return Consent.objects.filter(
            status=ConsentStatus.WITHDRAWN, updated_at__lt=before
        ).exclude(evidence="")
    if data_class == RetentionClass.EXPORT_FILES:
        return _job_files(exporting.KIND, before)
    if data_class == RetentionClass.PRIVACY_BUNDLES:
        return _job_files(privacy.BUNDLE_KIND, before)
    if data_class == RetentionClass.IMPORT_FILES:
        return (
            ImportRun.objects.filter(created_at__lt=before)
            .exclude(file="")
            .exclude(state=ImportState.RUNNING)
        )
    if data_class == RetentionClass.SUBJECT_REQUESTS:
        return SubjectRequest.objects.filter(
            status__in=[SubjectRequestStatus.COMPLETED, SubjectRequestStatus.REJECTED],
            closed_at__lt=before,
            identification_removed_at__isnull=True,
        )
    raise ValueError(f"unknown data class {data_class!r}")


def preview(*, now: datetime | None = None) -> list[tuple[RetentionPolicy, int]]:
    """Every policy with how many records it would touch if it ran now (a dry run: nothing
    changes)."""
    now = now or timezone.now()
    return [(policy, candidates(policy, cutoff(policy, now)).count()) for policy in policies()]


# --- applying a policy to one batch ----------------------------------------------------------


def _delete_files(paths: list[str]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            Path(path).unlink(missing_ok=True)


def _job_file(job: Job) -> Path:
    from . import privacy

    if job.kind == privacy.BUNDLE_KIND:
        return Path(settings.MEDIA_ROOT) / "exports" / f"privacy-{job.pk}.zip"
    return Path(settings.MEDIA_ROOT) / "exports" / f"export-{job.pk}.{job.params.get('format')}"


def _remove_job_files(ids: list[int], now: datetime) -> int:
    removed: list[str] = []
    count = 0
    for job in Job.objects.filter(pk__in=ids):
        path = _job_file(job)
        removed += [str(path), str(path.with_suffix(".part"))]
        job.result = {**(job.result or {}), "file_removed_at": now.isoformat()}
        job.save(update_fields=["result"])
        count += 1
    transaction.on_commit(partial(_delete_files, removed))
    return count


def _remove_import_files(ids: list[int]) -> int:
    from django.core.files.storage import default_storage

    names: list[str] = []
    count = 0
    for run in ImportRun.objects.filter(pk__in=ids):
        if run.file.name:
            names.append(run.file.name)
        run.file = ""
        run.save(update_fields=["file"])
        count += 1
    ImportRow.objects.filter(run_id__in=ids).update(cells=[], before={})

    def delete() -> None:
        for name in names:
            with contextlib.suppress(OSError):
                default_storage.delete(name)

    transaction.on_commit(delete)
    return count


def _clear_requests(ids: list[int], now: datetime) -> int:
    count = 0
    for request in SubjectRequest.objects.filter(pk__in=ids):
        for name in ("subject_name", "subject_phone", "subject_email", "subject_id_number"):
            setattr(request, name, "")
        request.details = ""
        request.identification_removed_at = now
        request.save()
        count += 1
    return count


def _anonymize_contacts(job: Job, policy: RetentionPolicy, ids: list[int]) -> int:
    count = 0
    for contact in Contact.objects.filter(pk__in=ids):
        try:
            with transaction.atomic():
                done = customer_services.contact_anonymize(
                    actor=None,
                    contact=contact,
                    reason="retention",
                    extra={"retention_job": job.pk, "policy": policy.data_class},
                )
        except (ValidationError, DomainError) as error:  # locked (an approval pending) …
            jobs.job_progress(
                job=job,
                error={"policy": policy.data_class, "record": contact.pk, "message": str(error)},
            )
            continue
        count += done is not None
    return count


def apply(job: Job, policy: RetentionPolicy, ids: list[int], now: datetime) -> int:
    """Do what `policy` says to the records `ids` (inside the caller's transaction)."""
    reason = f"retention:{policy.data_class}"
    data_class = policy.data_class
    if data_class == RetentionClass.INTERACTIONS:
        if policy.action == RetentionAction.DELETE:
            return customer_services.interactions_purge(actor=None, interactions=ids, reason=reason)
        return customer_services.interactions_redact(actor=None, interactions=ids, reason=reason)
    if data_class == RetentionClass.INACTIVE_CONTACTS:
        return _anonymize_contacts(job, policy, ids)
    if data_class == RetentionClass.WITHDRAWN_CONSENTS:
        return customer_services.consents_strip_evidence(actor=None, consents=ids, reason=reason)
    if data_class in (RetentionClass.EXPORT_FILES, RetentionClass.PRIVACY_BUNDLES):
        count = _remove_job_files(ids, now)
    elif data_class == RetentionClass.IMPORT_FILES:
        count = _remove_import_files(ids)
    elif data_class == RetentionClass.SUBJECT_REQUESTS:
        count = _clear_requests(ids, now)
    else:
        raise ValueError(f"unknown data class {data_class!r}")
    trail.record(
        actor=None,
        action="retention.purge",
        object_type=OBJECT_TYPE,
        object_repr=str(policy),
        extra={"policy": data_class, "count": count, "ids": ids, "job": job.pk},
    )
    return count


# --- the run ---------------------------------------------------------------------------------


def retention_start(*, actor: User | None) -> Job:
    """A job applying every enabled policy (a person needs manage on retention; None is
    the nightly schedule). An unfinished run is resumed rather than started twice."""
    if actor is not None and not can_manage(actor):
        raise PermissionDenied()
    unfinished = Job.objects.filter(kind=KIND, state__in=[Job.State.QUEUED, Job.State.RUNNING])
    existing = unfinished.order_by("-id").first()
    if existing is not None:
        return existing
    enabled = [p.pk for p in policies() if p.enabled]
    return jobs.job_create(
        actor=actor,
        kind=KIND,
        title=_("Retention run"),
        total=len(enabled),
        params={"policies": enabled, "now": timezone.now().isoformat()},
    )


def retention_run(job: Job, *, progress: Callable[[Job], None] | None = None) -> Job:
    """Run (or resume) a retention job; see the module docstring."""
    if job.is_finished:
        return job
    now = parse_datetime(job.params["now"]) or timezone.now()
    checkpoint = dict(job.checkpoint or {})
    counts: dict[str, int] = dict(checkpoint.get("counts") or {})
    start = int(checkpoint.get("index", 0))
    jobs.job_start(job=job)
    policy_ids = list(job.params.get("policies") or [])
    try:
        for index in range(start, len(policy_ids)):
            policy = RetentionPolicy.objects.filter(pk=policy_ids[index], enabled=True).first()
            after = int(checkpoint.get("after", 0)) if index == start else 0
            if policy is not None:
                counts.setdefault(policy.data_class, 0)
                records = candidates(policy, cutoff(policy, now))
                while True:
                    ids = list(
                        records.filter(pk__gt=after)
                        .order_by("pk")
                        .values_list("pk", flat=True)[:BATCH]
                    )
                    if not ids:
                        break
                    with transaction.atomic():
                        counts[policy.data_class] += apply(job, policy, ids, now)
                        after = ids[-1]
                        jobs.job_progress(
                            job=job,
                            succeeded=sum(counts.values()),
                            checkpoint={"index": index, "after": after, "counts": counts},
                        )
                    if progress is not None:
                        progress(job)
                RetentionPolicy.objects.filter(pk=policy.pk).update(last_run_at=timezone.now())
            jobs.job_progress(
                job=job,
                processed=index + 1,
                checkpoint={"index": index + 1, "after": 0, "counts": counts},
            )
    except Exception as error:
        jobs.job_progress(job=job, error={"message": str(error)[:500]})
        jobs.job_finish(job=job, state=Job.State.FAILED, result={"counts": counts})
        raise
    with transaction.atomic():
        jobs.job_finish(job=job, result={"counts": counts})
        trail.record(
            actor=job.created_by,
            action="retention.run",
            object_type=OBJECT_TYPE,
            object_repr=str(RetentionPolicy._meta.verbose_name_plural),
            extra={"job": job.pk, "counts": counts},
        )
    return job


def runs(limit: int = 30) -> list[Job]:
    return list(Job.objects.filter(kind=KIND).select_related("created_by").order_by("-id")[:limit])


def class_label(code: str) -> str:
    return str(dict(RetentionClass.choices).get(code, code))


def counts_shown(job: Job) -> list[tuple[str, int]]:
    counts = (job.result or {}).get("counts") or (job.checkpoint or {}).get("counts") or {}
    return [(class_label(code), n) for code, n in counts.items()]
