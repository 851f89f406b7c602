"""Every write to approvals: processes, submitting, deciding, cancelling, delegations, the
e-mail decision links, and the reminder/escalation sweep. Reads are in `approval_selectors`.

A process names a record type, a condition (the filter language, as for rules: validated
with `filterlang`, evaluated with `engine.condition_holds` as the system actor) and ordered
steps. Steps sharing a number run in parallel; every one of them must approve before the
next number opens. A step is approved by a named user, the submitter's manager N levels up
(the user's `manager`, else the manager of their department or the nearest department
above with one), or the members of a role or a team — any one of them or all of them.

Routing (choosing the approvers of a step) happens when the step opens; at submit every
step is routed once as a check, so a request that cannot be approved is refused up front.
Nobody approves their own request: the submitter is never routed to. When a named user (or
the manager found) is deactivated, or is the submitter, the step goes to its `escalate_to`
user if that one is active; otherwise routing fails with a message naming the step — at
submit the submission is refused, later the decision that would open the step is refused
(nothing is stored) and the request stays where it was until it is cancelled and submitted
again under the corrected process. A role or team with no active members is refused the
same way. A new task for an approver who is away goes to their delegate (`delegated_from`
names the approver); the delegate in force may also decide the approver's earlier tasks.

Every write checks permission, validates (ValidationError naming the field, nothing partial
stored), runs in one transaction, is audited on the record it is about (so the record's
history shows the trail) and notifies through `rapport.core.notifications`; e-mails with
the decision links are sent after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.db.models import Max, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core import filterlang, guards, locks, trail
from rapport.core.errors import NotFound, PermissionDenied
from rapport.core.models import localized
from rapport.core.notifications import registry as notification_registry
from rapport.core.notifications.services import notify
from rapport.identity import policy
from rapport.identity.models import Action, Department, Role, Team, User

from . import actions, engine, registry
from . import actor as system_actor
from .approval_selectors import (  # noqa: F401  (the reads, at hand for callers of the writes)
    can_manage,
    delegation_for,
    pending_tasks_for,
    requests_for_record,
    requests_visible_to,
)
from .models import (
    ApprovalDelegation,
    ApprovalMode,
    ApprovalProcess,
    ApprovalRequest,
    ApprovalState,
    ApprovalStep,
    ApprovalTask,
    ApprovalTaskState,
    ApproverKind,
)

logger = logging.getLogger(__name__)

PROCESS_FIELDS = (
    "name",
    "name_en",
    "object_type",
    "condition",
    "description",
    "is_active",
    "position",
    "lock_record",
)
STEP_FIELDS = (
    "number",
    "name",
    "name_en",
    "approver_kind",
    "user",
    "role",
    "manager_levels",
    "team",
    "mode",
    "remind_after_hours",
    "escalate_after_hours",
    "escalate_to",
)
MAX_STEPS = 20
MAX_LEVELS = 10
MAX_HOURS = 24 * 365
MAX_COMMENT = 2000
TOKEN_SALT = "rapport.automation.approval-decision"  # noqa: S105 (a salt, not a secret)
# How long an e-mail decision link works (settings.APPROVAL_LINK_MAX_AGE, seconds).
TOKEN_MAX_AGE = 7 * 24 * 3600
# URL names the web UI serves: a request's page, and the page an e-mail link opens.
REQUEST_URL_NAME = "approvals:request_detail"
TOKEN_URL_NAME = "approvals:decide_by_token"  # noqa: S105

TASK_MESSAGE = "automation.approval_task"
TASK_DELEGATED_MESSAGE = "automation.approval_task_delegated"
REMINDER_MESSAGE = "automation.approval_reminder"
ESCALATED_MESSAGE = "automation.approval_escalated"
APPROVED_MESSAGE = "automation.approval_approved"
REJECTED_MESSAGE = "automation.approval_rejected"


# --- helpers -------------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.by_field: dict[str, list[ValidationError]] = {}

    def add(self, name: str, message: str, code: str = "invalid") -> None:
        self.by_field.setdefault(name, []).append(ValidationError(message, code=code))

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def _refuse(name: str, message: str, code: str) -> ValidationError:
    return ValidationError({name: ValidationError(message, code=code)})


def _require_manage(actor: User) -> None:
    if not can_manage(actor):
        raise PermissionDenied()


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _is_system(user: User | None) -> bool:
    return user is not None and user.username == system_actor.USERNAME


def _step_label(step: dict[str, Any]) -> str:
    return localized(step.get("name") or "", step.get("name_en") or "") or str(step.get("number"))


def _link(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def request_url(request: ApprovalRequest) -> str:
    """The request's page in the web UI ("" until the UI serves it)."""
    return _link(REQUEST_URL_NAME, request.pk)


# --- processes -----------------------------------------------------------------------------


def _clean_condition(actor: User, object_type: str, condition: Any, errors: _Errors) -> dict:
    if condition in (None, "", {}):
        condition = {"and": []}
    try:
        tree = filterlang.parse(condition) if isinstance(condition, str) else condition
        filterlang.validate(
            tree, filterlang.fields_for(actor, object_type), filterlang.Context(user_id=actor.pk)
        )
    except ValidationError as error:
        for message in error.messages:
            errors.add("condition", message)
        return {"and": []}
    return tree


def _active_user(value: Any, name: str, errors: _Errors) -> User | None:
    user_id = _int(value)
    user = User.objects.filter(pk=user_id).first() if user_id is not None else None
    if user is None or _is_system(user):
        errors.add(name, _("There is no user %(id)s.") % {"id": value}, "unknown_user")
        return None
    if not user.is_active:
        errors.add(
            name,
            _("The user “%(user)s” is deactivated; choose an active user.") % {"user": user},
            "inactive_user",
        )
        return None
    return user


def _hours(value: Any, name: str, errors: _Errors) -> int | None:
    if value in (None, ""):
        return None
    hours = _int(value)
    if hours is None or not 1 <= hours <= MAX_HOURS:
        errors.add(
            name, _("Enter a whole number of hours between 1 and %(max)d.") % {"max": MAX_HOURS}
        )
        return None
    return hours


def _clean_step(index: int, given: Any, errors: _Errors) -> dict[str, Any]:
    prefix = f"steps[{index}]"
    if not isinstance(given, dict):
        errors.add(prefix, _("Give each step as {name: value}."))
        return {}
    for name in sorted(set(given) - set(STEP_FIELDS)):
        errors.add(f"{prefix}.{name}", _("Unknown field."), "unknown_field")
    step: dict[str, Any] = {}
    number = _int(given.get("number", index + 1))
    if number is None or not 1 <= number <= 100:
        errors.add(f"{prefix}.number", _("Enter a step number between 1 and 100."))
    step["number"] = number or index + 1
    for name in ("name", "name_en"):
        text = str(given.get(name) or "").strip()
        if len(text) > 200:
            errors.add(
                f"{prefix}.{name}", _("At most %(n)d characters.") % {"n": 200}, "max_length"
            )
        step[name] = text
    if not step["name"]:
        errors.add(f"{prefix}.name", _("Give the step a name."), "required")
    kind = given.get("approver_kind") or ApproverKind.USER
    if kind not in ApproverKind.values:
        errors.add(
            f"{prefix}.approver_kind",
            _("“%(value)s” is not one of: %(choices)s.")
            % {"value": kind, "choices": ", ".join(ApproverKind.values)},
            "invalid_choice",
        )
    step["approver_kind"] = kind
    step["user"] = step["role"] = step["team"] = None
    step["manager_levels"] = 1
    if kind == ApproverKind.USER:
        if given.get("user") in (None, ""):
            errors.add(f"{prefix}.user", _("Choose the user who approves."), "required")
        else:
            step["user"] = _active_user(given["user"], f"{prefix}.user", errors)
    elif kind == ApproverKind.ROLE:
        role = Role.objects.filter(pk=_int(given.get("role"))).first()
        if role is None:
            errors.add(f"{prefix}.role", _("Choose the role whose members approve."), "required")
        step["role"] = role
    elif kind == ApproverKind.TEAM:
        team = Team.objects.filter(pk=_int(given.get("team"))).first()
        if team is None:
            errors.add(f"{prefix}.team", _("Choose the team whose members approve."), "required")
        step["team"] = team
    elif kind == ApproverKind.MANAGER:
        levels = _int(given.get("manager_levels", 1))
        if levels is None or not 1 <= levels <= MAX_LEVELS:
            errors.add(
                f"{prefix}.manager_levels",
                _("Enter a number of levels between 1 and %(max)d.") % {"max": MAX_LEVELS},
            )
        step["manager_levels"] = levels or 1
    mode = given.get("mode") or ApprovalMode.ANY
    if mode not in ApprovalMode.values:
        errors.add(
            f"{prefix}.mode",
            _("“%(value)s” is not one of: %(choices)s.")
            % {"value": mode, "choices": ", ".join(ApprovalMode.values)},
            "invalid_choice",
        )
    # one approver for a user or manager step: "all" and "any" are the same thing
    step["mode"] = mode if kind in (ApproverKind.ROLE, ApproverKind.TEAM) else ApprovalMode.ANY
    for name in ("remind_after_hours", "escalate_after_hours"):
        step[name] = _hours(given.get(name), f"{prefix}.{name}", errors)
    step["escalate_to"] = None
    if given.get("escalate_to") not in (None, ""):
        step["escalate_to"] = _active_user(given["escalate_to"], f"{prefix}.escalate_to", errors)
    return step


def _clean_steps(steps: Any, errors: _Errors) -> list[dict[str, Any]]:
    if not isinstance(steps, (list, tuple)) or not steps:
        errors.add("steps", _("Add at least one step."), "required")
        return []
    if len(steps) > MAX_STEPS:
        errors.add("steps", _("At most %(n)d steps.") % {"n": MAX_STEPS})
        return []
    return [_clean_step(index, given, errors) for index, given in enumerate(steps)]


def _step_values(step: ApprovalStep) -> dict[str, Any]:
    return {name: getattr(step, name) for name in STEP_FIELDS}


def _clean_process(
    actor: User, values: dict[str, Any], process: ApprovalProcess | None, steps: Any
) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    errors = _Errors()
    merged = {name: getattr(process, name) for name in PROCESS_FIELDS} if process else {}
    merged.update(values)
    cleaned: dict[str, Any] = {}
    for name in ("name", "name_en"):
        if name in values or process is None:
            text = str(merged.get(name) or "").strip()
            if name == "name" and not text:
                errors.add("name", _("Give the process a name."), "required")
            elif len(text) > 200:
                errors.add(name, _("At most %(n)d characters.") % {"n": 200}, "max_length")
            cleaned[name] = text
    object_type = str(merged.get("object_type") or "")
    if registry.get(object_type) is None:
        errors.add(
            "object_type",
            _("“%(type)s” is not a record type approvals can be asked for.")
            % {"type": object_type},
            "unknown_type",
        )
    elif "object_type" in values or process is None:
        cleaned["object_type"] = object_type
    if registry.get(object_type) is not None and (
        "condition" in values or "object_type" in values or process is None
    ):
        cleaned["condition"] = _clean_condition(actor, object_type, merged.get("condition"), errors)
    if "description" in values or process is None:
        cleaned["description"] = str(merged.get("description") or "").strip()
    for name in ("is_active", "lock_record"):
        if name in values:
            cleaned[name] = bool(values[name])
    if "position" in values:
        position = values["position"]
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            errors.add("position", _("Enter a whole number of 0 or more."))
        else:
            cleaned["position"] = position
    cleaned_steps = None
    if steps is not None or process is None:
        cleaned_steps = _clean_steps(steps, errors)
    elif merged.get("is_active", True):
        # the saved steps are checked again: a user named may have been deactivated since
        _clean_steps([_step_values(step) for step in process.steps.all()], errors)
    errors.raise_if_any()
    return cleaned, cleaned_steps


def _step_snapshot(step: ApprovalStep | dict[str, Any], index: int) -> dict[str, Any]:
    values = _step_values(step) if isinstance(step, ApprovalStep) else step
    plain = {
        name: (value.pk if isinstance(value, models.Model) else value)
        for name, value in values.items()
    }
    return {"index": index, **plain}


def _process_snapshot(process: ApprovalProcess) -> dict[str, Any]:
    values = {name: getattr(process, name) for name in PROCESS_FIELDS}
    values["steps"] = [
        _step_snapshot(step, index)
        for index, step in enumerate(process.steps.order_by("number", "id"))
    ]
    return values


def _write_steps(process: ApprovalProcess, steps: list[dict[str, Any]]) -> None:
    process.steps.all().delete()
    ApprovalStep.objects.bulk_create(ApprovalStep(process=process, **step) for step in steps)


def process_create(*, actor: User, steps: list[dict[str, Any]], **values: Any) -> ApprovalProcess:
    """Create a process with its steps, validated as a whole (a step naming a deactivated user
    is refused). Version 1; audited."""
    _require_manage(actor)
    unknown = set(values) - set(PROCESS_FIELDS)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), code="unknown_field") for name in unknown}
        )
    cleaned, cleaned_steps = _clean_process(actor, values, None, steps)
    with transaction.atomic():
        if "position" not in cleaned:
            highest = ApprovalProcess.objects.filter(object_type=cleaned["object_type"]).aggregate(
                Max("position")
            )["position__max"]
            cleaned["position"] = 0 if highest is None else highest + 1
        process = ApprovalProcess.objects.create(created_by=actor, version=1, **cleaned)
        _write_steps(process, cleaned_steps or [])
        trail.record(
            actor=actor,
            action="automation.approval_process_create",
            target=process,
            changes=trail.diff({}, _process_snapshot(process)),
            extra={"version": process.version},
        )
    return process


def _save_process(
    actor: User,
    process: ApprovalProcess,
    cleaned: dict[str, Any],
    steps: list[dict[str, Any]] | None,
    action: str,
) -> ApprovalProcess:
    with transaction.atomic():
        process = ApprovalProcess.objects.select_for_update().get(pk=process.pk)
        before = _process_snapshot(process)
        for name, value in cleaned.items():
            setattr(process, name, value)
        if steps is not None:
            _write_steps(process, steps)
        changes = trail.diff(before, _process_snapshot(process))
        if not changes:
            return process
        process.version += 1
        process.save()
        trail.record(
            actor=actor,
            action=action,
            target=process,
            changes=changes,
            extra={"version": process.version},
        )
    return process


def process_update(
    *, actor: User, process: ApprovalProcess, steps: list[dict[str, Any]] | None = None, **values
) -> ApprovalProcess:
    """Change a process (and, given `steps`, replace its steps), validated as a whole with the
    change applied. A change bumps the version; pending requests keep the steps they were
    submitted with. Audited with before/after."""
    _require_manage(actor)
    unknown = set(values) - set(PROCESS_FIELDS)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), code="unknown_field") for name in unknown}
        )
    cleaned, cleaned_steps = _clean_process(actor, values, process, steps)
    return _save_process(
        actor, process, cleaned, cleaned_steps, "automation.approval_process_update"
    )


def process_set_active(*, actor: User, process: ApprovalProcess, active: bool) -> ApprovalProcess:
    """Turn a process on (its steps are checked again) or off (pending requests carry on)."""
    _require_manage(actor)
    if process.is_active == bool(active):
        return process
    if active:
        _clean_process(actor, {"is_active": True}, process, None)
    return _save_process(
        actor,
        process,
        {"is_active": bool(active)},
        None,
        "automation.approval_process_activate"
        if active
        else "automation.approval_process_deactivate",
    )


# --- routing -------------------------------------------------------------------------------


class Unroutable(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def manager_of(user: User) -> User | None:
    """`user`'s manager: their own `manager`, else the manager of their department or of the
    nearest department above that has one (never `user` themself)."""
    if user.manager_id and user.manager_id != user.pk:
        return User.objects.filter(pk=user.manager_id).first()
    department = (
        Department.objects.filter(pk=user.department_id).select_related("manager").first()
        if user.department_id
        else None
    )
    seen: set[int] = set()
    while department is not None and department.pk not in seen:
        seen.add(department.pk)
        if department.manager_id and department.manager_id != user.pk:
            return department.manager
        department = (
            Department.objects.filter(pk=department.parent_id).select_related("manager").first()
            if department.parent_id
            else None
        )
    return None


def _manager_up(submitter: User, levels: int) -> User | None:
    current: User | None = submitter
    seen = {submitter.pk}
    for _level in range(levels):
        current = manager_of(current) if current is not None else None
        if current is None or current.pk in seen:
            return None
        seen.add(current.pk)
    return current


def _escalation_user(step: dict[str, Any], submitter: User) -> User | None:
    user = User.objects.filter(pk=step.get("escalate_to"), is_active=True).first()
    if user is None or user.pk == submitter.pk or _is_system(user):
        return None
    return user


def _members(step: dict[str, Any]) -> tuple[Any, list[User]]:
    if step["approver_kind"] == ApproverKind.ROLE:
        group = Role.objects.filter(pk=step.get("role")).first()
        users = User.objects.filter(roles=group) if group else User.objects.none()
    else:
        group = Team.objects.filter(pk=step.get("team")).first()
        users = (
            User.objects.filter(Q(teams=group) | Q(led_teams=group))
            if group
            else User.objects.none()
        )
    members = list(
        users.filter(is_active=True)
        .exclude(username=system_actor.USERNAME)
        .distinct()
        .order_by("pk")
    )
    return group, members


def _single(step: dict[str, Any], submitter: User) -> User:
    """The one approver of a user or manager step (or its escalation user)."""
    label = _step_label(step)
    if step["approver_kind"] == ApproverKind.USER:
        user = User.objects.filter(pk=step.get("user")).first()
        if user is not None and user.is_active and user.pk != submitter.pk:
            return user
        if user is None:
            problem = _("its approver no longer exists")
        elif user.pk == submitter.pk:
            problem = _(
                "its approver “%(user)s” is the submitter, who cannot approve their own request"
            ) % {"user": user}
        else:
            problem = _("its approver “%(user)s” is deactivated") % {"user": user}
    else:
        levels = step.get("manager_levels") or 1
        user = _manager_up(submitter, levels)
        if user is not None and user.is_active and not _is_system(user):
            return user
        if user is None:
            problem = _("“%(user)s” has no manager %(n)d level(s) up") % {
                "user": submitter,
                "n": levels,
            }
        else:
            problem = _("the manager found, “%(user)s”, is deactivated") % {"user": user}
    fallback = _escalation_user(step, submitter)
    if fallback is not None:
        return fallback
    raise Unroutable(
        _("Step “%(step)s”: %(problem)s, and the step has no active user to escalate to.")
        % {"step": label, "problem": problem}
    )


def _with_delegation(user: User, submitter: User, day: date) -> tuple[User, User | None]:
    delegation = delegation_for(user.pk, day)
    if delegation is None or delegation.delegate_id == submitter.pk:
        return user, None
    return delegation.delegate, user


def route_step(
    step: dict[str, Any], submitter: User, day: date | None = None
) -> list[tuple[User, User | None]]:
    """The (approver, delegated_from) pairs of one step for a request by `submitter`, one per
    approver; raises Unroutable with a message naming the step."""
    day = day or timezone.localdate()
    kind = step["approver_kind"]
    if kind in (ApproverKind.USER, ApproverKind.MANAGER):
        approvers = [_single(step, submitter)]
    else:
        group, members = _members(step)
        approvers = [member for member in members if member.pk != submitter.pk]
        if group is None:
            raise Unroutable(
                _("Step “%(step)s”: its role or team no longer exists.")
                % {"step": _step_label(step)}
            )
        if not approvers:
            fallback = _escalation_user(step, submitter)
            if fallback is None:
                raise Unroutable(
                    _("Step “%(step)s”: “%(group)s” has no active members who could approve.")
                    % {"step": _step_label(step), "group": group}
                )
            approvers = [fallback]
    routed: list[tuple[User, User | None]] = []
    seen: set[int] = set()
    for approver in approvers:
        final, delegated_from = _with_delegation(approver, submitter, day)
        if final.pk not in seen:
            seen.add(final.pk)
            routed.append((final, delegated_from))
    return routed


def _route_number(
    request: ApprovalRequest, number: int, submitter: User
) -> list[tuple[dict[str, Any], list[tuple[User, User | None]]]]:
    routed, problems = [], []
    for step in request.steps:
        if step["number"] != number:
            continue
        try:
            routed.append((step, route_step(step, submitter)))
        except Unroutable as error:
            problems.append(error.message)
    if problems:
        raise ValidationError({"steps": [ValidationError(p, code="unroutable") for p in problems]})
    return routed


def _hours_after(now: datetime, hours: int | None) -> datetime | None:
    return now + timedelta(hours=hours) if hours else None


def _open_number(
    actor: User, request: ApprovalRequest, number: int, submitter: User
) -> list[ApprovalTask]:
    """Create the tasks of every step numbered `number` (routed now) and tell the approvers."""
    now = timezone.now()
    tasks = []
    for step, approvers in _route_number(request, number, submitter):
        for approver, delegated_from in approvers:
            remind_at = _hours_after(now, step.get("remind_after_hours"))
            escalate_at = _hours_after(now, step.get("escalate_after_hours"))
            tasks.append(
                ApprovalTask.objects.create(
                    request=request,
                    step_index=step["index"],
                    step_number=number,
                    step_name=step.get("name") or "",
                    approver=approver,
                    delegated_from=delegated_from,
                    created_at=now,
                    remind_at=remind_at,
                    escalate_at=escalate_at,
                    due_at=escalate_at or remind_at,
                )
            )
    request.current_number = number
    for task in tasks:
        _tell_approver(request, task, submitter)
    return tasks


# --- notifications -------------------------------------------------------------------------


def _register_messages() -> None:
    register = notification_registry.register
    register(
        TASK_MESSAGE, gettext_lazy("%(submitter)s asks for your approval: %(title)s (%(step)s).")
    )
    register(
        TASK_DELEGATED_MESSAGE,
        gettext_lazy(
            "%(submitter)s asks for approval of %(title)s (%(step)s); you decide for %(for)s."
        ),
    )
    register(
        REMINDER_MESSAGE,
        gettext_lazy("Reminder: %(title)s is waiting for your approval (%(step)s)."),
        email=True,
    )
    register(
        ESCALATED_MESSAGE,
        gettext_lazy(
            "Escalated to you: %(title)s has waited too long for %(approver)s (%(step)s)."
        ),
        email=True,
    )
    register(APPROVED_MESSAGE, gettext_lazy("Approved: %(title)s (%(process)s)."), email=True)
    register(
        REJECTED_MESSAGE,
        gettext_lazy("%(actor)s rejected %(title)s (%(process)s): %(comment)s"),
        email=True,
    )


def _tell_approver(request: ApprovalRequest, task: ApprovalTask, submitter: User) -> None:
    params = {"submitter": str(submitter), "title": request.title, "step": task.step_name}
    if task.delegated_from_id:
        params["for"] = str(task.delegated_from)
    notify(
        recipient=task.approver,
        kind="approval.task",
        message_key=TASK_DELEGATED_MESSAGE if task.delegated_from_id else TASK_MESSAGE,
        params=params,
        target=request,
        url=request_url(request),
        idempotency_key=f"approval.task:{task.pk}",
    )
    if task.approver.email:
        transaction.on_commit(partial(approval_email_send, task_id=task.pk))


def _tell_submitter(request: ApprovalRequest, key: str, params: dict[str, Any]) -> None:
    notify(
        recipient=request.submitted_by,
        kind="approval.outcome",
        message_key=key,
        params={"title": request.title, "process": request.process.name, **params},
        target=request,
        url=request_url(request),
        idempotency_key=f"approval.outcome:{request.pk}",
    )


def decision_links(task: ApprovalTask) -> dict[str, str]:
    """Absolute approve/reject links for the e-mail ({} until the web UI serves them)."""
    links = {}
    for name, approve in (("approve", True), ("reject", False)):
        path = _link(TOKEN_URL_NAME, decision_token(task, approve))
        if path:
            links[name] = f"{settings.SITE_URL}{path}"
    return links


def approval_email_send(*, task_id: int) -> bool:
    """E-mail a new task to its approver, in their language, with the decision links."""
    task = (
        ApprovalTask.objects.select_related("request", "request__submitted_by", "approver")
        .filter(pk=task_id, state=ApprovalTaskState.PENDING)
        .first()
    )
    if task is None or not (task.approver.is_active and task.approver.email):
        return False
    request = task.request
    language = task.approver.language or settings.LANGUAGE_CODE
    try:
        with translation.override(language):
            subject = _("Approval requested: %(title)s") % {"title": request.title}
            lines = [
                _("%(submitter)s asks for your approval: %(title)s (%(step)s).")
                % {
                    "submitter": request.submitted_by,
                    "title": request.title,
                    "step": task.step_name,
                },
            ]
            if request.comment:
                lines.append(_("Comment: %(comment)s") % {"comment": request.comment})
            links = decision_links(task)
            if "approve" in links:
                lines.append(_("Approve: %(link)s") % {"link": links["approve"]})
                lines.append(_("Reject: %(link)s") % {"link": links["reject"]})
            page = request_url(request)
            if page:
                lines.append(_("Open: %(link)s") % {"link": f"{settings.SITE_URL}{page}"})
            send_mail(
                subject=" ".join(subject.split())[:150],
                message="\n\n".join(lines) + "\n",
                from_email=None,
                recipient_list=[task.approver.email],
            )
    except Exception:  # the mail server is down: the task is in the inbox either way
        logger.exception("could not e-mail approval task %s", task_id)
        return False
    return True


# --- submit, decide, cancel ----------------------------------------------------------------


@dataclass
class _ConditionOnly:
    """A process's condition in the shape `engine.condition_holds` reads (no trigger part)."""

    condition: dict
    trigger: str = ""
    trigger_config: dict = field(default_factory=dict)


def process_applies(process: ApprovalProcess, record: models.Model) -> bool:
    """Whether `record` meets the process's condition (in SQL, as the system actor, as rule
    conditions are). A condition that no longer validates raises a ValidationError."""
    automatable = registry.get(process.object_type)
    if automatable is None:
        return False
    return engine.condition_holds(
        _ConditionOnly(process.condition or {"and": []}),
        automatable,
        record.pk,
        system_actor.get(),
    )


def _checked_applies(process: ApprovalProcess, record: models.Model) -> bool:
    try:
        return process_applies(process, record)
    except ValidationError as error:
        raise _refuse(
            "process",
            _("The condition of “%(process)s” cannot be checked: %(error)s")
            % {"process": process.display_name, "error": " ".join(error.messages)},
            "broken_condition",
        ) from error


def _audit(
    actor: User, action: str, request: ApprovalRequest, record: Any = None, **extra: Any
) -> None:
    automatable = registry.get(request.object_type)
    target = record
    if target is None and automatable is not None:
        target = automatable.model._default_manager.filter(pk=request.object_id).first()
    details = {"approval": request.pk, "process": request.process_id, **extra}
    if target is not None:
        trail.record(actor=actor, action=action, target=target, extra=details)
    else:
        trail.record(
            actor=actor,
            action=action,
            object_type=request.object_type,
            object_id=request.object_id,
            object_repr=request.title,
            extra=details,
        )


def approval_submit(
    *,
    actor: User,
    object_type: str,
    record: models.Model,
    process: ApprovalProcess | None = None,
    comment: str = "",
    payload: dict | None = None,
    on_behalf_of: User | None = None,
) -> ApprovalRequest:
    """Ask for approval of `record`. Anyone who may view and change the record may. Without
    `process`, the first active process of the type whose condition holds applies. Refused
    when none applies, when a request is pending for the record already, or when a step
    cannot be routed (each such step named). Creates the tasks of the first step number and
    tells the approvers. `on_behalf_of` (rules: the record's owner) is the submitter whose
    manager approves, and who cannot approve; the actor is checked and audited."""
    automatable = registry.get(object_type)
    if automatable is None or not isinstance(record, automatable.model):
        raise _refuse(
            "object_type",
            _("“%(type)s” is not a record type approvals can be asked for.")
            % {"type": object_type},
            "unknown_type",
        )
    if automatable.guarded:
        raise _refuse(
            "object_type",
            _("Approvals of %(types)s start by themselves when the request is made.")
            % {"types": automatable.label},
            "guarded",
        )
    if not policy.can(actor, Action.VIEW, record):
        raise NotFound()
    if not policy.can(actor, Action.CHANGE, record):
        raise PermissionDenied()
    request = _submit(
        actor=actor,
        object_type=object_type,
        record=record,
        process=process,
        comment=comment,
        payload=payload,
        submitter=on_behalf_of or actor,
    )
    assert request is not None  # a process is required here: none raises
    return request


def _submit(
    *,
    actor: User,
    object_type: str,
    record: models.Model,
    process: ApprovalProcess | None,
    comment: str,
    payload: dict | None,
    submitter: User,
    required: bool = True,
) -> ApprovalRequest | None:
    """`approval_submit` once the actor's right to submit is established. Not `required`
    (guarded actions): None when no process applies, instead of refusing."""
    comment = str(comment or "").strip()
    pending_message = _("This record is already waiting for approval.")
    if ApprovalRequest.objects.filter(
        object_type=object_type, object_id=record.pk, state=ApprovalState.PENDING
    ).exists():
        raise _refuse("record", pending_message, "pending")
    if len(comment) > MAX_COMMENT:
        raise _refuse("comment", _("At most %(n)d characters.") % {"n": MAX_COMMENT}, "max_length")
    if process is not None:
        if process.object_type != object_type or not process.is_active:
            raise _refuse(
                "process",
                _("“%(process)s” is not an active process for this type of record.")
                % {"process": process.display_name},
                "not_applicable",
            )
        if not _checked_applies(process, record):
            raise _refuse(
                "process",
                _("This record does not meet the condition of “%(process)s”.")
                % {"process": process.display_name},
                "condition",
            )
    else:
        candidates = ApprovalProcess.objects.filter(object_type=object_type, is_active=True)
        process = next(
            (
                candidate
                for candidate in candidates.order_by("position", "id")
                if _checked_applies(candidate, record)
            ),
            None,
        )
        if process is None:
            if not required:
                return None
            raise _refuse("process", _("No approval process applies to this record."), "no_process")
    steps = [
        _step_snapshot(step, index)
        for index, step in enumerate(process.steps.order_by("number", "id"))
    ]
    if not steps:
        raise _refuse("process", _("The process has no steps."), "no_steps")
    pending_message = _("This record is already waiting for approval.")
    try:
        with transaction.atomic():
            request = ApprovalRequest.objects.create(
                process=process,
                process_version=process.version,
                steps=steps,
                object_type=object_type,
                object_id=record.pk,
                title=str(record)[:300],
                submitted_by=submitter,
                comment=comment,
                payload=payload or {},
                lock_record=process.lock_record,
            )
            # every step is routed once now, so that a request that cannot be approved is
            # refused at submit (later steps are routed again when they open)
            problems = []
            for step in steps:
                try:
                    route_step(step, submitter)
                except Unroutable as error:
                    problems.append(ValidationError(error.message, code="unroutable"))
            if problems:
                raise ValidationError({"steps": problems})
            first = min(step["number"] for step in steps)
            _open_number(actor, request, first, submitter)
            request.save(update_fields=["current_number"])
            _audit(
                actor,
                "automation.approval_submit",
                request,
                record,
                process_name=process.name,
                comment=comment,
                submitted_by=submitter.pk,
            )
    except IntegrityError:
        raise _refuse("record", pending_message, "pending") from None
    return request


def _may_decide(actor: User, task: ApprovalTask) -> bool:
    if actor.pk in (task.approver_id, task.delegated_from_id):
        return True
    delegation = delegation_for(task.approver_id)
    return delegation is not None and delegation.delegate_id == actor.pk


def _slot(task: ApprovalTask) -> int:
    return task.escalated_from_id or task.pk


def approval_decide(
    *,
    actor: User,
    task: ApprovalTask,
    approve: bool,
    comment: str = "",
    via: str = "app",
) -> ApprovalRequest:
    """Approve or reject one task. Only its approver (or whoever decides for them while they
    are away) may; nobody decides on their own request; a rejection needs a comment.
    Approving completes the step (any: one approval; all: every approver), and when every
    step of the number is complete opens the next number or, after the last, approves the
    request; rejecting ends the request. The submitter is told the outcome."""
    comment = str(comment or "").strip()
    with transaction.atomic():
        request = (
            ApprovalRequest.objects.select_for_update(of=("self",))
            .select_related("process", "submitted_by")
            .filter(pk=task.request_id)
            .first()
        )
        task = ApprovalTask.objects.select_related("approver").filter(pk=task.pk).first()
        if request is None or task is None:
            raise NotFound()
        if actor.pk == request.submitted_by_id:
            raise _refuse("task", _("You cannot approve your own request."), "own_request")
        if not _may_decide(actor, task):
            raise PermissionDenied(
                _("Only the approver of this step, or their delegate, may decide it.")
            )
        if not (task.is_pending and request.is_pending):
            raise _refuse("task", _("This approval has already been decided."), "decided")
        if not approve and not comment:
            raise _refuse("comment", _("Say why you reject it."), "required")
        if len(comment) > MAX_COMMENT:
            raise _refuse(
                "comment", _("At most %(n)d characters.") % {"n": MAX_COMMENT}, "max_length"
            )
        now = timezone.now()
        task.state = ApprovalTaskState.APPROVED if approve else ApprovalTaskState.REJECTED
        task.comment = comment
        task.decided_by = actor
        task.decided_at = now
        task.save(update_fields=["state", "comment", "decided_by", "decided_at"])
        pending = ApprovalTask.objects.filter(request=request, state=ApprovalTaskState.PENDING)
        # the same approver's place, escalated or not: one decision counts
        pending.filter(Q(pk=task.escalated_from_id) | Q(escalated_from=_slot(task))).update(
            state=ApprovalTaskState.SKIPPED, decided_at=now
        )
        details = {
            "task": task.pk,
            "step": task.step_number,
            "step_name": task.step_name,
            "comment": comment,
            "via": via,
        }
        if actor.pk != task.approver_id:
            details["for"] = task.approver_id
        record = None
        if not approve:
            pending.update(state=ApprovalTaskState.CANCELLED, decided_at=now)
            request.state = ApprovalState.REJECTED
            request.decided_at = now
            request.save(update_fields=["state", "decided_at"])
            _audit(actor, "automation.approval_reject", request, **details)
            _guarded_outcome(request, approved=False, comment=comment)
            _tell_submitter(request, REJECTED_MESSAGE, {"actor": str(actor), "comment": comment})
            return request
        _audit(actor, "automation.approval_approve", request, **details)
        step = request.steps[task.step_index] if task.step_index < len(request.steps) else {}
        if step.get("mode", ApprovalMode.ANY) == ApprovalMode.ANY:
            pending.filter(step_index=task.step_index).update(
                state=ApprovalTaskState.SKIPPED, decided_at=now
            )
        if pending.filter(step_number=request.current_number).exists():
            return request
        later = sorted(
            {s["number"] for s in request.steps if s["number"] > (request.current_number or 0)}
        )
        if later:
            _open_number(actor, request, later[0], request.submitted_by)
            request.save(update_fields=["current_number"])
            _audit(actor, "automation.approval_step_open", request, record, step=later[0])
            return request
        request.state = ApprovalState.APPROVED
        request.decided_at = now
        request.save(update_fields=["state", "decided_at"])
        _audit(actor, "automation.approval_approved", request, record)
        _guarded_outcome(request, approved=True, comment=comment)
        _tell_submitter(request, APPROVED_MESSAGE, {})
    return request


def approval_cancel(*, actor: User, request: ApprovalRequest, comment: str = "") -> ApprovalRequest:
    """Withdraw a pending request (its submitter, or a manager of processes); its open tasks
    are cancelled and the record is unlocked."""
    with transaction.atomic():
        request = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
        if actor.pk != request.submitted_by_id and not can_manage(actor):
            raise PermissionDenied()
        if not request.is_pending:
            raise _refuse("request", _("This request is no longer pending."), "decided")
        now = timezone.now()
        request.tasks.filter(state=ApprovalTaskState.PENDING).update(
            state=ApprovalTaskState.CANCELLED, decided_at=now
        )
        request.state = ApprovalState.CANCELLED
        request.decided_at = now
        request.save(update_fields=["state", "decided_at"])
        _audit(actor, "automation.approval_cancel", request, comment=str(comment or "").strip())
    return request


# --- e-mail links --------------------------------------------------------------------------


def decision_token(task: ApprovalTask, approve: bool) -> str:
    """A signed link token that decides `task` (approve or reject) once, for its approver.
    It stops working when the task is decided (whichever way) or after
    `APPROVAL_LINK_MAX_AGE` seconds (7 days)."""
    return signing.dumps({"t": task.pk, "a": 1 if approve else 0}, salt=TOKEN_SALT)


def token_task(token: str) -> tuple[ApprovalTask, bool]:
    """The task and decision a link token stands for; ValidationError (field "token") when
    it is not valid, has expired or was used."""
    max_age = getattr(settings, "APPROVAL_LINK_MAX_AGE", TOKEN_MAX_AGE)
    try:
        values = signing.loads(str(token or ""), salt=TOKEN_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise _refuse(
            "token",
            _("This approval link has expired. Open the request in Rapport to decide."),
            "expired",
        ) from None
    except signing.BadSignature:
        raise _refuse("token", _("This approval link is not valid."), "invalid") from None
    task = (
        ApprovalTask.objects.select_related("request", "approver")
        .filter(pk=values.get("t") if isinstance(values, dict) else None)
        .first()
    )
    if task is None:
        raise _refuse("token", _("This approval link is not valid."), "invalid")
    if not (task.is_pending and task.request.is_pending):
        raise _refuse(
            "token",
            _("This approval link has already been used, or the approval was decided already."),
            "used",
        )
    return task, bool(values.get("a"))


def read_decision_token(token: str) -> tuple[ApprovalTask | None, bool, str]:
    """(task, approve, problem) for the page an e-mail link opens: the problem is the
    message saying why the link cannot be used ("" when it can)."""
    try:
        task, approve = token_task(token)
    except ValidationError as error:
        return None, False, " ".join(error.messages)
    return task, approve, ""


def approval_decide_by_token(*, token: str, comment: str = "") -> ApprovalRequest:
    """Decide as the e-mail link says, as the task's approver. A link works once: a used or
    expired link is refused with a message saying so."""
    task, approve = token_task(token)
    if not task.approver.is_active:
        raise _refuse("token", _("This approval link is not valid."), "invalid")
    try:
        return approval_decide(
            actor=task.approver, task=task, approve=approve, comment=comment, via="email"
        )
    except ValidationError as error:
        if getattr(error, "error_dict", {}).get("task") and error.error_dict["task"][0].code == (
            "decided"
        ):
            raise _refuse(
                "token",
                _("This approval link has already been used, or the approval was decided already."),
                "used",
            ) from error
        raise


# --- delegation ----------------------------------------------------------------------------


def delegation_set(
    *,
    actor: User,
    delegate: User,
    starts_on: date,
    ends_on: date,
    reason: str = "",
    user: User | None = None,
) -> ApprovalDelegation:
    """While `user` (the actor; managers of processes may name someone else) is away from
    `starts_on` to `ends_on`, their new approval tasks go to `delegate`, who may also decide
    their earlier ones. Refused when another delegation of theirs overlaps."""
    user = user or actor
    if user.pk != actor.pk and not can_manage(actor):
        raise PermissionDenied()
    errors = _Errors()
    if delegate is None or _is_system(delegate):
        errors.add("delegate", _("Choose who decides while you are away."), "required")
    elif not delegate.is_active:
        errors.add(
            "delegate", _("The user “%(user)s” is deactivated.") % {"user": delegate}, "inactive"
        )
    elif delegate.pk == user.pk:
        errors.add("delegate", _("Choose someone else."), "self")
    if not isinstance(starts_on, date) or not isinstance(ends_on, date):
        errors.add("ends_on", _("Give the first and last day as dates."), "invalid")
    elif ends_on < starts_on:
        errors.add("ends_on", _("The last day cannot be before the first."), "invalid")
    elif ends_on < timezone.localdate():
        errors.add("ends_on", _("The last day is in the past."), "invalid")
    reason = str(reason or "").strip()
    if len(reason) > 300:
        errors.add("reason", _("At most %(n)d characters.") % {"n": 300}, "max_length")
    errors.raise_if_any()
    with transaction.atomic():
        overlapping = (
            ApprovalDelegation.objects.select_for_update()
            .filter(user=user, is_active=True, starts_on__lte=ends_on, ends_on__gte=starts_on)
            .first()
        )
        if overlapping is not None:
            raise _refuse(
                "starts_on",
                _(
                    "A delegation to %(delegate)s from %(start)s to %(end)s overlaps these "
                    "dates; end it first."
                )
                % {
                    "delegate": overlapping.delegate,
                    "start": overlapping.starts_on,
                    "end": overlapping.ends_on,
                },
                "overlap",
            )
        delegation = ApprovalDelegation.objects.create(
            user=user, delegate=delegate, starts_on=starts_on, ends_on=ends_on, reason=reason
        )
        trail.record(
            actor=actor,
            action="automation.approval_delegation_set",
            target=delegation,
            changes=trail.diff(
                {},
                {
                    "user": user.pk,
                    "delegate": delegate.pk,
                    "starts_on": starts_on.isoformat(),
                    "ends_on": ends_on.isoformat(),
                    "reason": reason,
                },
            ),
        )
    return delegation


def delegation_end(*, actor: User, delegation: ApprovalDelegation) -> ApprovalDelegation:
    """End a delegation now (the away user, or a manager of processes)."""
    if delegation.user_id != actor.pk and not can_manage(actor):
        raise PermissionDenied()
    if not delegation.is_active:
        return delegation
    with transaction.atomic():
        delegation.is_active = False
        delegation.save(update_fields=["is_active"])
        trail.record(
            actor=actor,
            action="automation.approval_delegation_end",
            target=delegation,
            changes={"is_active": [True, False]},
        )
    return delegation


# --- reminders and escalation --------------------------------------------------------------


def _escalation_target(request: ApprovalRequest, task: ApprovalTask) -> User | None:
    step = request.steps[task.step_index] if task.step_index < len(request.steps) else {}
    submitter = request.submitted_by
    target = _escalation_user(step, submitter)
    if target is None or target.pk == task.approver_id:
        target = manager_of(task.delegated_from or task.approver)
    if (
        target is None
        or not target.is_active
        or _is_system(target)
        or target.pk in (submitter.pk, task.approver_id)
    ):
        return None
    return target


def _remind(system: User, task_id: int, now: datetime) -> bool:
    with transaction.atomic():
        claimed = ApprovalTask.objects.filter(
            pk=task_id, state=ApprovalTaskState.PENDING, reminded_at__isnull=True
        ).update(reminded_at=now)
        if not claimed:
            return False
        task = ApprovalTask.objects.select_related("request", "approver").get(pk=task_id)
        notify(
            recipient=task.approver,
            kind="approval.reminder",
            message_key=REMINDER_MESSAGE,
            params={"title": task.request.title, "step": task.step_name},
            target=task.request,
            url=request_url(task.request),
            idempotency_key=f"approval.reminder:{task.pk}",
        )
        _audit(
            system, "automation.approval_remind", task.request, task=task.pk, to=task.approver_id
        )
    return True


def _escalate(system: User, task_id: int, now: datetime) -> bool:
    with transaction.atomic():
        # the request is locked first, as a decision locks it: no escalation of a task
        # whose request is being decided at the same moment
        locked = (
            ApprovalRequest.objects.select_for_update(of=("self",))
            .filter(tasks=task_id, state=ApprovalState.PENDING)
            .values_list("pk", flat=True)
        )
        if not list(locked):
            return False
        claimed = ApprovalTask.objects.filter(
            pk=task_id, state=ApprovalTaskState.PENDING, escalated_at__isnull=True
        ).update(escalated_at=now)
        if not claimed:
            return False
        task = ApprovalTask.objects.select_related(
            "request", "request__submitted_by", "approver", "delegated_from"
        ).get(pk=task_id)
        request = task.request
        target = _escalation_target(request, task)
        details: dict[str, Any] = {"task": task.pk, "from": task.approver_id}
        if target is not None:
            final, delegated_from = _with_delegation(target, request.submitted_by, now.date())
            step = request.steps[task.step_index] if task.step_index < len(request.steps) else {}
            remind_at = _hours_after(now, step.get("remind_after_hours"))
            escalation = ApprovalTask.objects.create(
                request=request,
                step_index=task.step_index,
                step_number=task.step_number,
                step_name=task.step_name,
                approver=final,
                delegated_from=delegated_from,
                escalated_from=task,
                created_at=now,
                remind_at=remind_at,
                due_at=remind_at,
            )
            notify(
                recipient=final,
                kind="approval.escalated",
                message_key=ESCALATED_MESSAGE,
                params={
                    "title": request.title,
                    "step": task.step_name,
                    "approver": str(task.approver),
                },
                target=request,
                url=request_url(request),
                idempotency_key=f"approval.escalated:{task.pk}",
            )
            if final.email:
                transaction.on_commit(partial(approval_email_send, task_id=escalation.pk))
            details.update(to=final.pk, escalation=escalation.pk)
        else:
            details["to"] = None
        _audit(system, "automation.approval_escalate", request, **details)
    return True


def approvals_remind_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Remind approvers whose tasks waited `remind_after_hours`, and escalate those that
    waited `escalate_after_hours` (to the step's `escalate_to`, else the approver's manager;
    both may then decide, one decision counts). Each task is reminded and escalated at most
    once, whoever runs the sweep twice (beat: every 15 minutes). Returns how many reminders
    and escalations were made."""
    now = now or timezone.now()
    system = system_actor.get()
    live = ApprovalTask.objects.filter(
        state=ApprovalTaskState.PENDING, request__state=ApprovalState.PENDING
    )
    to_remind = list(
        live.filter(reminded_at__isnull=True, remind_at__lte=now)
        .order_by("remind_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    to_escalate = list(
        live.filter(escalated_at__isnull=True, escalate_at__lte=now, escalated_from__isnull=True)
        .order_by("escalate_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    done = sum(_remind(system, task_id, now) for task_id in to_remind)
    done += sum(_escalate(system, task_id, now) for task_id in to_escalate)
    return done


# --- the lock hook -------------------------------------------------------------------------


def _locked(record: Any) -> str | None:
    automatable = registry.type_of(record)
    if automatable is None:
        return None
    object_type = automatable.object_type
    request = (
        ApprovalRequest.objects.filter(
            object_type=object_type,
            object_id=record.pk,
            state=ApprovalState.PENDING,
            lock_record=True,
        )
        .select_related("process")
        .first()
    )
    if request is None:
        return None
    return _lock_message(request)


def _lock_message(request: ApprovalRequest) -> str:
    return _(
        "This record is waiting for approval (“%(process)s”) and cannot be changed until it "
        "is decided or the request is withdrawn."
    ) % {"process": request.process.display_name}


def _locked_many(records: Sequence[Any]) -> dict[Any, str]:
    """`_locked` for a list of records of one model, in one query."""
    if not records:
        return {}
    automatable = registry.type_of(records[0])
    if automatable is None:
        return {}
    object_type = automatable.object_type
    pending = ApprovalRequest.objects.filter(
        object_type=object_type,
        object_id__in=[record.pk for record in records],
        state=ApprovalState.PENDING,
        lock_record=True,
    ).select_related("process")
    return {request.object_id: _lock_message(request) for request in pending}


# --- guarded actions (`core.guards`) -------------------------------------------------------


def _guard_submit(record: Any, *, actor: User, on_behalf_of: User) -> bool:
    """Start the approval of a pending guarded request when an active process applies."""
    automatable = registry.type_of(record)
    if automatable is None or not automatable.guarded:
        return False
    request = _submit(
        actor=actor,
        object_type=automatable.object_type,
        record=record,
        process=None,
        comment="",
        payload=None,
        submitter=on_behalf_of,
        required=False,
    )
    return request is not None


def _guard_outcome(record: Any) -> str | None:
    automatable = registry.type_of(record)
    if automatable is None:
        return None
    last = (
        ApprovalRequest.objects.filter(object_type=automatable.object_type, object_id=record.pk)
        .order_by("-id")
        .values_list("state", flat=True)
        .first()
    )
    return {ApprovalState.APPROVED: guards.APPROVED, ApprovalState.REJECTED: guards.REJECTED}.get(
        last
    )


def _guarded_outcome(request: ApprovalRequest, *, approved: bool, comment: str) -> None:
    """Perform (or refuse) a guarded action now that its approval has ended, as the system
    actor on the approval's authority, in the deciding transaction: if it fails (the
    username was taken meanwhile), the decision is undone with it and the error shown."""
    automatable = registry.get(request.object_type)
    if automatable is None or automatable.decided is None:
        return
    record = automatable.model._default_manager.filter(pk=request.object_id).first()
    if record is not None:
        automatable.decided(system_actor.get(), record, approved, comment)


# --- the start_approval action -------------------------------------------------------------


def processes_for(user: User, object_type: str, record: models.Model) -> list[ApprovalProcess]:
    """The active processes `user` could submit `record` under now: none when they may not
    change it or it is waiting for approval already; else those whose condition holds."""
    if not policy.can(user, Action.CHANGE, record):
        return []
    if ApprovalRequest.objects.filter(
        object_type=object_type, object_id=record.pk, state=ApprovalState.PENDING
    ).exists():
        return []
    applicable = []
    for process in ApprovalProcess.objects.filter(object_type=object_type, is_active=True).order_by(
        "position", "id"
    ):
        try:
            if process_applies(process, record):
                applicable.append(process)
        except ValidationError:
            continue  # a broken condition is reported when someone submits under it
    return applicable


def _clean_start(params: dict[str, Any], ctx: actions.CleanContext) -> dict[str, Any]:
    errors = _Errors()
    for name in sorted(set(params) - {"type", "process"}):
        errors.add(name, _("Unknown setting."), "unknown_field")
    process = ApprovalProcess.objects.filter(pk=_int(params.get("process"))).first()
    if process is None:
        errors.add(
            "process",
            _("There is no approval process %(id)s.") % {"id": params.get("process")},
            "unknown",
        )
    elif process.object_type != ctx.automatable.object_type:
        errors.add("process", _("That process is for another type of record."), "wrong_type")
    errors.raise_if_any()
    return {"process": process.pk}


def _execute_start(ctx: actions.RunContext, params: dict[str, Any]) -> dict[str, Any]:
    process = ApprovalProcess.objects.filter(pk=params["process"]).first()
    if process is None:
        raise _refuse("process", _("The approval process no longer exists."), "unknown")
    record = ctx.record
    pending = ApprovalRequest.objects.filter(
        object_type=ctx.automatable.object_type, object_id=record.pk, state=ApprovalState.PENDING
    ).first()
    if pending is not None:  # already waiting: nothing to start (a rule may fire again)
        return {"changes": {}, "pending": pending.pk}
    owner = User.objects.filter(pk=getattr(record, "owner_id", None), is_active=True).first()
    request = approval_submit(
        actor=ctx.actor,
        object_type=ctx.automatable.object_type,
        record=record,
        process=process,
        on_behalf_of=owner,
    )
    return {
        "created": {"type": "automation.approval_request", "id": request.pk},
        "changes": {"approval": request.pk, "process": process.pk},
    }


def register() -> None:
    """Plug approvals in: the start_approval action, the record lock, the messages."""
    actions.register(
        actions.ActionType(
            "start_approval", gettext_lazy("Start an approval"), _clean_start, _execute_start
        )
    )
    locks.register(_locked, many=_locked_many)
    guards.register(submit=_guard_submit, outcome=_guard_outcome)
    _register_messages()


register()
