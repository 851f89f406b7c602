"""Reads of opportunities for pages, the API and the CLI: the kanban board of a pipeline, the
filtered list, and an opportunity's stage history with the time spent in each stage.

Every read starts from `Opportunity.objects.restrict(user, "view")`. The board reads a fixed
number of queries whatever the number of opportunities: one for the stages, one grouped
count-and-sum per column, one for the first cards of every column (a UNION of per-column
`ORDER BY board_rank, id LIMIT n` that walks the partial index `opp_board_idx`), one for
those cards with their account and owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connections
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from rapport.identity.models import Action, User

from .models import Opportunity, OpportunityStatus, Pipeline, Stage, StageChange

BOARD_CARDS = 20  # cards per column before "load more"
ZERO = Decimal("0")


@dataclass
class Column:
    stage: Stage
    count: int = 0
    amount: Decimal = ZERO
    cards: list[Opportunity] = field(default_factory=list)
    more: bool = False

    @property
    def next_after(self) -> str:
        """The cursor of "load more": the last card's rank and id."""
        if not self.cards:
            return ""
        last = self.cards[-1]
        return f"{last.board_rank}.{last.pk}"


@dataclass
class Board:
    pipeline: Pipeline
    columns: list[Column]
    # the won and lost stages: drop targets, without cards
    closing: list[Stage]

    @property
    def count(self) -> int:
        return sum(column.count for column in self.columns)

    @property
    def amount(self) -> Decimal:
        return sum((column.amount for column in self.columns), ZERO)


def visible(user: User) -> QuerySet:
    return Opportunity.objects.restrict(user, Action.VIEW)


def pipelines() -> list[Pipeline]:
    return list(Pipeline.objects.filter(is_active=True).order_by("-is_default", "position", "id"))


def board_filter(queryset: QuerySet, *, owner: int | None = None, q: str = "") -> QuerySet:
    if owner:
        queryset = queryset.filter(owner_id=owner)
    text = (q or "").strip()
    if text:
        queryset = queryset.filter(Q(name__icontains=text) | Q(account__name__icontains=text))
    return queryset


def board(
    user: User,
    pipeline: Pipeline,
    *,
    owner: int | None = None,
    q: str = "",
    per_column: int = BOARD_CARDS,
) -> Board:
    """The open opportunities of `pipeline` the user may see, per open stage in board order:
    each column's count and amount, its first `per_column` cards and whether there are more."""
    stages = list(pipeline.stages.filter(is_active=True).order_by("position", "id"))
    open_stages = [stage for stage in stages if not stage.is_closed]
    columns = {stage.pk: Column(stage=stage) for stage in open_stages}
    base = board_filter(visible(user).filter(status=OpportunityStatus.OPEN), owner=owner, q=q)
    if columns:
        for stage_id, (count, amount) in _totals(base, pipeline, list(columns)).items():
            columns[stage_id].count, columns[stage_id].amount = count, amount
        wanted = [pk for pk, column in columns.items() if column.count]
        if wanted:
            branches = [
                base.filter(stage_id=pk)
                .order_by("board_rank", "id")
                .values_list("pk", flat=True)[: per_column + 1]
                for pk in wanted
            ]
            ids = _union_ids(branches)
            cards = _cards(Opportunity.objects.filter(pk__in=ids))
            for card in sorted(cards, key=lambda c: (c.board_rank, c.pk)):
                columns[card.stage_id].cards.append(card)
            for column in columns.values():
                column.more = len(column.cards) > per_column
                del column.cards[per_column:]
    return Board(
        pipeline=pipeline,
        columns=[columns[stage.pk] for stage in open_stages],
        closing=[stage for stage in stages if stage.is_closed],
    )


def _totals(base: QuerySet, pipeline: Pipeline, stage_ids: list[int]) -> dict:
    rows = (
        base.filter(pipeline=pipeline, stage__in=stage_ids)
        .values("stage")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by()
    )
    return {row["stage"]: (row["count"], row["amount"] or ZERO) for row in rows}


def column_totals(
    user: User, pipeline: Pipeline, *, owner: int | None = None, q: str = ""
) -> dict[int, tuple[int, Decimal]]:
    """{stage id: (count, amount)} of the board's open columns (one grouped query), to
    refresh the column heads after a drop."""
    stage_ids = list(
        pipeline.stages.filter(is_active=True, is_won=False, is_lost=False).values_list(
            "pk", flat=True
        )
    )
    base = board_filter(visible(user).filter(status=OpportunityStatus.OPEN), owner=owner, q=q)
    totals = _totals(base, pipeline, stage_ids)
    return {pk: totals.get(pk, (0, ZERO)) for pk in stage_ids}


def _union_ids(branches: list[QuerySet]) -> list[int]:
    """The ids of several `ORDER BY … LIMIT n` reads in one round trip: UNION ALL of each
    wrapped as a subquery (Django's union refuses LIMIT in branches on SQLite)."""
    parts, params = [], []
    for branch in branches:
        sql, branch_params = branch.query.sql_with_params()
        parts.append(f"SELECT * FROM ({sql}) AS b{len(parts)}")
        params.extend(branch_params)
    with connections[branches[0].db].cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return [row[0] for row in cursor.fetchall()]


def _cards(queryset: QuerySet) -> list[Opportunity]:
    cards = list(
        queryset.select_related("account", "owner", "stage").defer("description", "custom")
    )
    now = timezone.now()
    for card in cards:
        days = card.stage.stale_after_days
        card.stalled = bool(
            days and card.stage_entered_at and card.stage_entered_at < now - timedelta(days=days)
        )
    return cards


def parse_after(value: str) -> tuple[int, int] | None:
    """The "load more" cursor `<rank>.<id>`."""
    try:
        rank, pk = str(value).split(".", 1)
        return int(rank), int(pk)
    except (TypeError, ValueError):
        return None


def column_more(
    user: User,
    stage: Stage,
    *,
    after: tuple[int, int],
    owner: int | None = None,
    q: str = "",
    per_column: int = BOARD_CARDS,
) -> Column:
    """The next cards of one column after the cursor (rank, id)."""
    rank, pk = after
    base = board_filter(
        visible(user).filter(status=OpportunityStatus.OPEN, stage=stage), owner=owner, q=q
    )
    ids = list(
        base.filter(Q(board_rank__gt=rank) | Q(board_rank=rank, id__gt=pk))
        .order_by("board_rank", "id")
        .values_list("pk", flat=True)[: per_column + 1]
    )
    cards = sorted(
        _cards(Opportunity.objects.filter(pk__in=ids)), key=lambda c: (c.board_rank, c.pk)
    )
    column = Column(stage=stage, cards=cards[:per_column], more=len(cards) > per_column)
    return column


# --- the list --------------------------------------------------------------------------------

LIST_ORDERINGS = {
    "-id": ["-id"],
    "id": ["id"],
    "expected_close_date": ["expected_close_date", "id"],
    "-expected_close_date": ["-expected_close_date", "-id"],
    "amount": ["amount", "id"],
    "-amount": ["-amount", "-id"],
}


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None


def _ids(value: Any) -> list[int]:
    values = value if isinstance(value, (list, tuple)) else [value]
    return [int(v) for v in values if str(v).strip().isdigit()]


def filtered(user: User, params: Any) -> QuerySet:
    """The opportunities the user may see, narrowed by `params` (a QueryDict or dict):
    pipeline, stage, status, owner (ids, repeatable; owner=me), close_from/close_to (expected
    close date), amount_min/amount_max, account, q (the name or the account's name)."""

    def many(name: str) -> list[Any]:
        if hasattr(params, "getlist"):
            return [v for v in params.getlist(name) if v != ""]
        value = params.get(name)
        if value in (None, ""):
            return []
        return list(value) if isinstance(value, (list, tuple)) else [value]

    queryset = visible(user).select_related("account", "owner", "stage", "pipeline")
    if pipeline := _ids(many("pipeline")):
        queryset = queryset.filter(pipeline_id__in=pipeline)
    if stage := _ids(many("stage")):
        queryset = queryset.filter(stage_id__in=stage)
    statuses = [s for s in many("status") if s in OpportunityStatus.values]
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    owners = many("owner")
    owner_ids = _ids([user.pk if o == "me" else o for o in owners])
    if owners:
        queryset = queryset.filter(owner_id__in=owner_ids)
    if account := _ids(many("account")):
        queryset = queryset.filter(account_id__in=account)
    for name, lookup, parse in (
        ("close_from", "expected_close_date__gte", _day),
        ("close_to", "expected_close_date__lte", _day),
        ("amount_min", "amount__gte", _decimal),
        ("amount_max", "amount__lte", _decimal),
    ):
        raw = params.get(name)
        if raw not in (None, ""):
            value = parse(raw)
            if value is not None:
                queryset = queryset.filter(**{lookup: value})
    text = str(params.get("q") or "").strip()
    if text:
        condition = Q(name__icontains=text) | Q(account__name__icontains=text)
        if text.lstrip("#").isdigit():
            condition |= Q(pk=int(text.lstrip("#")))
        queryset = queryset.filter(condition)
    return queryset


# --- stage history ---------------------------------------------------------------------------


@dataclass
class StageVisit:
    stage: Stage
    entered_at: Any
    left_at: Any
    seconds: int | None
    by: User | None
    amount: Decimal
    current: bool


def stage_history(opportunity: Opportunity) -> list[StageVisit]:
    """Each stage the opportunity was in, oldest first, with how long it stayed: a visit
    ends when the next move starts (its `seconds_in_from_stage`); the current stage counts
    up to now while the opportunity is open (one query)."""
    changes = list(
        StageChange.objects.filter(opportunity=opportunity)
        .select_related("to_stage", "changed_by")
        .order_by("changed_at", "id")
    )
    now = timezone.now()
    visits: list[StageVisit] = []
    for index, change in enumerate(changes):
        following = changes[index + 1] if index + 1 < len(changes) else None
        if following is not None:
            seconds = following.seconds_in_from_stage
            if seconds is None:
                seconds = int((following.changed_at - change.changed_at).total_seconds())
            left_at = following.changed_at
        else:
            left_at = None
            seconds = (
                int((now - change.changed_at).total_seconds())
                if opportunity.status == OpportunityStatus.OPEN
                else None
            )
        visits.append(
            StageVisit(
                stage=change.to_stage,
                entered_at=change.changed_at,
                left_at=left_at,
                seconds=seconds,
                by=change.changed_by,
                amount=change.amount,
                current=following is None,
            )
        )
    return visits


def stage_path(opportunity: Opportunity) -> list[dict[str, Any]]:
    """The pipeline's active stages in order, each marked done / current / ahead, for the
    path shown on the opportunity."""
    stages = list(opportunity.pipeline.stages.filter(is_active=True).order_by("position", "id"))
    position = next(
        (s.position for s in stages if s.pk == opportunity.stage_id), opportunity.stage.position
    )
    path = []
    for stage in stages:
        if stage.pk == opportunity.stage_id:
            state = "current"
        elif stage.is_closed:
            state = "ahead"
        elif opportunity.status == OpportunityStatus.WON or stage.position < position:
            state = "done"
        else:
            state = "ahead"
        path.append({"stage": stage, "state": state})
    return path
