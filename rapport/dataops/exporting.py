"""Exporting a list (accounts, contacts) to CSV or XLSX, as a Job.

The export reads exactly what the list shows the user: the same quick filters, filter text,
sort and columns (`customers.list_views.filtered_records`, `customers.columns`), restricted
to what they may view and with their field rules applied (masked values masked, hidden
fields not offered). It streams: records are read in id order a few thousand at a time and
written as they come, so a million rows take a file's worth of disk, not of memory.

Every file carries who exported it and when (a closing line in a CSV, the footer and the
properties of a workbook); every export is an audit event with its size (the bulk-export
alert rule reads it), and so is every download. Cells a spreadsheet would run as formulas
(=, +, -, @ …) are written as text.

A CSV export resumes where it stopped (the checkpoint holds the last id and the file's
length); a workbook is written again from the start.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from rapport.core import guards, jobs, locks, trail
from rapport.core.errors import NotFound, PermissionDenied
from rapport.core.models import Job
from rapport.customers import columns as list_columns
from rapport.customers.forms import AccountFilterForm, ContactFilterForm
from rapport.customers.listing import filtered_records
from rapport.customers.models import Account, Contact
from rapport.identity import policy
from rapport.identity.models import Action, User

KIND = "dataops.export"
FORMATS = ("csv", "xlsx")
CHUNK = 2000
MODELS = {
    Account.security_type: (Account, AccountFilterForm),
    Contact.security_type: (Contact, ContactFilterForm),
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _refuse(name: str, message: str, code: str) -> ValidationError:
    return ValidationError({name: ValidationError(message, code=code)})


def safe_cell(value: Any) -> Any:
    """A text cell a spreadsheet would evaluate is prefixed with an apostrophe."""
    if isinstance(value, str) and value[:1] in FORMULA_START:
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def _not_anonymized(records):
    """Anonymized contacts (erasure, retention) are left out of every export."""
    if records.model is Contact:
        return records.filter(anonymized_at__isnull=True)
    return records


def _data(state: dict[str, Any]) -> QueryDict:
    data = QueryDict(mutable=True)
    for name in ("filter", "sort"):
        if state.get(name):
            data[name] = str(state[name])
    for name, value in (state.get("params") or {}).items():
        data.setlist(name, [str(v) for v in value] if isinstance(value, list) else [str(value)])
    return data


def export_start(
    *, actor: User, object_type: str, state: dict[str, Any], file_format: str = "csv"
) -> Job:
    """A job exporting the list of `object_type` as `state` describes it ({"filter": …,
    "sort": …, "params": {quick filters}, "columns": [keys]}). Needs the export grant;
    a bad filter or format is refused naming it."""
    if object_type not in MODELS:
        raise _refuse(
            "type", _("“%(type)s” cannot be exported.") % {"type": object_type}, "unknown_type"
        )
    if not policy.has_grant(actor, object_type, Action.EXPORT):
        raise PermissionDenied()
    if file_format not in FORMATS:
        raise _refuse(
            "format",
            _("Choose one of: %(formats)s.") % {"formats": ", ".join(FORMATS)},
            "invalid_choice",
        )
    model, form_class = MODELS[object_type]
    listed = filtered_records(actor, model, form_class, _data(state))
    if listed.filter_error:
        raise _refuse("filter", listed.filter_error, "invalid")
    listed.records = _not_anonymized(listed.records)
    offered = list_columns.columns_for(actor, object_type)
    keys = [key for key in (state.get("columns") or []) if key in offered]
    if state.get("columns") and not keys:
        raise _refuse("columns", _("None of these columns can be exported."), "invalid")
    total = listed.records.count()
    with transaction.atomic():
        job = jobs.job_create(
            actor=actor,
            kind=KIND,
            title=_("Export of %(count)d %(type)s")
            % {"count": total, "type": model._meta.verbose_name_plural},
            total=total,
            params={
                "type": object_type,
                "state": {**state, "columns": keys or None},
                "format": file_format,
                "language": translation.get_language(),
            },
        )
        # an approval process for exports may have to agree first (`core.guards`)
        guards.submit(job, actor=actor)
    return job


def on_approval(job: Job, *, actor, approved: bool, comment: str) -> None:
    """An export's approval ended: send it to the worker, or cancel it."""
    if approved:
        from . import tasks

        transaction.on_commit(lambda: tasks.export_execute.delay(job.pk))
    else:
        jobs.job_cancel(actor=actor, job=job)


def waiting(job: Job) -> str:
    """Why the export waits (an approval is pending), or ""."""
    return locks.lock_reason(job) or ""


def _path(job: Job) -> Path:
    folder = Path(settings.MEDIA_ROOT) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"export-{job.pk}.{job.params['format']}"


def watermark(actor: User, when) -> str:
    return _("Exported by %(user)s (%(username)s) at %(when)s — for internal use only") % {
        "user": actor.get_full_name() or actor.username,
        "username": actor.username,
        "when": timezone.localtime(when).strftime("%Y-%m-%d %H:%M %Z"),
    }


def export_execute(job: Job) -> Job:
    """Write (or resume) the export file; finish the job; audit the export. Refused while
    an approval is pending; a rejected one cancelled the job."""
    locks.ensure_unlocked(job)
    if guards.outcome(job) == guards.REJECTED or job.state == Job.State.CANCELLED:
        raise _refuse("job", _("This export was not approved."), "rejected")
    actor = job.created_by
    object_type = job.params["type"]
    model, form_class = MODELS[object_type]
    state = job.params["state"]
    with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
        listed = filtered_records(actor, model, form_class, _data(state))
        listed.records = _not_anonymized(listed.records)
        offered = list_columns.columns_for(actor, object_type)
        shown = list_columns.chosen(offered, state.get("columns"))
        # the record's number and name lead, as the name leads every list row
        headers = [
            _("No."),
            str(capfirst(model._meta.get_field("name").verbose_name)),
            *[str(column.label) for column in shown],
        ]
        records = list_columns.prepare(listed.records, actor, object_type, shown).order_by("pk")
        jobs.job_start(job=job)
        path = _path(job)
        try:
            if job.params["format"] == "csv":
                written = _write_csv(job, path, headers, records, actor, object_type, shown)
            else:
                written = _write_xlsx(job, path, headers, records, actor, object_type, shown)
        except Exception as error:
            jobs.job_progress(job=job, error={"message": str(error)[:500]})
            jobs.job_finish(job=job, state=Job.State.FAILED)
            raise
        with transaction.atomic():
            jobs.job_finish(
                job=job, result={"rows": written, "file": path.name, "bytes": path.stat().st_size}
            )
            trail.record(
                actor=actor,
                action="export",
                object_type=object_type,
                object_repr=str(model._meta.verbose_name_plural),
                extra={
                    "count": written,
                    "job": job.pk,
                    "format": job.params["format"],
                    "filter": state.get("filter", ""),
                    "columns": [c.key for c in shown],
                },
            )
    return job


def _row(actor, object_type, shown, record) -> list[Any]:
    cells = [record.pk, record.name, *list_columns.plain_cells(actor, object_type, shown, record)]
    return [safe_cell(value) for value in cells]


def _chunks(records, after: int):
    while True:
        batch = list(records.filter(pk__gt=after)[:CHUNK])
        if not batch:
            return
        yield batch
        after = batch[-1].pk


def _write_csv(job, path, headers, records, actor, object_type, shown) -> int:
    checkpoint = dict(job.checkpoint or {})
    after, written = int(checkpoint.get("after", 0)), int(checkpoint.get("rows", 0))
    size = int(checkpoint.get("bytes", 0))
    mode = "r+b" if after and path.exists() else "wb"
    with path.open(mode) as raw:
        if mode == "r+b":
            raw.truncate(size)
            raw.seek(size)
        else:
            raw.write("\ufeff".encode())
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(text)
        if mode == "wb":
            writer.writerow(headers)
        for batch in _chunks(records, after):
            for record in batch:
                writer.writerow(_row(actor, object_type, shown, record))
            written += len(batch)
            text.flush()
            after = batch[-1].pk
            jobs.job_progress(
                job=job,
                processed=written,
                succeeded=written,
                checkpoint={"after": after, "rows": written, "bytes": raw.tell()},
            )
        writer.writerow([])
        writer.writerow([watermark(actor, job.created_at)])
        text.flush()
        text.detach()
    return written


def _write_xlsx(job, path, headers, records, actor, object_type, shown) -> int:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    book.properties.creator = actor.username
    book.properties.title = watermark(actor, job.created_at)
    sheet = book.create_sheet(title=str(_("Export"))[:31])
    sheet.oddFooter.center.text = watermark(actor, job.created_at)
    sheet.append(headers)
    written = 0
    for batch in _chunks(records, 0):
        for record in batch:
            sheet.append(_row(actor, object_type, shown, record))
        written += len(batch)
        jobs.job_progress(job=job, processed=written, succeeded=written)
    sheet.append([])
    sheet.append([watermark(actor, job.created_at)])
    temporary = path.with_suffix(".part")
    book.save(temporary)
    os.replace(temporary, path)
    return written


def export_file(*, actor: User, job: Job) -> Path:
    """The finished export's file, for its owner; the download is audited."""
    if job.kind != KIND or job.created_by_id != actor.pk:
        raise NotFound()
    if job.state != Job.State.SUCCEEDED:
        raise _refuse("job", _("The export is not finished."), "not_finished")
    path = _path(job)
    if not path.exists():
        raise NotFound()
    trail.record(
        actor=actor,
        action="export.download",
        object_type=job.params["type"],
        extra={"job": job.pk, "rows": (job.result or {}).get("rows", 0)},
    )
    return path
