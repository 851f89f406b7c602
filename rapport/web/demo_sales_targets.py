"""Demo sales targets: for the current and the previous month and the current quarter, a
won-amount and a deals-won target for each sales rep, their teams and the sales departments
(and a payments target for the departments), set through the target service so each is
checked and audited.

`generate_targets(users=…, rng=…)` is called by the demo command (wired by the lead).
"""

from __future__ import annotations

import random
from decimal import Decimal

from django.utils import timezone

from rapport.identity.models import Department, Team, User
from rapport.sales import forecast
from rapport.sales.models import Target, TargetMetric, TargetPeriod
from rapport.sales.services import targets as target_services

REP_ROLES = ("sales_rep",)


def _round(amount: float) -> Decimal:
    """A target people would set: to the nearest ten thousand."""
    return Decimal(max(1, round(amount / 10000))) * 10000


def generate_targets(*, users: dict[str, User], rng: random.Random) -> int:
    """Targets of the demo organisation (once: nothing is added when targets exist); returns
    how many were set."""
    admin = users.get("admin")
    if admin is None or Target.objects.exists():
        return 0
    reps = list(
        User.objects.filter(is_active=True, roles__code__in=REP_ROLES).distinct().order_by("pk")
    )
    if not reps:
        return 0
    teams = list(Team.objects.filter(members__in=reps).distinct().order_by("pk"))
    departments = list(Department.objects.filter(members__in=reps).distinct().order_by("path"))
    today = timezone.localdate()
    this_month = forecast.period_start_of(TargetPeriod.MONTH, today)
    periods = [
        (TargetPeriod.MONTH, this_month, 1),
        (TargetPeriod.MONTH, forecast.previous_period(TargetPeriod.MONTH, this_month), 1),
        (TargetPeriod.QUARTER, forecast.period_start_of(TargetPeriod.QUARTER, today), 3),
    ]
    per_rep = {rep.pk: rng.choice([200000, 300000, 400000, 500000]) for rep in reps}
    made = 0
    for period, start, months in periods:
        for rep in reps:
            amount = per_rep[rep.pk] * months * rng.uniform(0.9, 1.1)
            target_services.target_set(
                actor=admin, period=period, period_start=start, amount=_round(amount), user=rep
            )
            target_services.target_set(
                actor=admin,
                period=period,
                period_start=start,
                metric=TargetMetric.WON_COUNT,
                amount=max(1, round(amount / 100000)),
                user=rep,
            )
            made += 2
        for team in teams:
            members = [rep for rep in reps if rep in set(team.members.all())]
            amount = sum(per_rep[rep.pk] for rep in members) * months
            target_services.target_set(
                actor=admin, period=period, period_start=start, amount=_round(amount), team=team
            )
            made += 1
        for department in departments:
            amount = (
                sum(
                    per_rep[rep.pk]
                    for rep in reps
                    if rep.department_id and rep.department.path.startswith(department.path)
                )
                * months
            )
            for metric, share in ((TargetMetric.WON_AMOUNT, 1.0), (TargetMetric.PAYMENTS, 0.8)):
                target_services.target_set(
                    actor=admin,
                    period=period,
                    period_start=start,
                    metric=metric,
                    amount=_round(amount * share),
                    department=department,
                )
                made += 1
    return made
