"""Attainment against targets and the forecast rolled up the manager hierarchy
(rapport.sales.forecast): what each measure counts, team and department sums, the forecast
categories, two levels of managers, who sees whom, and queries that do not grow."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.sales import forecast
from rapport.sales.models import (
    ForecastCategory,
    Invoice,
    InvoiceKind,
    Order,
    OrderStatus,
    Payment,
    Target,
)
from tests.factories import (
    AccountFactory,
    DepartmentFactory,
    OpportunityFactory,
    PipelineFactory,
    TeamFactory,
    UserFactory,
)

D = Decimal
SH = ZoneInfo("Asia/Shanghai")
NOV = dt.date(2026, 11, 1)
_numbers = itertools.count(1)


def at(day: int, month: int = 11, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=SH)


@pytest.fixture
def pipeline(db):
    return PipelineFactory()


def won(owner, amount, when, pipeline, currency="CNY"):
    return OpportunityFactory(
        owner=owner,
        pipeline=pipeline,
        stage=pipeline.stages.get(is_won=True),
        status="won",
        amount=D(amount),
        currency=currency,
        closed_at=when,
        forecast_category=ForecastCategory.CLOSED,
    )


def open_deal(owner, amount, probability, category, close, pipeline, currency="CNY"):
    return OpportunityFactory(
        owner=owner,
        pipeline=pipeline,
        amount=D(amount),
        probability=probability,
        forecast_category=category,
        expected_close_date=close,
        currency=currency,
    )


def order(owner, total, confirmed_at, status=OrderStatus.CONFIRMED, currency="CNY"):
    return Order.objects.create(
        number=f"SO-T-{next(_numbers)}",
        owner=owner,
        account=AccountFactory(owner=owner),
        order_date=confirmed_at.date(),
        status=status,
        confirmed_at=confirmed_at,
        total=D(total),
        subtotal=D(total),
        currency=currency,
    )


def payment(owner, amount, received_on, *, reversed_=False, kind=InvoiceKind.INVOICE):
    the_order = order(owner, D(amount) * 2, at(1))
    invoice = Invoice.objects.create(
        number=f"INV-T-{next(_numbers)}",
        kind=kind,
        order=the_order,
        account=the_order.account,
        owner=owner,
        status="issued",
        total=D(amount) * 2,
        subtotal=D(amount) * 2,
    )
    return Payment.objects.create(
        invoice=invoice,
        amount=D(amount),
        received_on=received_on,
        recorded_by=owner,
        reversed_at=at(20) if reversed_ else None,
    )


def target(metric="won_amount", amount="100000", period="month", start=NOV, **holder):
    return Target.objects.create(
        period=period, period_start=start, metric=metric, amount=D(amount), **holder
    )


def row_of(rows, kind, pk):
    return next(row for row in rows if (row.kind, row.pk) == (kind, pk))


# --- periods ---------------------------------------------------------------------------------


def test_periods_start_on_their_first_day_and_a_wrong_day_names_period_start():
    assert forecast.parse_period("quarter", "2026-10-01") == ("quarter", dt.date(2026, 10, 1))
    assert forecast.period_end("quarter", dt.date(2026, 10, 1)) == dt.date(2027, 1, 1)
    assert forecast.period_end("month", dt.date(2026, 12, 1)) == dt.date(2027, 1, 1)
    assert forecast.period_end("year", dt.date(2026, 1, 1)) == dt.date(2027, 1, 1)
    with pytest.raises(ValidationError) as refused:
        forecast.parse_period("quarter", "2026-11-01")
    assert refused.value.error_dict["period_start"][0].code == "not_period_start"
    with pytest.raises(ValidationError) as refused:
        forecast.parse_period("week", "2026-11-01")
    assert "period" in refused.value.error_dict
    with pytest.raises(ValidationError) as refused:
        forecast.parse_period("month", "1 Nov")
    assert refused.value.error_dict["period_start"][0].code == "invalid"


# --- attainment per measure -------------------------------------------------------------------


def test_each_measure_counts_only_its_records_in_the_period(org, pipeline):
    rep = org["rep_sh"]
    won(rep, "30000", at(3), pipeline)
    won(rep, "20000", at(30, hour=23), pipeline)  # 23:00 on the 30th, Shanghai time: November
    won(rep, "99999", at(1, month=12, hour=0), pipeline)  # December
    won(rep, "500", at(5), pipeline, currency="USD")
    lost = OpportunityFactory(owner=rep, pipeline=pipeline, status="lost", closed_at=at(4))
    assert lost.amount > 0
    order(rep, "40000", at(10))
    order(rep, "7000", at(11), status=OrderStatus.CANCELLED)
    order(rep, "8000", at(1, month=10))
    payment(rep, "15000", dt.date(2026, 11, 12))
    payment(rep, "3000", dt.date(2026, 11, 13), reversed_=True)
    payment(rep, "2000", dt.date(2026, 11, 14), kind=InvoiceKind.CREDIT_NOTE)
    payment(rep, "9000", dt.date(2026, 12, 1))
    target(user=rep, amount="100000")
    target(user=rep, metric="won_count", amount="4")

    [row] = forecast.attainment(
        viewer=org["admin"], period="month", start=NOV, holders=[("user", rep.pk)]
    )
    assert row.metrics["won_amount"].actual == D("50000.00")
    assert row.metrics["won_amount"].other_currencies == {"USD": D("500.00")}
    assert row.metrics["won_amount"].target == D("100000")
    assert row.metrics["won_amount"].percent == 50
    assert row.metrics["won_count"].actual == 3
    assert row.metrics["won_count"].percent == 75
    # the payments' orders are confirmed on the 1st: 40000 + 30000 + 6000 + 4000 + 18000
    assert row.metrics["order_amount"].actual == D("98000.00")
    assert row.metrics["order_amount"].target is None
    assert row.metrics["order_amount"].percent is None
    assert row.metrics["payments"].actual == D("13000.00")  # 15000 less the 2000 refund


def test_a_team_sums_its_members_and_a_department_its_subtree(org, pipeline):
    rep_sh, rep_east, rep_south = org["rep_sh"], org["rep_east"], org["rep_south"]
    team = TeamFactory(name="华东大客户", members=[rep_sh, rep_east])
    won(rep_sh, "10000", at(2), pipeline)
    won(rep_east, "20000", at(3), pipeline)
    won(rep_south, "40000", at(4), pipeline)
    target(team=team, amount="60000")
    target(department=org["departments"]["east"], amount="30000")
    rows = forecast.attainment(viewer=org["admin"], period="month", start=NOV)
    assert row_of(rows, "team", team.pk).metrics["won_amount"].actual == D("30000.00")
    assert row_of(rows, "team", team.pk).metrics["won_amount"].percent == 50
    east = row_of(rows, "department", org["departments"]["east"].pk)
    assert east.metrics["won_amount"].actual == D("30000.00")  # east + Shanghai below it
    assert east.metrics["won_amount"].percent == 100
    hq = forecast.attainment(
        viewer=org["admin"],
        period="month",
        start=NOV,
        holders=[("department", org["departments"]["hq"].pk)],
    )
    assert hq[0].metrics["won_amount"].actual == D("70000.00")
    assert hq[0].metrics["won_amount"].target is None


def test_a_rep_sees_only_their_own_attainment_and_a_manager_their_department(org, pipeline):
    rep_sh, rep_south = org["rep_sh"], org["rep_south"]
    east = org["departments"]["east"]
    target(user=rep_sh)
    target(user=rep_south)
    target(department=east)
    rows = forecast.attainment(viewer=rep_sh, period="month", start=NOV)
    assert [(row.kind, row.pk) for row in rows] == [("user", rep_sh.pk)]
    asked = forecast.attainment(
        viewer=rep_sh,
        period="month",
        start=NOV,
        holders=[("user", rep_south.pk), ("department", east.pk)],
    )
    assert asked == []
    rows = forecast.attainment(viewer=org["sales_manager"], period="month", start=NOV)
    assert {(row.kind, row.pk) for row in rows} == {("user", rep_sh.pk), ("department", east.pk)}


def test_attainment_reads_a_fixed_number_of_queries_whatever_the_size(org, pipeline):
    admin = org["admin"]

    def queries(holders):
        with CaptureQueriesContext(connection) as captured:
            forecast.attainment(viewer=admin, period="month", start=NOV, holders=holders)
        return len(captured)

    reps = [UserFactory(department=org["departments"]["sh"]) for _ in range(2)]
    for rep in reps:
        won(rep, "100", at(2), pipeline)
        target(user=rep)
    queries([("user", reps[0].pk)])  # warm up: the admin's grants, the sales settings
    few = queries([("user", rep.pk) for rep in reps])
    more = [UserFactory(department=org["departments"]["sh"]) for _ in range(6)]
    for rep in more:
        won(rep, "100", at(2), pipeline)
        won(rep, "100", at(3), pipeline)
        order(rep, "100", at(3))
        target(user=rep)
    team = TeamFactory(members=more)
    many = queries(
        [("user", rep.pk) for rep in reps + more]
        + [("team", team.pk), ("department", org["departments"]["hq"].pk)]
    )
    assert many == few


# --- forecast --------------------------------------------------------------------------------


def test_forecast_categories_and_the_weighted_amount(org, pipeline):
    rep = org["rep_sh"]
    close = dt.date(2026, 11, 20)
    open_deal(rep, "10000", 80, ForecastCategory.COMMIT, close, pipeline)
    open_deal(rep, "20000", 50, ForecastCategory.BEST_CASE, close, pipeline)
    open_deal(rep, "30000", 10, ForecastCategory.PIPELINE, close, pipeline)
    open_deal(rep, "40000", 90, ForecastCategory.OMITTED, close, pipeline)
    open_deal(rep, "50000", 90, ForecastCategory.COMMIT, dt.date(2026, 12, 2), pipeline)
    open_deal(rep, "333.33", 33, ForecastCategory.PIPELINE, close, pipeline, currency="USD")
    won(rep, "7000", at(9), pipeline)
    won(rep, "8000", at(9, month=10), pipeline)

    result = forecast.forecast(viewer=org["admin"], period="month", start=NOV)
    node = result.find(rep.pk)
    figures = node.own["CNY"]
    assert figures.commit == D("10000")
    assert figures.best_case == D("30000")  # commit + best case
    assert figures.pipeline == D("60000")  # every open deal not omitted
    assert figures.closed_won == D("7000")
    assert figures.weighted == D("21000.00")  # 8000 + 10000 + 3000
    assert (figures.open_count, figures.won_count) == (3, 1)
    assert node.own["USD"].weighted == D("110.00")  # 333.33 × 33 % = 109.9989, to the cent
    assert result.currency == "CNY"


def test_the_forecast_rolls_up_two_levels_of_managers(org, pipeline):
    hq, east = org["departments"]["hq"], org["departments"]["east"]
    director = UserFactory(username="director", department=hq, roles=["sales_manager"])
    hq.manager = director
    hq.save()
    manager = org["sales_manager"]
    east.manager = manager
    east.save()
    rep_sh, rep_east, rep_south = org["rep_sh"], org["rep_east"], org["rep_south"]
    deputy = UserFactory(username="deputy", department=org["departments"]["sh"], manager=manager)
    rep_sh.manager = deputy  # rep_sh → deputy → manager (department east) → director (hq)
    rep_sh.save()
    close = dt.date(2026, 11, 15)
    open_deal(rep_sh, "1000", 50, ForecastCategory.COMMIT, close, pipeline)
    open_deal(rep_east, "2000", 50, ForecastCategory.COMMIT, close, pipeline)
    open_deal(rep_south, "4000", 50, ForecastCategory.COMMIT, close, pipeline)
    open_deal(manager, "8000", 50, ForecastCategory.BEST_CASE, close, pipeline)

    result = forecast.forecast(viewer=org["admin"], period="month", start=NOV)
    top = result.find(director.pk)
    assert top is not None and top.depth == 0
    assert top.total["CNY"].commit == D("7000")
    assert top.total["CNY"].best_case == D("15000")
    middle = result.find(manager.pk)
    assert middle.depth == 1
    assert middle.own["CNY"].best_case == D("8000")
    assert middle.total["CNY"].commit == D("3000")  # rep_east + rep_sh through the deputy
    assert {child.user_id for child in middle.children} == {deputy.pk, rep_east.pk}
    assert result.find(deputy.pk).total["CNY"].commit == D("1000")
    assert result.find(rep_sh.pk).depth == 3
    assert result.totals["CNY"].pipeline == D("15000")

    # the manager sees their department: themselves at the top, no director, no south
    theirs = forecast.forecast(viewer=manager, period="month", start=NOV)
    assert [root.user_id for root in theirs.roots] == [manager.pk]
    assert theirs.find(rep_south.pk) is None and theirs.find(director.pk) is None
    assert theirs.totals["CNY"].commit == D("3000")
    # a rep sees only themselves
    own = forecast.forecast(viewer=rep_east, period="month", start=NOV)
    assert [node.user_id for node in own.nodes()] == [rep_east.pk]
    assert own.totals["CNY"].commit == D("2000")
    # one person's subtree
    sub = forecast.forecast(viewer=org["admin"], period="month", start=NOV, root_user=deputy)
    assert [node.user_id for node in sub.nodes()] == [deputy.pk, rep_sh.pk]


def test_forecast_queries_do_not_grow_with_people_or_deals(org, pipeline):
    admin = org["admin"]
    sh = org["departments"]["sh"]
    close = dt.date(2026, 11, 15)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            forecast.forecast(viewer=admin, period="month", start=NOV)
        return len(captured)

    boss = UserFactory(department=sh)
    open_deal(UserFactory(department=sh, manager=boss), "10", 10, "commit", close, pipeline)
    queries()  # warm up: the admin's grants, the sales settings
    few = queries()
    for _ in range(5):
        middle = UserFactory(department=sh, manager=boss)
        for _ in range(2):
            rep = UserFactory(department=DepartmentFactory(parent=sh), manager=middle)
            open_deal(rep, "10", 10, "commit", close, pipeline)
            won(rep, "10", at(3), pipeline)
    assert queries() == few
