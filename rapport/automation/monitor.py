"""What the process monitor shows: running approval requests and rule runs, and figures per
process (counts by outcome, average and 95th-percentile time to decision, average wait per
step). Every figure is an aggregate computed by the database; nothing loops over all rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Window,
)
from django.db.models.functions import CumeDist
from django.utils import timezone

from rapport.identity.models import Department

from .models import (
    ApprovalProcess,
    ApprovalRequest,
    ApprovalState,
    ApprovalTask,
    ApprovalTaskState,
    RuleRun,
    RunState,
)

RUNNING_RUN_STATES = (RunState.QUEUED, RunState.RUNNING, RunState.FAILED)
# A queued or running rule run older than this counts as stuck ("overdue").
RUN_STUCK_AFTER = timedelta(hours=1)
DECIDED = (ApprovalState.APPROVED, ApprovalState.REJECTED)


def _took(start: str, end: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def _as_duration(value: Any) -> timedelta | None:
    """A duration read by raw SQL: PostgreSQL gives a timedelta, SQLite microseconds."""
    if value is None or isinstance(value, timedelta):
        return value
    return timedelta(microseconds=int(value))


@dataclass
class MonitorFilters:
    object_type: str = ""
    department: Department | None = None
    team_id: int | None = None
    overdue: bool = False


def _overdue_task(now: datetime) -> Exists:
    return Exists(
        ApprovalTask.objects.filter(
            request=OuterRef("pk"), state=ApprovalTaskState.PENDING, due_at__lt=now
        )
    )


def pending_requests(filters: MonitorFilters, now: datetime | None = None) -> QuerySet:
    """Pending requests with their process, submitter, since when the open step waits
    and whether a task of it is overdue; filtered by record type, the submitter's department
    (and the departments below it) or team, and overdue."""
    now = now or timezone.now()
    open_step = ApprovalTask.objects.filter(
        request=OuterRef("pk"),
        state=ApprovalTaskState.PENDING,
        step_number=OuterRef("current_number"),
    ).order_by("step_index", "id")
    requests = (
        ApprovalRequest.objects.filter(state=ApprovalState.PENDING)
        .select_related("process", "submitted_by", "submitted_by__department")
        .annotate(
            open_since=Subquery(open_step.values("created_at")[:1]),
            overdue=_overdue_task(now),
        )
    )
    if filters.object_type:
        requests = requests.filter(object_type=filters.object_type)
    if filters.department is not None:
        requests = requests.filter(
            submitted_by__department__path__startswith=filters.department.path
        )
    if filters.team_id:
        requests = requests.filter(
            Q(submitted_by__teams=filters.team_id) | Q(submitted_by__led_teams=filters.team_id)
        ).distinct()
    if filters.overdue:
        requests = requests.filter(overdue=True)
    return requests


def running_runs(filters: MonitorFilters, now: datetime | None = None) -> QuerySet:
    """Rule runs queued, running or failed (a department or team filter leaves them out:
    rules have no submitter)."""
    now = now or timezone.now()
    runs = RuleRun.objects.filter(state__in=RUNNING_RUN_STATES).select_related("rule")
    if filters.department is not None or filters.team_id:
        return runs.none()
    if filters.object_type:
        runs = runs.filter(object_type=filters.object_type)
    if filters.overdue:
        runs = runs.filter(Q(state=RunState.FAILED) | Q(created_at__lt=now - RUN_STUCK_AFTER))
    return runs


def run_counts() -> dict[str, int]:
    return dict(
        RuleRun.objects.filter(state__in=RUNNING_RUN_STATES)
        .order_by()
        .values("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )


@dataclass
class StepFigure:
    number: int
    name: str
    waiting: timedelta | None
    decided: int
    pending: int


@dataclass
class ProcessFigure:
    process: ApprovalProcess
    counts: dict[str, int] = field(default_factory=dict)
    average: timedelta | None = None
    p95: timedelta | None = None
    steps: list[StepFigure] = field(default_factory=list)

    @property
    def bottleneck(self) -> StepFigure | None:
        waited = [step for step in self.steps if step.waiting is not None]
        return max(waited, key=lambda step: step.waiting) if waited else None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _p95_by_process(decided: QuerySet) -> dict[int, timedelta | None]:
    """The 95th percentile of time to decision per process: the shortest time whose
    cumulative share is at least 95 % (one query, window function in the database)."""
    ranked = decided.annotate(
        took=_took("submitted_at", "decided_at"),
        share=Window(CumeDist(), partition_by=[F("process_id")], order_by=F("took").asc()),
    ).values("process_id", "took", "share")
    sql, params = ranked.query.sql_with_params()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ranked.{quote('process_id')}, MIN(ranked.{quote('took')}) "  # noqa: S608
            f"FROM ({sql}) ranked WHERE ranked.{quote('share')} >= 0.95 "
            f"GROUP BY ranked.{quote('process_id')}",
            params,
        )
        return {process_id: _as_duration(took) for process_id, took in cursor.fetchall()}


def process_figures(object_type: str = "") -> list[ProcessFigure]:
    """Per process: requests by state, average and p95 time from submit to decision
    (approved or rejected), and each step's average wait (task created → decided) with the
    number of decided and pending tasks. Four queries, whatever the number of requests."""
    processes = ApprovalProcess.objects.order_by("object_type", "position", "id")
    requests = ApprovalRequest.objects.all()
    tasks = ApprovalTask.objects.exclude(
        state__in=(ApprovalTaskState.SKIPPED, ApprovalTaskState.CANCELLED)
    )
    if object_type:
        processes = processes.filter(object_type=object_type)
        requests = requests.filter(object_type=object_type)
        tasks = tasks.filter(request__object_type=object_type)
    figures = {process.pk: ProcessFigure(process=process) for process in processes}
    if not figures:
        return []
    for process_id, state, count in (
        requests.order_by().values("process_id", "state").annotate(n=Count("id"))
    ).values_list("process_id", "state", "n"):
        if process_id in figures:
            figures[process_id].counts[state] = count
    decided = requests.filter(state__in=DECIDED, decided_at__isnull=False).order_by()
    for row in decided.values("process_id").annotate(
        average=Avg(_took("submitted_at", "decided_at"))
    ):
        if row["process_id"] in figures:
            figures[row["process_id"]].average = row["average"]
    for process_id, p95 in _p95_by_process(decided).items():
        if process_id in figures:
            figures[process_id].p95 = p95
    steps: dict[int, dict[tuple[int, str], StepFigure]] = defaultdict(dict)
    for row in (
        tasks.order_by()
        .values("request__process_id", "step_number", "step_name")
        .annotate(
            waiting=Avg(_took("created_at", "decided_at"), filter=Q(decided_at__isnull=False)),
            decided=Count("id", filter=Q(decided_at__isnull=False)),
            pending=Count("id", filter=Q(state=ApprovalTaskState.PENDING)),
        )
        .order_by("request__process_id", "step_number", "step_name")
    ):
        process_id = row["request__process_id"]
        if process_id in figures:
            steps[process_id][(row["step_number"], row["step_name"])] = StepFigure(
                number=row["step_number"],
                name=row["step_name"],
                waiting=row["waiting"],
                decided=row["decided"],
                pending=row["pending"],
            )
    for process_id, by_step in steps.items():
        figures[process_id].steps = list(by_step.values())
    return list(figures.values())
