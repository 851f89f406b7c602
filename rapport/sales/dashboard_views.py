"""The sales dashboard (this month or quarter: my attainment, my teams', my forecast), the
forecast page (the period's forecast rolled up the manager hierarchy; expand a manager to
see their people) and the pipeline report (stages, wins and losses, conversion, owners). Reads only, through `rapport.sales.forecast`: a fixed number of queries
whatever the number of people and deals."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from rapport.identity import policy
from rapport.identity.models import Action, User

from . import forecast as forecast_reads
from . import pipeline_report as report_reads
from .models import Opportunity, Pipeline, Target, TargetMetric, TargetPeriod

PICKABLE = (TargetPeriod.MONTH, TargetPeriod.QUARTER, TargetPeriod.YEAR)


def period_from(request: HttpRequest, default: str = TargetPeriod.MONTH) -> tuple[str, dt.date]:
    """The period the page shows: `?period=` and `?start=`; a bad value falls back to the
    current period (a link, not a form: nothing to correct)."""
    today = timezone.localdate()
    period = request.GET.get("period") or default
    try:
        return forecast_reads.parse_period(period, request.GET.get("start"), today=today)
    except ValidationError:
        period = period if period in TargetPeriod.values else default
        return period, forecast_reads.period_start_of(period, today)


def period_context(period: str, start: dt.date) -> dict:
    end = forecast_reads.period_end(period, start)
    return {
        "period": period,
        "start": start,
        "last_day": end - dt.timedelta(days=1),
        "previous_start": forecast_reads.previous_period(period, start),
        "next_start": end,
        "periods": [(value, TargetPeriod(value).label) for value in PICKABLE],
    }


def _bars(rows, metric: str) -> dict:
    """The chart's data: one bar pair (target, actual) per holder for one measure."""
    return {
        "names": [row.name for row in rows],
        "target": [
            None if row.metrics[metric].target is None else float(row.metrics[metric].target)
            for row in rows
        ],
        "actual": [float(row.metrics[metric].actual) for row in rows],
        "labels": {"target": _("Target"), "actual": _("Actual")},
    }


@login_required
def sales_dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    may_targets = policy.has_grant(user, Target.security_type, Action.VIEW)
    may_deals = policy.has_grant(user, Opportunity.security_type, Action.VIEW)
    if not (may_targets or may_deals):
        raise PermissionDenied
    period, start = period_from(request)
    organisation = forecast_reads.Organisation.load()
    holders = forecast_reads.my_holders(user, organisation) if may_targets else {}
    mine = (
        forecast_reads.attainment(
            viewer=user,
            period=period,
            start=start,
            holders=holders["mine"],
            organisation=organisation,
        )
        if holders.get("mine")
        else []
    )
    teams = (
        forecast_reads.attainment(
            viewer=user,
            period=period,
            start=start,
            holders=holders["teams"],
            organisation=organisation,
        )
        if holders.get("teams")
        else []
    )
    my_forecast = None
    if may_deals:
        result = forecast_reads.forecast(
            viewer=user,
            period=period,
            start=start,
            root_user=user,
            organisation=organisation,
        )
        node = result.roots[0] if result.roots else None
        my_forecast = {
            "figures": node.in_currency(result.currency) if node else forecast_reads.Figures(),
            "others": node.other_currencies(result.currency) if node else [],
            "people": sum(1 for _node in node.walk()) - 1 if node else 0,
        }
    return render(
        request,
        "sales/dashboard/dashboard.html",
        {
            **period_context(period, start),
            "periods": [(value, TargetPeriod(value).label) for value in PICKABLE[:2]],
            "currency": forecast_reads.default_currency(),
            "mine": mine,
            "teams": teams,
            "metrics": [(value, label) for value, label in TargetMetric.choices],
            "chart": _bars(mine + teams, TargetMetric.WON_AMOUNT),
            "my_forecast": my_forecast,
            "may_forecast": may_deals,
            "may_manage_targets": policy.has_grant(user, Target.security_type, Action.MANAGE),
        },
    )


@login_required
def forecast_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not policy.has_grant(user, Opportunity.security_type, Action.VIEW):
        raise PermissionDenied
    period, start = period_from(request, TargetPeriod.QUARTER)
    organisation = forecast_reads.Organisation.load()
    seen = forecast_reads.visibility(user)
    root_user = None
    chosen = request.GET.get("user", "")
    if chosen.isdigit() and int(chosen) in organisation.users and seen.sees("user", int(chosen)):
        root_user = User(pk=int(chosen))
    result = forecast_reads.forecast(
        viewer=user, period=period, start=start, root_user=root_user, organisation=organisation
    )
    currency = request.GET.get("currency", "").upper() or result.currency
    currencies = sorted({result.currency, *result.totals})
    if currency not in currencies:
        currency = result.currency
    people = sorted(
        (pk for pk in organisation.users if seen.sees("user", pk)),
        key=organisation.user_name,
    )
    rows = [
        {
            "node": node,
            "figures": node.in_currency(currency),
            "own": node.in_currency(currency, rolled_up=False),
            "others": node.other_currencies(currency),
        }
        for node in result.nodes()
    ]
    return render(
        request,
        "sales/dashboard/forecast.html",
        {
            **period_context(period, start),
            "result": result,
            "rows": rows,
            "tree": _tree(rows),
            "currency": currency,
            "currencies": currencies,
            "total": result.totals.get(currency) or forecast_reads.Figures(),
            "people": [(pk, organisation.user_name(pk)) for pk in people[:500]],
            "chosen_user": root_user.pk if root_user else None,
            "keep": [("user", root_user.pk if root_user else ""), ("currency", currency)],
            "keep_query": "&"
            + urlencode({"currency": currency, **({"user": root_user.pk} if root_user else {})}),
        },
    )


def _tree(rows: list[dict]) -> list[dict]:
    """Rows nested as the template walks them: each with its `children` rows."""
    by_node = {id(row["node"]): {**row, "children": []} for row in rows}
    roots = []
    for row in rows:
        entry = by_node[id(row["node"])]
        for child in row["node"].children:
            entry["children"].append(by_node[id(child)])
        if row["node"].depth == 0:
            roots.append(entry)
    return roots


@login_required
def pipeline_report_page(request: HttpRequest) -> HttpResponse:
    """The pipeline report of one pipeline for a period (see `sales.pipeline_report`)."""
    user = request.user
    if not policy.has_grant(user, Opportunity.security_type, Action.VIEW):
        raise PermissionDenied
    period, start = period_from(request, TargetPeriod.QUARTER)
    pipelines = list(Pipeline.objects.filter(is_active=True).order_by("-is_default", "position"))
    chosen = request.GET.get("pipeline", "")
    pipeline = next((p for p in pipelines if str(p.pk) == chosen), None) or (
        pipelines[0] if pipelines else None
    )
    if pipeline is None:
        raise Http404
    owner = request.GET.get("owner", "")
    owner_id = int(owner) if owner.isdigit() else None
    currency = (request.GET.get("currency") or "").upper()[:3] or None
    report = report_reads.pipeline_report(
        user, pipeline, period=period, start=start, owner=owner_id, currency=currency
    )
    keep = {"pipeline": pipeline.pk, "currency": report.currency}
    if owner_id:
        keep["owner"] = owner_id
    return render(
        request,
        "sales/dashboard/pipeline_report.html",
        {
            **period_context(period, start),
            "report": report,
            "pipelines": pipelines,
            "owner_id": owner_id,
            "keep": list(keep.items()),
            "keep_query": "&" + urlencode(keep),
            "funnel": {
                "names": [row.stage.display_name for row in report.funnel],
                "values": [row.entered for row in report.funnel],
            },
        },
    )
