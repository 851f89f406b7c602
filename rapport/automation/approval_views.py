"""The approval pages: the process designer, "My approvals" (tasks, my requests, delegation),
a request's page with its steps and trail, deciding (from the inbox, the request, the record
or an e-mail link), submitting a record, and the process monitor.

Views parse, authorize and render; every write goes through `rapport.automation.approvals`,
which checks permissions again, validates and audits.
"""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.core import errors, filterlang
from rapport.core.paging import cursor_page
from rapport.core.tags.models import Tag
from rapport.core.tags.selectors import tag_tree
from rapport.customers.list_views import MAX_OWNER_CHOICES, builder_config
from rapport.identity import policy
from rapport.identity.models import Action, Department, Role, Team, User

from . import actor as system_actor
from . import approvals, monitor, registry
from .approval_forms import (
    DecisionForm,
    DelegationForm,
    MonitorFilterForm,
    ProcessForm,
    StepFormSet,
    SubmitForm,
)
from .approval_panels import open_step_names, step_label
from .approval_selectors import can_manage, pending_tasks_for, requests_visible_to
from .models import (
    ApprovalDelegation,
    ApprovalProcess,
    ApprovalRequest,
    ApprovalState,
    ApprovalTask,
    ApprovalTaskState,
    RunState,
)

MONITOR_ROWS = 100
RECORD_PAGES = {
    "customers.account": "customers:account_detail",
    "customers.contact": "customers:contact_detail",
}
INBOX_TABS = {
    "pending": gettext_lazy("Waiting for me"),
    "submitted": gettext_lazy("My requests"),
    "delegation": gettext_lazy("While I am away"),
}


# --- helpers ----------------------------------------------------------------------------------


def _require_manage(user: User) -> None:
    if not can_manage(user):
        raise PermissionDenied(_("You do not have permission to do this."))


def record_url(object_type: str, object_id: int | None) -> str:
    if object_type == "identity.account_request" and object_id is not None:
        return f"{reverse('identity:request_list')}?state=all#request-{object_id}"
    name = RECORD_PAGES.get(object_type)
    if not name or object_id is None:
        return ""
    try:
        return reverse(name, args=[object_id])
    except NoReverseMatch:
        return ""


def type_label(object_type: str) -> str:
    automatable = registry.get(object_type)
    if automatable is None:
        return object_type
    return str(automatable.noun or automatable.label)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _go(request: HttpRequest, url: str) -> HttpResponse:
    """Redirect, also for htmx (a full page load, so the messages show)."""
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _next_url(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "") or request.GET.get("next", "")
    # Only a path on this site: never an open redirect.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _service(call, /, **kwargs):
    """Run a service in one transaction; domain refusals become 403 / 404."""
    try:
        with transaction.atomic():
            return call(**kwargs)
    except errors.PermissionDenied as error:
        raise PermissionDenied(str(error.message)) from error
    except errors.NotFound as error:
        raise Http404(str(error.message)) from error


# --- the process designer ---------------------------------------------------------------------


@login_required
def process_list(request: HttpRequest) -> HttpResponse:
    _require_manage(request.user)
    processes = list(
        ApprovalProcess.objects.annotate(
            step_count=Count("steps", distinct=True),
            pending=Count(
                "requests", filter=Q(requests__state=ApprovalState.PENDING), distinct=True
            ),
        ).order_by("object_type", "position", "id")
    )
    for process in processes:
        process.type_label = type_label(process.object_type)
    return render(
        request,
        "automation/approvals/process_list.html",
        {
            "processes": processes,
            "types": [(code, str(item.label)) for code, item in registry.types().items()],
        },
    )


def _step_choices(process: ApprovalProcess | None) -> dict[str, list[tuple[str, str]]]:
    """The people, roles and teams the step pickers offer (one query each for the page).
    A person an existing step names stays offered when deactivated, so the service can say
    what is wrong with the step."""
    named = set()
    if process is not None:
        for step in process.steps.all():
            named.update(pk for pk in (step.user_id, step.escalate_to_id) if pk)
    people = (
        User.objects.filter(Q(is_active=True) | Q(pk__in=named))
        .exclude(username=system_actor.USERNAME)
        .only("pk", "username", "first_name", "last_name", "display_name", "is_active")
        .order_by("username")[:MAX_OWNER_CHOICES]
    )
    return {
        "users": [
            (
                str(person.pk),
                str(person) if person.is_active else _("%(name)s (deactivated)") % {"name": person},
            )
            for person in people
        ],
        "roles": [(str(role.pk), str(role)) for role in Role.objects.order_by("name")],
        "teams": [(str(team.pk), str(team)) for team in Team.objects.order_by("name")],
    }


def _step_initial(process: ApprovalProcess) -> list[dict[str, Any]]:
    return [
        {
            "number": step.number,
            "name": step.name,
            "name_en": step.name_en,
            "approver_kind": step.approver_kind,
            "user": str(step.user_id or ""),
            "role": str(step.role_id or ""),
            "manager_levels": step.manager_levels,
            "team": str(step.team_id or ""),
            "mode": step.mode,
            "remind_after_hours": step.remind_after_hours,
            "escalate_after_hours": step.escalate_after_hours,
            "escalate_to": str(step.escalate_to_id or ""),
        }
        for step in process.steps.order_by("number", "id")
    ]


def _builder(user: User, object_type: str, text: str) -> tuple[dict[str, Any], str]:
    """The filter builder's settings for the condition (the same builder the lists use),
    and the reason the text does not parse, if it does not."""
    tree, problem = None, ""
    if text:
        try:
            tree = filterlang.parse(text)
        except ValidationError as error:
            problem = " ".join(error.messages)
    owners = list(
        User.objects.restrict(user, Action.VIEW)
        .filter(is_active=True)
        .only("pk", "username", "first_name", "last_name", "display_name")
        .order_by("username")[:MAX_OWNER_CHOICES]
    )
    tags = SimpleNamespace(tag_nodes=tag_tree(Tag.objects.filter(is_active=True)))
    return builder_config(user, object_type, tags, owners, tree), problem


def _split_service_error(error: ValidationError) -> tuple[ValidationError, ValidationError]:
    """(the process's own errors, the steps' errors) of a service refusal."""
    if not hasattr(error, "error_dict"):
        return error, ValidationError({})
    own = {k: v for k, v in error.error_dict.items() if not k.startswith("steps")}
    steps = {k: v for k, v in error.error_dict.items() if k.startswith("steps")}
    return ValidationError(own), ValidationError(steps)


@login_required
def process_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create (`?type=customers.account`) or change a process and its steps. The service
    validates the whole process at once; its errors are shown beside the field or step they
    name, and nothing is stored."""
    user = request.user
    _require_manage(user)
    process = get_object_or_404(ApprovalProcess, pk=pk) if pk is not None else None
    object_type = process.object_type if process else request.GET.get("type", "")
    if registry.get(object_type) is None:
        raise Http404(_("Choose a record type."))
    choices = _step_choices(process)
    step_errors: list[str] = []
    if request.method == "POST":
        form = ProcessForm(request.POST)
        steps = StepFormSet(request.POST, prefix="steps", choices=choices)
        if form.is_valid() and steps.is_valid():
            values = {**form.service_values(), "steps": steps.service_steps()}
            try:
                if process is None:
                    saved = _service(
                        approvals.process_create, actor=user, object_type=object_type, **values
                    )
                else:
                    saved = _service(
                        approvals.process_update, actor=user, process=process, **values
                    )
            except ValidationError as error:
                own, of_steps = _split_service_error(error)
                if not hasattr(own, "error_dict") or own.error_dict:
                    form.add_service_error(own)
                step_errors = steps.add_service_error(of_steps)
            else:
                messages.success(request, _("“%(name)s” was saved.") % {"name": saved.display_name})
                return redirect("approvals:process_list")
    else:
        initial: dict[str, Any] = {"lock_record": True}
        if process is not None:
            initial = {
                "name": process.name,
                "name_en": process.name_en,
                "description": process.description,
                "filter": filterlang.to_text(process.condition) if process.condition else "",
                "lock_record": process.lock_record,
            }
        form = ProcessForm(initial=initial)
        steps = StepFormSet(
            prefix="steps",
            choices=choices,
            initial=_step_initial(process) if process is not None else None,
        )
        if process is None:
            steps.extra = 1
    text = str(form["filter"].value() or "").strip()
    builder, problem = _builder(user, object_type, text)
    filter_error = " ".join(form.errors.get("filter", [])) or problem
    return render(
        request,
        "automation/approvals/process_form.html",
        {
            "process": process,
            "object_type": object_type,
            "type_label": type_label(object_type),
            "form": form,
            "steps": steps,
            "step_errors": step_errors,
            "filters": form,
            "filter_error": filter_error if request.method == "POST" or process else "",
            "builder": builder,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def process_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manage(request.user)
    process = get_object_or_404(ApprovalProcess, pk=pk)
    active = request.POST.get("active") == "1"
    try:
        _service(approvals.process_set_active, actor=request.user, process=process, active=active)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            (_("“%(name)s” is on.") if active else _("“%(name)s” is off."))
            % {"name": process.display_name},
        )
    return redirect("approvals:process_list")


# --- "My approvals" ---------------------------------------------------------------------------


def _task_rows(tasks, now) -> list[dict[str, Any]]:
    for task in tasks:
        task.step_label = step_label(task.request, task.step_index, task.step_name)
    return [
        {
            "task": task,
            "request": task.request,
            "record_url": record_url(task.request.object_type, task.request.object_id),
            "type_label": type_label(task.request.object_type),
            "overdue": task.due_at is not None and task.due_at < now,
            "form": DecisionForm(prefix=f"task{task.pk}"),
        }
        for task in tasks
    ]


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """My approvals: tasks waiting for me (also as someone's delegate), oldest first; the
    requests I submitted; and who decides for me while I am away."""
    user = request.user
    tab = request.GET.get("tab", "pending")
    if tab not in INBOX_TABS:
        tab = "pending"
    now = timezone.now()
    context: dict[str, Any] = {"tab": tab, "tabs": INBOX_TABS, "now": now}
    context["pending_count"] = pending_tasks_for(user).count()
    if tab == "pending":
        page = cursor_page(request, pending_tasks_for(user), ordering=["created_at", "id"])
        context.update(page=page, rows=_task_rows(page.items, now))
    elif tab == "submitted":
        mine = ApprovalRequest.objects.filter(submitted_by=user).select_related("process")
        page = cursor_page(request, mine, ordering=["-submitted_at", "-id"])
        context.update(
            page=page,
            requests=[
                {
                    "request": item,
                    "record_url": record_url(item.object_type, item.object_id),
                    "type_label": type_label(item.object_type),
                }
                for item in page.items
            ],
        )
    else:
        context.update(_delegation_context(request, user))
    return render(request, "automation/approvals/inbox.html", context)


def _people(user: User) -> list[tuple[str, str]]:
    return [
        (str(person.pk), str(person))
        for person in User.objects.filter(is_active=True)
        .exclude(pk=user.pk)
        .exclude(username=system_actor.USERNAME)
        .only("pk", "username", "first_name", "last_name", "display_name")
        .order_by("username")[:MAX_OWNER_CHOICES]
    ]


def _delegation_context(request: HttpRequest, user: User, form=None) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "delegations": list(
            ApprovalDelegation.objects.filter(user=user, is_active=True, ends_on__gte=today)
            .select_related("delegate")
            .order_by("starts_on", "id")
        ),
        "delegated_to_me": list(
            ApprovalDelegation.objects.filter(delegate=user, is_active=True, ends_on__gte=today)
            .select_related("user")
            .order_by("starts_on", "id")
        ),
        "delegation_form": form
        or DelegationForm(people=_people(user), initial={"starts_on": today}),
        "today": today,
    }


@login_required
@require_POST
def delegation_set(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = DelegationForm(request.POST, people=_people(user))
    if form.is_valid():
        data = form.cleaned_data
        delegate = User.objects.filter(pk=data["delegate"], is_active=True).first()
        try:
            _service(
                approvals.delegation_set,
                actor=user,
                delegate=delegate,
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                reason=data["reason"],
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                _("%(name)s decides your approvals from %(start)s until %(end)s.")
                % {"name": delegate, "start": data["starts_on"], "end": data["ends_on"]},
            )
            return redirect(reverse("approvals:inbox") + "?tab=delegation")
    context = {
        "tab": "delegation",
        "tabs": INBOX_TABS,
        "pending_count": pending_tasks_for(user).count(),
        **_delegation_context(request, user, form),
    }
    return render(request, "automation/approvals/inbox.html", context, status=400)


@login_required
@require_POST
def delegation_end(request: HttpRequest, pk: int) -> HttpResponse:
    delegation = get_object_or_404(ApprovalDelegation, pk=pk, user=request.user)
    try:
        _service(approvals.delegation_end, actor=request.user, delegation=delegation)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("You decide your approvals yourself again."))
    return redirect(reverse("approvals:inbox") + "?tab=delegation")


# --- a request --------------------------------------------------------------------------------


def _step_groups(approval: ApprovalRequest, tasks: list[ApprovalTask]) -> list[dict[str, Any]]:
    """The request's steps by number (parallel steps side by side), each with its tasks."""
    by_index: dict[int, list[ApprovalTask]] = defaultdict(list)
    for task in tasks:
        by_index[task.step_index].append(task)
    snapshot = approval.steps or []
    numbers: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for index, step in enumerate(snapshot):
        name = step_label(approval, index)
        numbers[int(step.get("number", index + 1))].append(
            {"index": index, "name": name, "step": step, "tasks": by_index.pop(index, [])}
        )
    for index, orphans in by_index.items():  # tasks of steps no longer in the snapshot
        numbers[orphans[0].step_number].append(
            {"index": index, "name": orphans[0].step_name, "step": {}, "tasks": orphans}
        )
    groups = []
    for number in sorted(numbers):
        steps = numbers[number]
        states = {task.state for step in steps for task in step["tasks"]}
        if approval.current_number == number and approval.is_pending:
            state = "current"
        elif states and states <= {ApprovalTaskState.APPROVED, ApprovalTaskState.SKIPPED}:
            state = "approved"
        elif ApprovalTaskState.REJECTED in states:
            state = "rejected"
        else:
            state = "waiting"
        groups.append({"number": number, "steps": steps, "state": state})
    return groups


def _trail(approval: ApprovalRequest, tasks: list[ApprovalTask]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {
            "at": approval.submitted_at,
            "who": approval.submitted_by,
            "what": "submitted",
            "comment": approval.comment,
        }
    ]
    for task in tasks:
        if task.escalated_from_id:  # the task escalation created: its approver was asked
            events.append(
                {
                    "at": task.created_at,
                    "who": task.approver,
                    "what": "escalated",
                    "step": step_label(approval, task.step_index, task.step_name),
                    "task": task,
                }
            )
        if task.decided_at and task.state in (
            ApprovalTaskState.APPROVED,
            ApprovalTaskState.REJECTED,
        ):
            events.append(
                {
                    "at": task.decided_at,
                    "who": task.decided_by or task.approver,
                    "what": task.state,
                    "step": step_label(approval, task.step_index, task.step_name),
                    "comment": task.comment,
                    "task": task,
                }
            )
    if approval.state == ApprovalState.CANCELLED and approval.decided_at:
        events.append({"at": approval.decided_at, "who": None, "what": "cancelled"})
    return sorted(events, key=lambda event: (event["at"], event["what"] != "submitted"))


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    approval = get_object_or_404(
        requests_visible_to(user).select_related("process", "submitted_by"), pk=pk
    )
    tasks = list(
        approval.tasks.select_related("approver", "delegated_from", "decided_by").order_by(
            "step_number", "step_index", "id"
        )
    )
    mine = set(pending_tasks_for(user).filter(request=approval).values_list("pk", flat=True))
    now = timezone.now()
    return render(
        request,
        "automation/approvals/request_detail.html",
        {
            "approval": approval,
            "groups": _step_groups(approval, tasks),
            "trail": _trail(approval, tasks),
            "my_rows": _task_rows([task for task in tasks if task.pk in mine], now),
            "record_url": record_url(approval.object_type, approval.object_id),
            "type_label": type_label(approval.object_type),
            "can_cancel": approval.is_pending
            and (approval.submitted_by_id == user.pk or can_manage(user)),
            "now": now,
        },
    )


@login_required
@require_POST
def request_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    approval = get_object_or_404(requests_visible_to(request.user), pk=pk)
    try:
        _service(approvals.approval_cancel, actor=request.user, request=approval)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The request was cancelled."))
    return redirect(_next_url(request, reverse("approvals:request_detail", args=[approval.pk])))


@login_required
@require_POST
def task_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject one task (from the inbox, the request or the record). A refusal
    (reject without a comment, one's own request, already decided) is shown beside the
    comment, and nothing changes."""
    user = request.user
    task = get_object_or_404(
        ApprovalTask.objects.select_related("request__process", "request__submitted_by"), pk=pk
    )
    prefix = f"task{task.pk}"
    form = DecisionForm(request.POST, prefix=prefix)
    fallback = reverse("approvals:request_detail", args=[task.request_id])
    target = _next_url(request, fallback)
    if form.is_valid():
        try:
            decided = _service(
                approvals.approval_decide,
                actor=user,
                task=task,
                approve=form.approve,
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _decided_message(decided, form.approve))
            return _go(request, target)
    if _is_htmx(request):
        return render(
            request,
            "automation/approvals/_decide_form.html",
            {"row": {"task": task, "form": form}, "next": target},
        )
    for field_errors in form.errors.values():
        for message in field_errors:
            messages.error(request, message)
    return redirect(target)


def _decided_message(approval: ApprovalRequest, approved: bool) -> str:
    if approval.state == ApprovalState.APPROVED:
        return _("You approved “%(title)s”: the request is approved.") % {"title": approval}
    if approval.state == ApprovalState.REJECTED:
        return _("You rejected “%(title)s”: the request is rejected.") % {"title": approval}
    if approved:
        return _("You approved “%(title)s”; it waits for the next approvers.") % {"title": approval}
    return _("Your decision on “%(title)s” was recorded.") % {"title": approval}


# --- from the record --------------------------------------------------------------------------


@login_required
@require_POST
def record_submit(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    user = request.user
    automatable = registry.get(object_type)
    if automatable is None:
        raise Http404()
    try:
        record = policy.get_for(user, Action.VIEW, automatable.model, pk)
    except errors.NotFound as error:
        raise Http404() from error
    processes = approvals.processes_for(user, object_type, record)
    form = SubmitForm(request.POST, processes=processes, prefix="approval")
    back = record_url(object_type, pk) or reverse("approvals:inbox")
    if form.is_valid():
        process = next((p for p in processes if p.pk == form.cleaned_data["process"]), None)
        try:
            submitted = _service(
                approvals.approval_submit,
                actor=user,
                object_type=object_type,
                record=record,
                process=process,
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                _("“%(title)s” was submitted for approval (%(process)s).")
                % {"title": submitted, "process": submitted.process.display_name},
            )
    else:
        for field_errors in form.errors.values():
            for message in field_errors:
                messages.error(request, message)
    return redirect(f"{back}#approvals")


# --- the e-mail link --------------------------------------------------------------------------


def decide_by_token(request: HttpRequest, token: str) -> HttpResponse:
    """The page an e-mail's approve / reject link opens. It shows what is being decided and
    decides only on POST: mail scanners follow links, and a GET must never decide."""
    task, approve, problem = approvals.read_decision_token(token)
    form = DecisionForm(
        request.POST if request.method == "POST" else None,
        initial={"decision": "approve" if approve else "reject"},
    )
    decided = None
    if request.method == "POST" and task is not None and not problem:
        data = request.POST.copy()
        data["decision"] = "approve" if approve else "reject"
        form = DecisionForm(data)
        if form.is_valid():
            try:
                decided = _service(
                    approvals.approval_decide_by_token,
                    token=token,
                    comment=form.cleaned_data["comment"],
                )
            except ValidationError as error:
                form.add_service_error(error)
    approval = task.request if task is not None else None
    if task is not None:
        task.step_label = step_label(task.request, task.step_index, task.step_name)
    return render(
        request,
        "automation/approvals/token.html",
        {
            "task": task,
            "approval": approval,
            "approve": approve,
            "problem": problem,
            "form": form,
            "decided": decided,
            "type_label": type_label(approval.object_type) if approval else "",
            "record_url": record_url(approval.object_type, approval.object_id) if approval else "",
        },
        status=200 if not problem else 410,
    )


# --- the process monitor ----------------------------------------------------------------------


@login_required
def process_monitor(request: HttpRequest) -> HttpResponse:
    """Running approval requests and rule runs (state, age, bottleneck step), filtered by
    record type, department, team and overdue; and figures per process."""
    _require_manage(request.user)
    departments = list(Department.objects.filter(is_active=True).order_by("path"))
    teams = list(Team.objects.order_by("name").values_list("pk", "name"))
    types = [(code, str(item.label)) for code, item in registry.types().items()]
    filters_form = MonitorFilterForm(
        request.GET or None,
        types=types,
        departments=[(d.pk, "\u2003" * d.depth + d.name) for d in departments],
        teams=teams,
    )
    department_id = filters_form.value("department")
    filters = monitor.MonitorFilters(
        object_type=filters_form.value("object_type") or "",
        department=next((d for d in departments if d.pk == department_id), None),
        team_id=filters_form.value("team"),
        overdue=bool(filters_form.value("overdue")),
    )
    now = timezone.now()
    pending = list(
        monitor.pending_requests(filters, now).order_by("submitted_at", "id")[: MONITOR_ROWS + 1]
    )
    runs = list(monitor.running_runs(filters, now).order_by("created_at", "id")[: MONITOR_ROWS + 1])
    for approval in pending:
        approval.open_steps = open_step_names(approval)
        approval.record_url = record_url(approval.object_type, approval.object_id)
        approval.type_label = type_label(approval.object_type)
    return render(
        request,
        "automation/approvals/monitor.html",
        {
            "filters": filters_form,
            "pending": pending[:MONITOR_ROWS],
            "more_pending": len(pending) > MONITOR_ROWS,
            "runs": runs[:MONITOR_ROWS],
            "more_runs": len(runs) > MONITOR_ROWS,
            "run_counts": [
                (RunState(state).label, count) for state, count in monitor.run_counts().items()
            ],
            "figures": monitor.process_figures(filters.object_type),
            "now": now,
        },
    )
