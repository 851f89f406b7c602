"""The pipeline report of one pipeline, for the page, the API and the CLI: what is open in
each stage (count, amount, weighted amount, average time in the stage, stalled deals), what
closed in a period (won and lost, win rate, average deal and sales cycle, why deals were
lost), how far the deals created in the period got (deals that entered each stage, and the
conversion from one stage to the next) and the same figures per owner.

Every read starts from `Opportunity.objects.restrict(viewer, "view")`: a rep's report is their
own pipeline, a manager's their department's. Amounts are summed per currency and shown in
one (the sales currency unless asked otherwise); deals in other currencies are counted
apart, never converted. A fixed number of grouped queries whatever the number of deals:
the stages, open deals per stage, closed deals per status, lost reasons, stage entries,
open and closed per owner, and the owners' names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Avg,
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    Sum,
)
from django.db.models.functions import Now
from django.utils import timezone

from rapport.identity.models import Action, User

from . import forecast as forecast_reads
from .models import LostReason, Opportunity, OpportunityStatus, Pipeline, Stage, StageChange

ZERO = Decimal("0")
CENT = Decimal("0.01")


@dataclass
class StageRow:
    stage: Stage
    count: int = 0
    amount: Decimal = ZERO
    weighted: Decimal = ZERO
    average_days: float | None = None  # average time the open deals have been in the stage
    stalled: int = 0  # open longer than the stage's "stalled after (days)"
    entered: int = 0  # deals created in the period that entered this stage
    conversion: int | None = None  # % of those entering this stage that entered the next


@dataclass
class OwnerRow:
    owner_id: int
    name: str = ""
    open_count: int = 0
    open_amount: Decimal = ZERO
    weighted: Decimal = ZERO
    won_count: int = 0
    won_amount: Decimal = ZERO
    lost_count: int = 0

    @property
    def win_rate(self) -> int | None:
        return _percent(self.won_count, self.won_count + self.lost_count)


@dataclass
class ReasonRow:
    reason: LostReason | None  # None: lost without a reason (an older record)
    count: int
    amount: Decimal


@dataclass
class PipelineReport:
    pipeline: Pipeline
    period: str
    start: dt.date
    end: dt.date  # the day after the period's last
    currency: str
    stages: list[StageRow]  # the open stages
    funnel: list[StageRow] = field(default_factory=list)  # the open stages and the won one
    won_count: int = 0
    won_amount: Decimal = ZERO
    lost_count: int = 0
    lost_amount: Decimal = ZERO
    cycle_days: float | None = None  # average days from creation to a win
    created: int = 0  # deals created in the period
    lost_reasons: list[ReasonRow] = field(default_factory=list)
    owners: list[OwnerRow] = field(default_factory=list)
    # deals left out of the amounts because they are in another currency: {currency: count}
    other_currencies: dict[str, int] = field(default_factory=dict)

    @property
    def open_count(self) -> int:
        return sum(row.count for row in self.stages)

    @property
    def open_amount(self) -> Decimal:
        return sum((row.amount for row in self.stages), ZERO)

    @property
    def weighted(self) -> Decimal:
        return sum((row.weighted for row in self.stages), ZERO)

    @property
    def win_rate(self) -> int | None:
        return _percent(self.won_count, self.won_count + self.lost_count)

    @property
    def average_won(self) -> Decimal | None:
        if not self.won_count:
            return None
        return (self.won_amount / self.won_count).quantize(CENT)


def _percent(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


def _days(value) -> float | None:
    """An average duration as days with one decimal (None for no deals)."""
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return round(value.total_seconds() / 86400, 1)
    return round(float(value) / 86_400_000_000, 1)  # microseconds (SQLite)


def pipeline_report(
    viewer: User,
    pipeline: Pipeline,
    *,
    period: str | None = None,
    start: dt.date | str | None = None,
    owner: int | None = None,
    currency: str | None = None,
) -> PipelineReport:
    period, start = forecast_reads.parse_period(period, start)
    end = forecast_reads.period_end(period, start)
    since, until = forecast_reads._moments(start, end)
    currency = (currency or forecast_reads.default_currency()).upper()
    stages = list(pipeline.stages.filter(is_active=True).order_by("position", "id"))
    rows = {stage.pk: StageRow(stage=stage) for stage in stages}
    deals = Opportunity.objects.restrict(viewer, Action.VIEW).filter(pipeline=pipeline)
    if owner:
        deals = deals.filter(owner_id=owner)
    report = PipelineReport(
        pipeline=pipeline,
        period=period,
        start=start,
        end=end,
        currency=currency,
        stages=[row for row in rows.values() if not row.stage.is_closed],
    )
    weighted = ExpressionWrapper(
        F("amount") * F("probability") / 100,
        output_field=DecimalField(max_digits=20, decimal_places=2),
    )
    age = ExpressionWrapper(Now() - F("stage_entered_at"), output_field=DurationField())
    now = timezone.now()
    stalled = Q(pk__in=[])
    for stage in stages:
        if stage.stale_after_days and not stage.is_closed:
            threshold = now - dt.timedelta(days=stage.stale_after_days)
            stalled |= Q(stage_id=stage.pk, stage_entered_at__lt=threshold)
    open_deals = deals.filter(status=OpportunityStatus.OPEN)
    for row in (
        open_deals.values("stage", "currency")
        .annotate(
            n=Count("id"),
            amount_sum=Sum("amount"),
            weighted_sum=Sum(weighted),
            age=Avg(age),
            stalled_n=Count("id", filter=stalled),
        )
        .order_by()
    ):
        target = rows.get(row["stage"])
        if target is None or target.stage.is_closed:
            continue
        if row["currency"] != currency:
            report.other_currencies[row["currency"]] = (
                report.other_currencies.get(row["currency"], 0) + row["n"]
            )
            continue
        target.count = row["n"]
        target.amount = (row["amount_sum"] or ZERO).quantize(CENT)
        target.weighted = (row["weighted_sum"] or ZERO).quantize(CENT)
        target.average_days = _days(row["age"])
        target.stalled = row["stalled_n"]

    closed = deals.filter(
        status__in=[OpportunityStatus.WON, OpportunityStatus.LOST],
        closed_at__gte=since,
        closed_at__lt=until,
    )
    cycle = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
    for row in (
        closed.values("status", "currency")
        .annotate(n=Count("id"), amount_sum=Sum("amount"), cycle=Avg(cycle))
        .order_by()
    ):
        if row["currency"] != currency:
            report.other_currencies[row["currency"]] = (
                report.other_currencies.get(row["currency"], 0) + row["n"]
            )
            continue
        amount = (row["amount_sum"] or ZERO).quantize(CENT)
        if row["status"] == OpportunityStatus.WON:
            report.won_count, report.won_amount = row["n"], amount
            report.cycle_days = _days(row["cycle"])
        else:
            report.lost_count, report.lost_amount = row["n"], amount

    reasons = {reason.pk: reason for reason in LostReason.objects.all()}
    report.lost_reasons = sorted(
        (
            ReasonRow(
                reason=reasons.get(row["lost_reason"]),
                count=row["n"],
                amount=(row["amount_sum"] or ZERO).quantize(CENT),
            )
            for row in closed.filter(status=OpportunityStatus.LOST, currency=currency)
            .values("lost_reason")
            .annotate(n=Count("id"), amount_sum=Sum("amount"))
            .order_by()
        ),
        key=lambda row: (-row.count, row.reason.position if row.reason else 1 << 30),
    )

    # how far the deals created in the period got: the deals that entered each stage
    created = deals.filter(created_at__gte=since, created_at__lt=until)
    report.created = created.count()
    entered = {
        row["to_stage"]: row["n"]
        for row in StageChange.objects.filter(opportunity__in=created.values("pk"))
        .values("to_stage")
        .annotate(n=Count("opportunity", distinct=True))
        .order_by()
    }
    funnel = [rows[stage.pk] for stage in stages if not stage.is_lost]
    for row in funnel:
        row.entered = entered.get(row.stage.pk, 0)
    for index, row in enumerate(funnel[:-1]):
        # a deal may skip a stage: the furthest-reaching later stage counts as going on
        later = max(other.entered for other in funnel[index + 1 :])
        row.conversion = min(100, _percent(later, row.entered)) if row.entered else None
    report.funnel = funnel

    owners: dict[int, OwnerRow] = {}
    for row in (
        open_deals.filter(currency=currency)
        .values("owner")
        .annotate(n=Count("id"), amount_sum=Sum("amount"), weighted_sum=Sum(weighted))
        .order_by()
    ):
        one = owners.setdefault(row["owner"], OwnerRow(owner_id=row["owner"]))
        one.open_count = row["n"]
        one.open_amount = (row["amount_sum"] or ZERO).quantize(CENT)
        one.weighted = (row["weighted_sum"] or ZERO).quantize(CENT)
    for row in (
        closed.filter(currency=currency)
        .values("owner", "status")
        .annotate(n=Count("id"), amount_sum=Sum("amount"))
        .order_by()
    ):
        one = owners.setdefault(row["owner"], OwnerRow(owner_id=row["owner"]))
        if row["status"] == OpportunityStatus.WON:
            one.won_count = row["n"]
            one.won_amount = (row["amount_sum"] or ZERO).quantize(CENT)
        else:
            one.lost_count = row["n"]
    names = {
        user.pk: str(user)
        for user in User.objects.filter(pk__in=[pk for pk in owners if pk is not None])
    }
    for pk, one in owners.items():
        one.name = names.get(pk, "—")
    report.owners = sorted(owners.values(), key=lambda one: (-one.weighted, one.name))
    return report
