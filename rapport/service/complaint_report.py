"""The complaints report, computed in SQL over the complaints a user may see (those of the
complaint tickets `Ticket.objects.restrict(user, "view")` lets through).

- by root cause and by product, per month registered (the last N months, default 12);
- complaints by stage (open ones: registered, investigating, resolved awaiting the
  customer's confirmation; and confirmed);
- overdue corrective actions: an action due before today on a complaint the customer has
  not confirmed yet.

Every figure is one grouped aggregate query; no complaint row reaches Python except the
(limited) list of overdue actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from rapport.identity.models import Action

from .models import Complaint, ComplaintCause, ComplaintStage, Ticket, TicketKind

PERIODS = (3, 6, 12, 24)
DEFAULT_MONTHS = 12
TOP_PRODUCTS = 15
OVERDUE_LIMIT = 50
OPEN_STAGES = (ComplaintStage.REGISTERED, ComplaintStage.INVESTIGATING, ComplaintStage.RESOLVED)


def visible(user, action: str = Action.VIEW) -> QuerySet[Complaint]:
    """The complaints of the complaint tickets the user may `action` (one subquery)."""
    return Complaint.objects.filter(
        ticket__kind=TicketKind.COMPLAINT,
        ticket__in=Ticket.objects.restrict(user, action).values("pk"),
    )


@dataclass
class Filters:
    months: int = DEFAULT_MONTHS
    cause: str = ""  # a cause id, "none" (no cause yet) or "" (any)
    product: str = ""
    stage: str = ""

    @classmethod
    def parse(cls, values) -> Filters:
        """From query parameters; anything not understood is ignored (the default)."""
        try:
            months = int(values.get("months") or DEFAULT_MONTHS)
        except (TypeError, ValueError):
            months = DEFAULT_MONTHS
        if months not in PERIODS:
            months = DEFAULT_MONTHS
        cause = str(values.get("cause") or "")
        if cause != "none" and not (cause.isdigit() and len(cause) < 12):
            cause = ""
        stage = str(values.get("stage") or "")
        if stage not in ComplaintStage.values:
            stage = ""
        product = " ".join(str(values.get("product") or "").split())[:200]
        return cls(months=months, cause=cause, product=product, stage=stage)

    def apply(self, complaints: QuerySet[Complaint]) -> QuerySet[Complaint]:
        if self.cause == "none":
            complaints = complaints.filter(cause__isnull=True)
        elif self.cause:
            complaints = complaints.filter(cause_id=int(self.cause))
        if self.product:
            complaints = complaints.filter(product=self.product)
        if self.stage:
            complaints = complaints.filter(stage=self.stage)
        return complaints

    def as_dict(self) -> dict[str, Any]:
        return {
            "months": self.months,
            "cause": self.cause,
            "product": self.product,
            "stage": self.stage,
        }


def month_starts(months: int, now: datetime | None = None) -> list[date]:
    """The first day of each of the last `months` months (this one included), oldest first,
    in the current time zone."""
    local = timezone.localtime(now or timezone.now())
    first = local.date().replace(day=1)
    starts = [first]
    for _i in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
        starts.append(first)
    return list(reversed(starts))


def _period_start(starts: list[date]) -> datetime:
    first = starts[0]
    return timezone.make_aware(datetime(first.year, first.month, 1))


def _key(value) -> tuple[int, int]:
    return (value.year, value.month)


def _cause_name(row: dict[str, Any], english: bool) -> str:
    return (row.get("cause__name_en") if english else "") or row.get("cause__name") or ""


def _series(found: dict, starts: list[date]) -> list[int]:
    return [found.get((month.year, month.month), 0) for month in starts]


def report(user, filters: Filters | None = None, *, now: datetime | None = None) -> dict:
    """The whole report for `user` as plain values (the page, the API and the CLI show it)."""
    filters = filters or Filters()
    now = now or timezone.now()
    today = timezone.localdate(now)
    english = (translation.get_language() or "").startswith("en")
    complaints = filters.apply(visible(user)).order_by()
    starts = month_starts(filters.months, now)
    in_period = complaints.filter(created_at__gte=_period_start(starts))
    monthly = in_period.annotate(month=TruncMonth("created_at"))

    # by root cause × month (one query)
    causes: dict[Any, dict[str, Any]] = {}
    totals: dict[tuple[int, int], int] = {}
    for row in monthly.values("month", "cause", "cause__name", "cause__name_en").annotate(
        n=Count("id")
    ):
        entry = causes.setdefault(
            row["cause"],
            {"key": row["cause"], "name": _cause_name(row, english), "months": {}},
        )
        entry["months"][_key(row["month"])] = row["n"]
        totals[_key(row["month"])] = totals.get(_key(row["month"]), 0) + row["n"]
    by_cause = []
    for entry in causes.values():
        series = _series(entry["months"], starts)
        by_cause.append(
            {"key": entry["key"], "name": entry["name"], "months": series, "total": sum(series)}
        )
    by_cause.sort(key=lambda row: (-row["total"], row["key"] is None, row["name"]))

    # by product × month: the most complained-about products (two queries)
    top = list(
        in_period.values("product")
        .annotate(n=Count("id"))
        .order_by("-n", "product")
        .values_list("product", flat=True)[:TOP_PRODUCTS]
    )
    products: dict[str, dict[tuple[int, int], int]] = {name: {} for name in top}
    if top:
        for row in (
            monthly.filter(product__in=top).values("month", "product").annotate(n=Count("id"))
        ):
            products[row["product"]][_key(row["month"])] = row["n"]
    by_product = []
    for name in top:
        series = _series(products[name], starts)
        by_product.append({"name": name, "months": series, "total": sum(series)})

    # by stage, over every complaint matching the filters (one query)
    stage_counts = dict(complaints.values_list("stage").annotate(n=Count("id")).order_by())
    by_stage = [
        {
            "stage": value,
            "label": str(label),
            "count": stage_counts.get(value, 0),
            "open": value in OPEN_STAGES,
        }
        for value, label in ComplaintStage.choices
    ]

    # corrective actions past due (one query for the count, one for the rows)
    overdue = complaints.filter(action_due__lt=today).exclude(stage=ComplaintStage.CONFIRMED)
    overdue_count = overdue.count()
    overdue_rows = [
        {
            "ticket": complaint.ticket_id,
            "number": complaint.ticket.number,
            "subject": complaint.ticket.subject,
            "stage": complaint.stage,
            "stage_label": complaint.get_stage_display(),
            "product": complaint.product,
            "cause": complaint.cause.display_name if complaint.cause else "",
            "corrective_action": complaint.corrective_action,
            "owner": str(complaint.action_owner) if complaint.action_owner else "",
            "owner_id": complaint.action_owner_id,
            "action_due": complaint.action_due,
            "days_late": (today - complaint.action_due).days,
        }
        for complaint in overdue.select_related("ticket", "cause", "action_owner").order_by(
            "action_due", "id"
        )[:OVERDUE_LIMIT]
    ]
    month_totals = _series(totals, starts)
    return {
        "filters": filters.as_dict(),
        "months": starts,
        "total": sum(month_totals),
        "month_totals": month_totals,
        "by_cause": by_cause,
        "by_product": by_product,
        "by_stage": by_stage,
        "open": sum(row["count"] for row in by_stage if row["open"]),
        "overdue_count": overdue_count,
        "overdue": overdue_rows,
    }


def filter_choices(user) -> dict[str, list[tuple[str, str]]]:
    """What the filters offer: the causes, the products complained about (most first) and
    the stages."""
    products = list(
        visible(user)
        .exclude(product="")
        .values("product")
        .annotate(n=Count("id"))
        .order_by("-n", "product")
        .values_list("product", flat=True)[:200]
    )
    return {
        "causes": [("none", _("No cause yet"))]
        + [(str(cause.pk), cause.display_name) for cause in ComplaintCause.objects.all()],
        "products": [(name, name) for name in products],
        "stages": [(value, str(label)) for value, label in ComplaintStage.choices],
        "periods": [
            (
                str(months),
                ngettext("Last %(n)d month", "Last %(n)d months", months) % {"n": months},
            )
            for months in PERIODS
        ],
    }


def no_cause_label() -> str:
    return _("No cause yet")


def no_product_label() -> str:
    return _("Not stated")
