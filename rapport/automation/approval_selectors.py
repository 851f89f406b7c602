"""Reads of approvals: "my approvals", the requests of a record, what a user may see, and
the monitoring figures. Writes are in `approvals`.

Who sees a request: its submitter, its approvers (and whoever decides for them while they
are away), whoever may view the record it is about, and the managers of processes (the
`manage` grant on `automation.rule`, as for rules).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from rapport.identity import policy
from rapport.identity.models import Action, User

from . import registry
from .models import (
    ApprovalDelegation,
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


def approver_users(user_ids: list[int]) -> dict[int, User]:
    return {user.pk: user for user in User.objects.filter(pk__in=user_ids)}
