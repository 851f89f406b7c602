"""Satisfaction figures, computed in SQL over the surveys a user may see.

CSAT % is the share of CSAT answers scoring 4 or 5 (of 1–5); NPS is the share of promoters
(9–10) minus the share of detractors (0–6), in points (−100 … 100); the response rate is
answered over sent. Every figure is one grouped aggregate query — no row reaches Python.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from rapport.identity.models import Action

from .models import Survey, SurveyKind

PERIODS = {"30": 30, "90": 90, "365": 365, "all": None}
DEFAULT_PERIOD = "365"

AGGREGATES = {
    "sent": Count("id", filter=Q(sent_at__isnull=False)),
    "answered": Count("id", filter=Q(answered_at__isnull=False)),
    "csat_sent": Count("id", filter=Q(kind=SurveyKind.CSAT, sent_at__isnull=False)),
    "csat_answers": Count("id", filter=Q(kind=SurveyKind.CSAT, score__isnull=False)),
    "csat_happy": Count("id", filter=Q(kind=SurveyKind.CSAT, score__gte=4)),
    "csat_average": Avg("score", filter=Q(kind=SurveyKind.CSAT)),
    "nps_sent": Count("id", filter=Q(kind=SurveyKind.NPS, sent_at__isnull=False)),
    "nps_answers": Count("id", filter=Q(kind=SurveyKind.NPS, score__isnull=False)),
    "promoters": Count("id", filter=Q(kind=SurveyKind.NPS, score__gte=9)),
    "detractors": Count("id", filter=Q(kind=SurveyKind.NPS, score__lte=6)),
}


def visible(user, action: str = Action.VIEW) -> QuerySet[Survey]:
    return Survey.objects.restrict(user, action)


def since(period: str, now: datetime | None = None) -> datetime | None:
    days = PERIODS.get(period, PERIODS[DEFAULT_PERIOD])
    if days is None:
        return None
    return (now or timezone.now()) - timedelta(days=days)


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def finish(row: dict[str, Any]) -> dict[str, Any]:
    """Add the derived figures (CSAT %, NPS, response rate) to one aggregate row."""
    row = dict(row)
    row["csat_percent"] = _percent(row["csat_happy"], row["csat_answers"])
    row["nps"] = (
        round(100.0 * (row["promoters"] - row["detractors"]) / row["nps_answers"], 1)
        if row["nps_answers"]
        else None
    )
    row["response_rate"] = _percent(row["answered"], row["sent"])
    average = row.get("csat_average")
    row["csat_average"] = round(float(average), 2) if average is not None else None
    return row


def summary(surveys: QuerySet[Survey]) -> dict[str, Any]:
    """The figures over `surveys` (one query)."""
    return finish(surveys.aggregate(**AGGREGATES))


def by_month(surveys: QuerySet[Survey], *, months: int = 12, now=None) -> list[dict[str, Any]]:
    """The figures per month the surveys were sent in, the last `months` months (one query;
    months without surveys are filled in empty)."""
    now = timezone.localtime(now or timezone.now())
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    rows = (
        surveys.filter(sent_at__gte=first)
        .annotate(month=TruncMonth("sent_at"))
        .values("month")
        .annotate(**AGGREGATES)
        .order_by("month")
    )
    found = {(row["month"].year, row["month"].month): finish(row) for row in rows}
    result = []
    month = first
    for _ in range(months):
        empty = finish({key: (None if key == "csat_average" else 0) for key in AGGREGATES})
        row = found.get((month.year, month.month), empty)
        row["month"] = month.date()
        result.append(row)
        month = (month + timedelta(days=32)).replace(day=1)
    return result


def by_team(surveys: QuerySet[Survey]) -> list[dict[str, Any]]:
    rows = (
        surveys.filter(kind=SurveyKind.CSAT)
        .values("team", "team__name")
        .annotate(**AGGREGATES)
        .order_by("-csat_answers", "team__name")
    )
    return [finish({**row, "key": row["team"], "name": row["team__name"] or ""}) for row in rows]


def by_agent(surveys: QuerySet[Survey]) -> list[dict[str, Any]]:
    rows = (
        surveys.filter(kind=SurveyKind.CSAT)
        .values("agent", "agent__display_name", "agent__username")
        .annotate(**AGGREGATES)
        .order_by("-csat_answers", "agent__username")
    )
    return [
        finish(
            {
                **row,
                "key": row["agent"],
                "name": row["agent__display_name"] or row["agent__username"] or "",
            }
        )
        for row in rows
    ]


def by_category(surveys: QuerySet[Survey]) -> list[dict[str, Any]]:
    from django.utils import translation

    english = (translation.get_language() or "").startswith("en")
    rows = (
        surveys.filter(kind=SurveyKind.CSAT)
        .values("category", "category__name", "category__name_en")
        .annotate(**AGGREGATES)
        .order_by("-csat_answers", "category__name")
    )
    return [
        finish(
            {
                **row,
                "key": row["category"],
                "name": (row["category__name_en"] if english else "")
                or row["category__name"]
                or "",
            }
        )
        for row in rows
    ]
