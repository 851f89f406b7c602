"""Reads of approvals: "my approvals", the requests of a record, what a user may see, and
the monitoring figures. Writes are in `approvals`.

Who sees a request: its submitter, its approvers (and whoever decides for them while they
are away), whoever may view the record it is about, and the managers of processes (the
`manage` grant on `automation.rule`, as for rules).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from rapport.identity import policy
from rapport.identity.models import Action, User

from . import registry
from .models import (
    ApprovalDelegation,
    ApprovalProcess,
    ApprovalRequest,
    ApprovalState,
    ApprovalTask,
    ApprovalTaskState,
)

MANAGE_TYPE = "automation.rule"


def can_manage(user) -> bool:
    """Whether `user` designs approval processes (and sees every request)."""
    return bool(
        user is not None
        and user.is_authenticated
        and policy.has_grant(user, MANAGE_TYPE, Action.MANAGE)
    )


def delegation_for(user_id: int, day: date | None = None) -> ApprovalDelegation | None:
    """The delegation in force for `user_id` on `day` (today), whose delegate is active."""
    day = day or timezone.localdate()
    return (
        ApprovalDelegation.objects.filter(
            user_id=user_id,
            is_active=True,
            starts_on__lte=day,
            ends_on__gte=day,
            delegate__is_active=True,
        )
        .select_related("delegate")
        .order_by("-starts_on", "-id")
        .first()
    )


def delegators_of(user, day: date | None = None) -> list[int]:
    """Ids of the users who have delegated their approvals to `user` for `day` (today)."""
    day = day or timezone.localdate()
    return list(
        ApprovalDelegation.objects.filter(
            delegate=user, is_active=True, starts_on__lte=day, ends_on__gte=day
        ).values_list("user_id", flat=True)
    )


def _task_related(tasks: QuerySet) -> QuerySet:
    return tasks.select_related(
        "request",
        "request__process",
        "request__submitted_by",
        "approver",
        "delegated_from",
    )


def pending_tasks_for(user) -> QuerySet[ApprovalTask]:
    """The tasks `user` may decide now: their own, and those of whoever delegated to them
    (while the delegation is in force). Oldest first."""
    approvers = [user.pk, *delegators_of(user)]
    return _task_related(
        ApprovalTask.objects.filter(
            approver_id__in=approvers,
            state=ApprovalTaskState.PENDING,
            request__state=ApprovalState.PENDING,
        )
    ).order_by("created_at", "id")


def _record_visible_q(user) -> Q:
    condition = Q(pk__in=[])
    for object_type, automatable in registry.types().items():
        condition |= Q(
            object_type=object_type, object_id__in=automatable.restrict(user).values("pk")
        )
    return condition


def requests_visible_to(user) -> QuerySet[ApprovalRequest]:
    """The requests `user` may see (see the module's doc), newest first."""
    requests = ApprovalRequest.objects.select_related("process", "submitted_by")
    if user is None or not user.is_authenticated or not user.is_active:
        return requests.none()
    if can_manage(user):
        return requests.order_by("-submitted_at", "-id")
    approvers = [user.pk, *delegators_of(user)]
    involved = Exists(
        ApprovalTask.objects.filter(request=OuterRef("pk")).filter(
            Q(approver_id__in=approvers) | Q(delegated_from=user) | Q(decided_by=user)
        )
    )
    return requests.filter(Q(submitted_by=user) | involved | _record_visible_q(user)).order_by(
        "-submitted_at", "-id"
    )


def tasks_prefetch() -> Prefetch:
    return Prefetch(
        "tasks",
        queryset=ApprovalTask.objects.select_related(
            "approver", "delegated_from", "decided_by"
        ).order_by("step_number", "step_index", "id"),
    )


def requests_for_record(user, object_type: str, object_id: Any) -> QuerySet[ApprovalRequest]:
    """The approval history of one record as `user` may see it, newest first, with tasks."""
    return (
        requests_visible_to(user)
        .filter(object_type=object_type, object_id=object_id)
        .prefetch_related(tasks_prefetch())
    )


def pending_request_for(object_type: str, object_id: Any) -> ApprovalRequest | None:
    return (
        ApprovalRequest.objects.filter(
            object_type=object_type, object_id=object_id, state=ApprovalState.PENDING
        )
        .select_related("process")
        .first()
    )


def _mean(durations: list[timedelta]) -> timedelta | None:
    if not durations:
        return None
    return sum(durations, timedelta()) / len(durations)


def process_figures(*, since: Any = None) -> list[dict[str, Any]]:
    """Per process (those with requests, and the active ones): requests per state, how many
    pending tasks are overdue, the average cycle time (submit → decision) of decided requests,
    and the bottleneck step: the step where pending requests wait most (ties: the step whose
    decided tasks took longest on average). `since` limits to requests submitted after it.

    A handful of grouped queries whatever the number of requests; cycle and wait averages
    are computed over the decided rows' timestamps (portable across databases)."""
    requests = ApprovalRequest.objects.all()
    tasks = ApprovalTask.objects.all()
    if since is not None:
        requests = requests.filter(submitted_at__gte=since)
        tasks = tasks.filter(request__submitted_at__gte=since)
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for row in requests.values("process_id", "state").annotate(n=Count("id")).order_by():
        counts[row["process_id"]][row["state"]] = row["n"]
    cycles: dict[int, list[timedelta]] = defaultdict(list)
    for process_id, submitted, decided in requests.filter(
        state__in=(ApprovalState.APPROVED, ApprovalState.REJECTED), decided_at__isnull=False
    ).values_list("process_id", "submitted_at", "decided_at"):
        cycles[process_id].append(decided - submitted)
    waiting: dict[int, dict[tuple[int, str], int]] = defaultdict(dict)
    for row in (
        tasks.filter(state=ApprovalTaskState.PENDING, request__state=ApprovalState.PENDING)
        .values("request__process_id", "step_number", "step_name")
        .annotate(n=Count("request_id", distinct=True))
        .order_by()
    ):
        key = (row["step_number"], row["step_name"])
        waiting[row["request__process_id"]][key] = row["n"]
    waits: dict[int, dict[tuple[int, str], list[timedelta]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for process_id, number, name, created, decided in tasks.filter(
        state__in=(ApprovalTaskState.APPROVED, ApprovalTaskState.REJECTED), decided_at__isnull=False
    ).values_list("request__process_id", "step_number", "step_name", "created_at", "decided_at"):
        waits[process_id][(number, name)].append(decided - created)
    now = timezone.now()
    overdue = dict(
        tasks.filter(
            state=ApprovalTaskState.PENDING,
            request__state=ApprovalState.PENDING,
            due_at__lt=now,
        )
        .values("request__process_id")
        .annotate(n=Count("request_id", distinct=True))
        .order_by()
        .values_list("request__process_id", "n")
    )
    process_ids = set(counts) | set(
        ApprovalProcess.objects.filter(is_active=True).values_list("pk", flat=True)
    )
    figures = []
    for process in ApprovalProcess.objects.filter(pk__in=process_ids).order_by(
        "object_type", "position", "id"
    ):
        by_state = {state: counts[process.pk].get(state, 0) for state in ApprovalState.values}
        steps = set(waiting[process.pk]) | set(waits[process.pk])
        bottleneck = None
        if steps:
            number, name = max(
                steps,
                key=lambda key: (
                    waiting[process.pk].get(key, 0),
                    _mean(waits[process.pk].get(key, [])) or timedelta(),
                ),
            )
            bottleneck = {
                "step_number": number,
                "step_name": name,
                "pending": waiting[process.pk].get((number, name), 0),
                "average_wait": _mean(waits[process.pk].get((number, name), [])),
            }
        figures.append(
            {
                "process": process,
                "counts": by_state,
                "total": sum(by_state.values()),
                "overdue": overdue.get(process.pk, 0),
                "average_cycle": _mean(cycles[process.pk]),
                "bottleneck": bottleneck,
            }
        )
    return figures


def approver_users(user_ids: list[int]) -> dict[int, User]:
    return {user.pk: user for user in User.objects.filter(pk__in=user_ids)}
