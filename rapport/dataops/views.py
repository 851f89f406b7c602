"""The review list of possible duplicates: compare and merge, or mark "not duplicates";
administrators start a scan and watch its progress."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core import errors, imports
from rapport.core.models import Job
from rapport.identity import policy

from . import importing, scan, selectors, services
from .models import DuplicatePair, ImportMode, ImportRun, ImportState, RowOutcome

PAGE = 50
KINDS = {"customers.account": "accounts", "customers.contact": "contacts"}
SCAN_GRANT = ("dataops.duplicate", "manage")


@login_required
def duplicate_list(request: HttpRequest) -> HttpResponse:
    object_type = request.GET.get("type", "customers.account")
    if object_type not in KINDS:
        raise Http404()
    if not policy.has_grant(request.user, object_type, "view"):
        raise PermissionDenied
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError:
        offset = 0
    pairs = list(selectors.pairs_for(request.user, object_type)[offset : offset + PAGE + 1])
    more = len(pairs) > PAGE
    pairs = selectors.with_records(request.user, pairs[:PAGE])
    kind = KINDS[object_type]
    for pair in pairs:
        pair.compare_url = (
            f"{reverse('customers:merge', args=[kind, pair.first_id])}?with={pair.second_id}"
        )
    can_scan = policy.has_grant(request.user, *SCAN_GRANT)
    last_scan = Job.objects.filter(kind=scan.KIND).order_by("-id").first() if can_scan else None
    return render(
        request,
        "dataops/duplicate_list.html",
        {
            "pairs": pairs,
            "object_type": object_type,
            "types": [
                ("customers.account", _("Accounts")),
                ("customers.contact", _("Contacts")),
            ],
            "offset": offset,
            "next_offset": offset + PAGE if more else None,
            "previous_offset": max(0, offset - PAGE) if offset else None,
            "can_scan": can_scan,
            "last_scan": last_scan,
        },
    )


@login_required
@require_POST
def duplicate_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    pair = DuplicatePair.objects.filter(pk=pk).first()
    if pair is None:
        raise Http404()
    try:
        services.pair_dismiss(actor=request.user, pair=pair)
    except errors.NotFound as error:
        raise Http404() from error
    except (errors.PermissionDenied, ValidationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, _("Marked as not duplicates."))
    return redirect(f"{reverse('dataops:duplicate_list')}?type={pair.object_type}")


@login_required
@require_POST
def scan_now(request: HttpRequest) -> HttpResponse:
    if not policy.has_grant(request.user, *SCAN_GRANT):
        raise PermissionDenied
    from . import tasks

    job = scan.scan_start(actor=request.user)
    tasks.duplicate_scan.delay(job.pk)
    messages.success(request, _("The duplicate scan has started."))
    return redirect("dataops:duplicate_list")


# --- imports -----------------------------------------------------------------------------------


def _importable(user) -> list[tuple[str, Any]]:
    return [
        (kind.object_type, kind.label)
        for kind in imports.types()
        if policy.has_grant(user, kind.object_type, "import")
    ]


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    types = _importable(request.user)
    if not types:
        raise PermissionDenied
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        object_type = request.POST.get("type", "")
        if upload is None:
            error = _("Choose a file.")
        else:
            try:
                run = importing.import_create(
                    actor=request.user, object_type=object_type, upload=upload
                )
            except ValidationError as problem:
                error = " ".join(problem.messages)
            except errors.PermissionDenied:
                raise PermissionDenied from None
            else:
                return redirect("dataops:import_detail", pk=run.pk)
    runs = ImportRun.objects.filter(created_by=request.user).select_related("job")[:50]
    return render(
        request,
        "dataops/import_list.html",
        {"types": types, "runs": runs, "error": error, "selected": request.GET.get("type", "")},
    )


def _own_run(request: HttpRequest, pk: int) -> ImportRun:
    run = ImportRun.objects.filter(pk=pk, created_by=request.user).select_related("job").first()
    if run is None:
        raise Http404()
    return run


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _own_run(request, pk)
    fields = importing.fields_for(request.user, run.object_type)
    kind = importing.import_type(run.object_type)
    error_messages: list[str] = []
    templates = list(importing.templates_for(run.object_type))
    chosen = next((t for t in templates if str(t.pk) == request.GET.get("template")), None)
    if chosen is not None and run.state == ImportState.UPLOADED and request.method != "POST":
        run.mapping = importing.template_mapping(run, chosen)
    if request.method == "POST" and run.state == ImportState.UPLOADED:
        mapping = {
            str(index): request.POST.get(f"column_{index}", "") for index in range(len(run.headers))
        }
        try:
            importing.import_configure(
                actor=request.user,
                run=run,
                mapping=mapping,
                mode=request.POST.get("mode", ImportMode.CREATE),
                key=request.POST.get("key", ""),
            )
            if request.POST.get("template_name", "").strip():
                importing.template_save(
                    actor=request.user, run=run, name=request.POST["template_name"]
                )
        except ValidationError as problem:
            error_messages = problem.messages
            run.mapping = {key: value for key, value in mapping.items() if value}
        else:
            return redirect(f"{reverse('dataops:import_detail', args=[run.pk])}?preview=1")
    sample: list[str] = []
    preview_rows: list[dict[str, Any]] = []
    if run.state == ImportState.UPLOADED:
        sample = importing.first_row(run)
        if request.GET.get("preview") and not error_messages:
            preview_rows = importing.preview(request.user, run)
    columns = [
        {
            "index": index,
            "header": header,
            "sample": sample[index] if index < len(sample) else "",
            "field": run.mapping.get(str(index), ""),
        }
        for index, header in enumerate(run.headers)
    ]
    result = (run.job.result or {}) if run.job else {}
    labels = dict(RowOutcome.choices)
    for row in preview_rows:
        row["label"] = labels.get(row["outcome"], row["outcome"])
        row["problems"] = importing.error_text(request.user, run, row["errors"])
    failures = [
        {"row": item["row"], "problems": importing.error_text(request.user, run, item["errors"])}
        for item in result.get("failures", [])[:50]
    ]
    return render(
        request,
        "dataops/import_detail.html",
        {
            "run": run,
            "columns": columns,
            "fields": [(name, spec.label) for name, spec in fields.items()],
            "keys": [(name, fields[name].label) for name in kind.keys],
            "modes": [
                (value, label)
                for value, label in ImportMode.choices
                if value == ImportMode.CREATE or not kind.add_only
            ],
            "templates": templates,
            "chosen_template": chosen,
            "preview_rows": preview_rows,
            "error_messages": error_messages,
            "earlier": importing.earlier_imports(run),
            "counts": [(labels.get(o, o), n) for o, n in result.get("counts", {}).items()],
            "dry_counts": [
                (labels.get(o, o), n) for o, n in (run.dry_run or {}).get("counts", {}).items()
            ],
            "failures": failures,
            "duplicates": result.get("duplicates", 0),
        },
    )


@login_required
@require_POST
def import_start(request: HttpRequest, pk: int) -> HttpResponse:
    from . import tasks

    run = _own_run(request, pk)
    dry_run = request.POST.get("dry_run") == "1"
    try:
        job = importing.import_start(actor=request.user, run=run, dry_run=dry_run)
    except ValidationError as problem:
        messages.error(request, " ".join(problem.messages))
    except errors.PermissionDenied:
        raise PermissionDenied from None
    else:
        transaction.on_commit(lambda: tasks.import_execute.delay(job.pk))
        if dry_run:
            messages.success(request, _("Checking every row; nothing is stored."))
    return redirect("dataops:import_detail", pk=run.pk)


@login_required
def import_failed_rows(request: HttpRequest, pk: int) -> HttpResponse:
    run = _own_run(request, pk)
    response = HttpResponse(importing.failed_rows(run), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="failed-rows-{run.pk}.csv"'
    return response


@login_required
@require_POST
def import_rollback(request: HttpRequest, pk: int) -> HttpResponse:
    run = _own_run(request, pk)
    try:
        importing.import_rollback(actor=request.user, run=run)
    except (ValidationError, errors.PermissionDenied) as problem:
        messages.error(request, " ".join(getattr(problem, "messages", [str(problem)])))
    else:
        messages.success(request, _("The import was rolled back."))
    return redirect("dataops:import_detail", pk=run.pk)


# --- exports -----------------------------------------------------------------------------------


@login_required
@require_POST
def export_start(request: HttpRequest) -> HttpResponse:
    """Export the list the user is looking at (its state posted by the list page)."""
    import json

    from . import exporting, tasks

    object_type = request.POST.get("type", "")
    try:
        state = json.loads(request.POST.get("state") or "{}")
    except json.JSONDecodeError:
        state = {}
    back = request.META.get("HTTP_REFERER") or reverse("web:home")
    try:
        job = exporting.export_start(
            actor=request.user,
            object_type=object_type,
            state=state if isinstance(state, dict) else {},
            file_format=request.POST.get("format", "csv"),
        )
    except ValidationError as problem:
        messages.error(request, " ".join(problem.messages))
        return redirect(back)
    except errors.PermissionDenied:
        raise PermissionDenied from None
    if exporting.waiting(job):
        messages.info(request, _("The export waits for approval; you will be told the outcome."))
    else:
        transaction.on_commit(lambda: tasks.export_execute.delay(job.pk))
    return redirect("dataops:export_detail", pk=job.pk)


def _own_export(request: HttpRequest, pk: int) -> Job:
    from . import exporting

    job = Job.objects.filter(pk=pk, kind=exporting.KIND, created_by=request.user).first()
    if job is None:
        raise Http404()
    return job


@login_required
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from . import exporting

    job = _own_export(request, pk)
    return render(
        request, "dataops/export_detail.html", {"job": job, "waiting": exporting.waiting(job)}
    )


@login_required
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    from django.http import FileResponse

    from . import exporting

    job = _own_export(request, pk)
    try:
        path = exporting.export_file(actor=request.user, job=job)
    except ValidationError as problem:
        messages.error(request, " ".join(problem.messages))
        return redirect("dataops:export_detail", pk=job.pk)
    except errors.NotFound as error:
        raise Http404() from error
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)


# --- backups -----------------------------------------------------------------------------------


@login_required
def backup_list(request: HttpRequest) -> HttpResponse:
    from .models import BackupRecord

    if not policy.has_grant(request.user, "dataops.backup", "manage"):
        raise PermissionDenied
    if request.method == "POST":
        from . import tasks

        transaction.on_commit(lambda: tasks.backup_now.delay(request.user.pk))
        messages.success(
            request, _("A backup has started; it appears here when it is written and verified.")
        )
        return redirect("dataops:backup_list")
    from django.conf import settings as django_settings

    labels = {
        "accounts": _("Accounts"),
        "contacts": _("Contacts"),
        "interactions": _("Interactions"),
        "users": _("Users"),
    }
    backups = list(BackupRecord.objects.select_related("created_by")[:100])
    for item in backups:
        item.count_items = [(labels.get(name, name), n) for name, n in (item.counts or {}).items()]
    return render(
        request,
        "dataops/backup_list.html",
        {
            "backups": backups,
            "folder": django_settings.BACKUP_ROOT,
            "keep": django_settings.BACKUP_KEEP,
        },
    )
