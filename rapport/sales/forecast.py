"""Reads of sales performance: periods, whose figures a user may see, attainment against
targets and the forecast rolled up the manager hierarchy. Pure reads, no writes.

Who may see whose figures follows the user's widest `view` grant on `sales.target`: own
(themselves), team (themselves, their teams and those teams' people), department (their
department's subtree: its people, teams and departments), all. The forecast also needs a
`view` grant on opportunities and sums only the opportunities `restrict()` lets them read.

Every figure is computed by one grouped query per measure over the people involved and
summed in memory into teams, departments and managers, so the number of queries does not
grow with the number of people or records.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, DecimalField, F, Q, Sum, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from rapport.identity import policy, system
from rapport.identity.models import Action, Department, Scope, Team, User

from .config import get_settings
from .models import (
    ForecastCategory,
    InvoiceKind,
    Opportunity,
    OpportunityStatus,
    Order,
    OrderStatus,
    Payment,
    Target,
    TargetMetric,
    TargetPeriod,
)

TARGET = Target.security_type
ZERO = Decimal("0")
CENT = Decimal("0.01")
HOLDER_KINDS = ("user", "team", "department")
MONEY_METRICS = (TargetMetric.WON_AMOUNT, TargetMetric.ORDER_AMOUNT, TargetMetric.PAYMENTS)


# --- periods --------------------------------------------------------------------------------


def period_start_of(period: str, day: dt.date) -> dt.date:
    """The first day of the month, quarter or year `day` falls in."""
    if period == TargetPeriod.MONTH:
        return day.replace(day=1)
    if period == TargetPeriod.QUARTER:
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return dt.date(day.year, 1, 1)


def period_end(period: str, start: dt.date) -> dt.date:
    """The first day after the period that begins on `start`."""
    months = {TargetPeriod.MONTH: 1, TargetPeriod.QUARTER: 3, TargetPeriod.YEAR: 12}[period]
    month = start.month - 1 + months
    return dt.date(start.year + month // 12, month % 12 + 1, 1)


def previous_period(period: str, start: dt.date) -> dt.date:
    return period_start_of(period, start - dt.timedelta(days=1))


def parse_period(period: str | None, start: str | dt.date | None, *, today=None) -> tuple:
    """(period, start) from user input; a ValidationError naming `period` or `period_start`
    for a period that is not month/quarter/year or a start that is not its first day.
    No start: the period today falls in."""
    period = period or TargetPeriod.MONTH
    if period not in TargetPeriod.values:
        raise ValidationError(
            {"period": ValidationError(_("Choose month, quarter or year."), "invalid_choice")}
        )
    if start in (None, ""):
        return period, period_start_of(period, today or dt.date.today())
    if isinstance(start, str):
        try:
            start = dt.date.fromisoformat(start)
        except ValueError:
            raise ValidationError(
                {"period_start": ValidationError(_("Enter a date as YYYY-MM-DD."), "invalid")}
            ) from None
    if period_start_of(period, start) != start:
        raise ValidationError(
            {
                "period_start": ValidationError(
                    _("A %(period)s starts on its first day: %(first)s.")
                    % {
                        "period": TargetPeriod(period).label,
                        "first": period_start_of(period, start).isoformat(),
                    },
                    "not_period_start",
                )
            }
        )
    return period, start


def _moments(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period as aware datetimes: from midnight of its first day to midnight after its
    last, in the company's time zone (a deal won at 23:30 on the 31st counts in that month)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(end, dt.time.min, tzinfo=zone),
    )


# --- who may see whom -----------------------------------------------------------------------


@dataclass(frozen=True)
class Visibility:
    """Whose figures a user may see: `everyone`, or these users, teams and departments."""

    everyone: bool
    user_ids: frozenset[int]
    team_ids: frozenset[int]
    department_ids: frozenset[int]

    def sees(self, kind: str, pk: int) -> bool:
        if self.everyone:
            return True
        return (
            pk
            in {
                "user": self.user_ids,
                "team": self.team_ids,
                "department": self.department_ids,
            }[kind]
        )


def visibility(viewer: User, action: str = Action.VIEW) -> Visibility:
    """Whose targets and figures `viewer` may see (`view`) or set (`manage`): their widest
    grant on sales targets. No grant: nobody. A team or department scope also covers the
    teams the viewer leads or belongs to (a team lead sees their team's total)."""
    scope = policy.best_scope(viewer, TARGET, action)
    if scope is None:
        return Visibility(False, frozenset(), frozenset(), frozenset())
    if scope == Scope.ALL:
        return Visibility(True, frozenset(), frozenset(), frozenset())
    users: set[int] = {viewer.pk}
    teams: set[int] = set()
    departments: set[int] = set()
    if scope == Scope.TEAM:
        teams = set(
            Team.objects.filter(Q(members=viewer) | Q(lead=viewer)).values_list("pk", flat=True)
        )
        users |= set(
            User.objects.filter(Q(teams__in=teams) | Q(led_teams__in=teams)).values_list(
                "pk", flat=True
            )
        )
    elif scope == Scope.DEPARTMENT and viewer.department_id:
        path = Department.objects.filter(pk=viewer.department_id).values_list("path", flat=True)[0]
        departments = set(
            Department.objects.filter(path__startswith=path).values_list("pk", flat=True)
        )
        users |= set(
            User.objects.filter(department__path__startswith=path).values_list("pk", flat=True)
        )
        # the department's teams, and the teams they lead or belong to wherever those sit
        teams = set(
            Team.objects.filter(
                Q(department__path__startswith=path) | Q(members=viewer) | Q(lead=viewer)
            ).values_list("pk", flat=True)
        )
    return Visibility(False, frozenset(users), frozenset(teams), frozenset(departments))


def targets_for(viewer: User, action: str = Action.VIEW):
    """The targets `viewer` may see (or manage): `Target.objects.restrict()` for people and
    teams, plus the departments of their subtree (a department holds targets too)."""
    seen = visibility(viewer, action)
    if seen.everyone:
        return Target.objects.all()
    return Target.objects.filter(
        Q(user__in=seen.user_ids)
        | Q(team__in=seen.team_ids)
        | Q(department__in=seen.department_ids)
    )


# --- the organisation, loaded once -----------------------------------------------------------


@dataclass
class Organisation:
    """Users, departments and teams as plain maps (three queries) for in-memory sums."""

    users: dict[int, dict]
    departments: dict[int, dict]
    team_members: dict[int, set[int]]
    teams: dict[int, dict]

    @classmethod
    def load(cls) -> Organisation:
        hidden = system.usernames()
        users = {
            row["pk"]: row
            for row in User.objects.values(
                "pk",
                "username",
                "display_name",
                "first_name",
                "last_name",
                "is_active",
                "manager_id",
                "department_id",
            )
            if row["username"] not in hidden
        }
        departments = {
            row["pk"]: row
            for row in Department.objects.values("pk", "name", "parent_id", "manager_id", "path")
        }
        teams = {row["pk"]: row for row in Team.objects.values("pk", "name", "lead_id")}
        members: dict[int, set[int]] = defaultdict(set)
        for team_id, user_id in Team.members.through.objects.values_list("team_id", "user_id"):
            members[team_id].add(user_id)
        for team in teams.values():
            if team["lead_id"]:
                members[team["pk"]].add(team["lead_id"])
        return cls(users=users, departments=departments, team_members=dict(members), teams=teams)

    def user_name(self, pk: int) -> str:
        row = self.users.get(pk)
        if row is None:
            return str(pk)
        full = f"{row['first_name']} {row['last_name']}".strip()
        return row["display_name"] or full or row["username"]

    def holder_name(self, kind: str, pk: int) -> str:
        if kind == "user":
            return self.user_name(pk)
        table = self.teams if kind == "team" else self.departments
        return table[pk]["name"] if pk in table else str(pk)

    def people_of(self, kind: str, pk: int) -> set[int]:
        """The users whose figures make up the holder's: the person, the team's members and
        lead, or everyone in the department's subtree."""
        if kind == "user":
            return {pk}
        if kind == "team":
            return set(self.team_members.get(pk, ()))
        department = self.departments.get(pk)
        if department is None:
            return set()
        subtree = {
            other["pk"]
            for other in self.departments.values()
            if other["path"].startswith(department["path"])
        }
        return {user["pk"] for user in self.users.values() if user["department_id"] in subtree}

    def manager_of(self, pk: int) -> int | None:
        """The user's manager, the same rule approvals follow: their own `manager`, else the
        manager of their department or of the nearest department above that has one — never
        the user themself."""
        user = self.users.get(pk)
        if user is None:
            return None
        if user["manager_id"] and user["manager_id"] != pk:
            return user["manager_id"]
        department = self.departments.get(user["department_id"])
        seen: set[int] = set()
        while department is not None and department["pk"] not in seen:
            seen.add(department["pk"])
            if department["manager_id"] and department["manager_id"] != pk:
                return department["manager_id"]
            department = self.departments.get(department["parent_id"])
        return None


# --- money per currency -----------------------------------------------------------------------


class Money(dict):
    """Amounts per currency: {"CNY": Decimal("1200.00"), "USD": …}."""

    def add(self, currency: str, amount) -> None:
        if amount:
            self[currency] = self.get(currency, ZERO) + Decimal(amount)

    def merge(self, other: Money) -> None:
        for currency, amount in other.items():
            self.add(currency, amount)

    def get_in(self, currency: str) -> Decimal:
        return self.get(currency, ZERO).quantize(CENT)

    def others(self, currency: str) -> dict[str, Decimal]:
        return {
            code: amount.quantize(CENT)
            for code, amount in sorted(self.items())
            if code != currency and amount
        }


def default_currency() -> str:
    return get_settings().default_currency


# --- attainment --------------------------------------------------------------------------------


@dataclass
class MetricAttainment:
    metric: str
    target: Decimal | None  # None: no target set for this holder and measure
    currency: str
    actual: Decimal  # in `currency` (a count for deals won)
    other_currencies: dict[str, Decimal] = field(default_factory=dict)

    @property
    def percent(self) -> int | None:
        if self.target is None or self.target <= 0:
            return None
        return int((self.actual * 100 / self.target).to_integral_value(rounding=ROUND_HALF_UP))

    @property
    def label(self) -> str:
        return str(TargetMetric(self.metric).label)


@dataclass
class AttainmentRow:
    kind: str
    pk: int
    name: str
    metrics: dict[str, MetricAttainment]


def _actuals(
    user_ids: set[int] | None, start: dt.date, end: dt.date
) -> tuple[dict[str, dict[int, Money]], dict[int, int]]:
    """Per person: {metric: {user: Money}} and deals won {user: count}, in three grouped
    queries (won deals give both the won amount and the count)."""
    since, until = _moments(start, end)
    owners = Q() if user_ids is None else Q(owner__in=sorted(user_ids))
    by_metric: dict[str, dict[int, Money]] = {
        metric: defaultdict(Money) for metric in MONEY_METRICS
    }
    won_count: dict[int, int] = defaultdict(int)
    won = (
        Opportunity.objects.filter(
            owners, status=OpportunityStatus.WON, closed_at__gte=since, closed_at__lt=until
        )
        .values("owner_id", "currency")
        .annotate(total=Sum("amount"), deals=Count("id"))
        .order_by()
    )
    for row in won:
        by_metric[TargetMetric.WON_AMOUNT][row["owner_id"]].add(row["currency"], row["total"])
        won_count[row["owner_id"]] += row["deals"]
    orders = (
        Order.objects.filter(owners, confirmed_at__gte=since, confirmed_at__lt=until)
        .exclude(status=OrderStatus.CANCELLED)
        .values("owner_id", "currency")
        .annotate(total=Sum("total"))
        .order_by()
    )
    for row in orders:
        by_metric[TargetMetric.ORDER_AMOUNT][row["owner_id"]].add(row["currency"], row["total"])
    payment_owners = Q() if user_ids is None else Q(invoice__owner__in=sorted(user_ids))
    money = DecimalField(max_digits=18, decimal_places=2)
    payments = (
        Payment.objects.filter(
            payment_owners, reversed_at__isnull=True, received_on__gte=start, received_on__lt=end
        )
        .values("invoice__owner_id", "currency")
        # money paid back against a credit note is a refund: it counts against the receipts
        .annotate(
            total=Coalesce(
                Sum(
                    Case(
                        When(invoice__kind=InvoiceKind.CREDIT_NOTE, then=-F("amount")),
                        default=F("amount"),
                        output_field=money,
                    )
                ),
                ZERO,
                output_field=money,
            )
        )
        .order_by()
    )
    for row in payments:
        by_metric[TargetMetric.PAYMENTS][row["invoice__owner_id"]].add(
            row["currency"], row["total"]
        )
    return by_metric, won_count


def attainment(
    *,
    viewer: User,
    period: str,
    start: dt.date,
    holders: Iterable[tuple[str, int]] | None = None,
    organisation: Organisation | None = None,
) -> list[AttainmentRow]:
    """Actual against target per measure for each holder (("user", id), ("team", id),
    ("department", id)) the viewer may see; holders they may not see are left out. Without
    `holders`: every holder with a target in the period the viewer may see.

    A team's actual is the sum of its members' (and lead's), a department's the sum of the
    people of its subtree. Amounts in the target's currency (the default currency without a
    target); amounts in other currencies are listed beside it, never converted."""
    period, start = parse_period(period, start)
    end = period_end(period, start)
    seen = visibility(viewer)
    targets = list(targets_for(viewer).filter(period=period, period_start=start).order_by("id"))
    if holders is None:
        wanted = []
        for target in targets:
            holder = _holder_of(target)
            if holder not in wanted:
                wanted.append(holder)
    else:
        wanted = [holder for holder in dict.fromkeys(holders) if seen.sees(*holder)]
    if not wanted:
        return []
    org = organisation or Organisation.load()
    people: dict[tuple[str, int], set[int]] = {holder: org.people_of(*holder) for holder in wanted}
    involved = set().union(*people.values())
    by_metric, won_count = _actuals(involved if len(involved) <= 5000 else None, start, end)
    target_of = {(_holder_of(target), target.metric): target for target in targets}
    fallback = default_currency()
    rows = []
    for holder in wanted:
        metrics = {}
        for metric in TargetMetric.values:
            target = target_of.get((holder, metric))
            currency = target.currency if target else fallback
            if metric == TargetMetric.WON_COUNT:
                actual = Decimal(sum(won_count.get(pk, 0) for pk in people[holder]))
                others: dict[str, Decimal] = {}
            else:
                total = Money()
                for pk in people[holder]:
                    total.merge(by_metric[metric].get(pk, Money()))
                actual, others = total.get_in(currency), total.others(currency)
            metrics[metric] = MetricAttainment(
                metric=metric,
                target=target.amount if target else None,
                currency=currency,
                actual=actual,
                other_currencies=others,
            )
        rows.append(
            AttainmentRow(
                kind=holder[0], pk=holder[1], name=org.holder_name(*holder), metrics=metrics
            )
        )
    return rows


def _holder_of(target: Target) -> tuple[str, int]:
    if target.user_id:
        return ("user", target.user_id)
    if target.team_id:
        return ("team", target.team_id)
    return ("department", target.department_id)


def my_holders(viewer: User, organisation: Organisation) -> dict[str, list[tuple[str, int]]]:
    """The dashboard's holders: the viewer; the teams they belong to or lead and their
    department — those of them the viewer may see."""
    seen = visibility(viewer)
    mine = [("user", viewer.pk)] if seen.sees("user", viewer.pk) else []
    teams = [
        ("team", pk)
        for pk, members in sorted(organisation.team_members.items())
        if viewer.pk in members and seen.sees("team", pk)
    ]
    if viewer.department_id and seen.sees("department", viewer.department_id):
        teams.append(("department", viewer.department_id))
    return {"mine": mine, "teams": teams}


# --- forecast ---------------------------------------------------------------------------------


@dataclass
class Figures:
    """One person's (or a roll-up's) forecast in one currency."""

    weighted: Decimal = ZERO
    commit: Decimal = ZERO
    best_case: Decimal = ZERO  # commit + best case
    pipeline: Decimal = ZERO  # every open deal not omitted
    closed_won: Decimal = ZERO
    open_count: int = 0
    won_count: int = 0

    def add(self, other: Figures) -> None:
        for name in ("weighted", "commit", "best_case", "pipeline", "closed_won"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.open_count += other.open_count
        self.won_count += other.won_count

    @property
    def is_empty(self) -> bool:
        return not (self.open_count or self.won_count)

    def as_dict(self) -> dict:
        return {
            "weighted": self.weighted.quantize(CENT),
            "commit": self.commit.quantize(CENT),
            "best_case": self.best_case.quantize(CENT),
            "pipeline": self.pipeline.quantize(CENT),
            "closed_won": self.closed_won.quantize(CENT),
            "open_count": self.open_count,
            "won_count": self.won_count,
        }


@dataclass
class ForecastNode:
    user_id: int
    name: str
    own: dict[str, Figures]  # per currency
    total: dict[str, Figures]  # own + everyone below, per currency
    children: list[ForecastNode] = field(default_factory=list)
    depth: int = 0

    def in_currency(self, currency: str, *, rolled_up: bool = True) -> Figures:
        return (self.total if rolled_up else self.own).get(currency) or Figures()

    def other_currencies(self, currency: str) -> list[str]:
        return sorted(code for code in self.total if code != currency)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class Forecast:
    period: str
    start: dt.date
    end: dt.date
    currency: str
    roots: list[ForecastNode]
    totals: dict[str, Figures]

    def nodes(self):
        for root in self.roots:
            yield from root.walk()

    def find(self, user_id: int) -> ForecastNode | None:
        return next((node for node in self.nodes() if node.user_id == user_id), None)


def _per_rep(viewer: User, start: dt.date, end: dt.date) -> dict[int, dict[str, Figures]]:
    """One grouped query: the viewer's readable opportunities in the period by owner,
    currency, status and forecast category."""
    since, until = _moments(start, end)
    weighted = DecimalField(max_digits=24, decimal_places=2)
    rows = (
        Opportunity.objects.restrict(viewer, Action.VIEW)
        .filter(
            Q(
                status=OpportunityStatus.OPEN,
                expected_close_date__gte=start,
                expected_close_date__lt=end,
            )
            | Q(status=OpportunityStatus.WON, closed_at__gte=since, closed_at__lt=until)
        )
        .values("owner_id", "currency", "status", "forecast_category")
        .annotate(
            total=Sum("amount"),
            weighted=Sum(F("amount") * F("probability"), output_field=weighted),
            deals=Count("id"),
        )
        .order_by()
    )
    per_rep: dict[int, dict[str, Figures]] = defaultdict(dict)
    for row in rows:
        figures = per_rep[row["owner_id"]].setdefault(row["currency"], Figures())
        total = Decimal(row["total"] or 0)
        if row["status"] == OpportunityStatus.WON:
            figures.closed_won += total
            figures.won_count += row["deals"]
            continue
        category = row["forecast_category"]
        if category == ForecastCategory.OMITTED:
            continue
        figures.open_count += row["deals"]
        figures.pipeline += total
        figures.weighted += (Decimal(row["weighted"] or 0) / 100).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
        if category == ForecastCategory.COMMIT:
            figures.commit += total
            figures.best_case += total
        elif category == ForecastCategory.BEST_CASE:
            figures.best_case += total
    return per_rep


def forecast(
    *,
    viewer: User,
    period: str,
    start: dt.date | str | None,
    root_user: User | None = None,
    organisation: Organisation | None = None,
) -> Forecast:
    """The forecast of the period (open deals expected to close in it, deals won in it) per
    person and rolled up the manager hierarchy: a manager's total is their own and everyone's
    below them, recursively. Only people the viewer may see appear; one whose manager they
    may not see hangs under the nearest manager above whom they may see, or is a root.
    `root_user`: only that person's subtree."""
    period, start = parse_period(period, start)
    end = period_end(period, start)
    org = organisation or Organisation.load()
    seen = visibility(viewer)
    if not policy.has_grant(viewer, Opportunity.security_type, Action.VIEW):
        per_rep: dict[int, dict[str, Figures]] = {}
    else:
        per_rep = _per_rep(viewer, start, end)
    visible = {pk for pk in org.users if seen.sees("user", pk)}
    per_rep = {pk: figures for pk, figures in per_rep.items() if pk in visible}

    def visible_manager(pk: int) -> int | None:
        walked = {pk}
        current = org.manager_of(pk)
        while current is not None and current not in walked:
            if current in visible:
                return current
            walked.add(current)
            current = org.manager_of(current)
        return None

    parent = {pk: visible_manager(pk) for pk in visible}
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, boss in parent.items():
        children[boss].append(pk)
    # people with deals, and the managers above them (a manager's row shows their people's)
    shown: set[int] = set()
    for pk in per_rep:
        walked: set[int] = set()
        current: int | None = pk
        while current is not None and current not in shown and current not in walked:
            walked.add(current)
            shown.add(current)
            current = parent.get(current)
    if viewer.pk in visible:
        shown.add(viewer.pk)

    def build(pk: int, depth: int, path: frozenset[int]) -> ForecastNode:
        own = per_rep.get(pk, {})
        node = ForecastNode(
            user_id=pk,
            name=org.user_name(pk),
            own=own,
            total={currency: _copy(figures) for currency, figures in own.items()},
            depth=depth,
        )
        for child in sorted(children.get(pk, ()), key=org.user_name):
            if child in shown and child not in path:
                sub = build(child, depth + 1, path | {child})
                node.children.append(sub)
                for currency, figures in sub.total.items():
                    node.total.setdefault(currency, Figures()).add(figures)
        return node

    if root_user is not None:
        if root_user.pk not in visible:
            roots_ids: list[int] = []
        else:
            shown.add(root_user.pk)
            roots_ids = [root_user.pk]
    else:
        roots_ids = sorted(
            (pk for pk in shown if parent.get(pk) is None or parent[pk] not in shown),
            key=org.user_name,
        )
    roots = [build(pk, 0, frozenset({pk})) for pk in roots_ids]
    totals: dict[str, Figures] = {}
    for root in roots:
        for currency, figures in root.total.items():
            totals.setdefault(currency, Figures()).add(figures)
    return Forecast(
        period=period, start=start, end=end, currency=default_currency(), roots=roots, totals=totals
    )


def _copy(figures: Figures) -> Figures:
    copied = Figures()
    copied.add(figures)
    return copied
