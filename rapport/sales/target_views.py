"""The targets page (administration): for a period and measure, a grid of the people, teams
and departments the user may set targets for, each amount saved on its own (htmx, per cell)
through `rapport.sales.services.targets` — an empty cell removes the target; a refused
amount is shown beside the cell in the page's language."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core import errors
from rapport.identity import policy
from rapport.identity.models import Action, Department, Team, User

from . import forecast as forecast_reads
from .dashboard_views import period_context, period_from
from .models import Target, TargetMetric
from .services import targets as target_services

HOLDER_MODELS = {"user": User, "team": Team, "department": Department}


def _require_manage(user) -> None:
    if not policy.has_grant(user, Target.security_type, Action.MANAGE):
        raise PermissionDenied


def _metric_from(request: HttpRequest) -> str:
    metric = request.GET.get("metric") or request.POST.get("metric") or TargetMetric.WON_AMOUNT
    return metric if metric in TargetMetric.values else TargetMetric.WON_AMOUNT


def _holders(viewer, organisation) -> dict[str, list[tuple[int, str, str]]]:
    """(id, name, where) of every active person, team and department the viewer may set
    targets for."""
    seen = forecast_reads.visibility(viewer, Action.MANAGE)
    departments = organisation.departments
    people = [
        (pk, organisation.user_name(pk), departments.get(row["department_id"], {}).get("name", ""))
        for pk, row in organisation.users.items()
        if row["is_active"] and seen.sees("user", pk)
    ]
    teams = [
        (pk, row["name"], "") for pk, row in organisation.teams.items() if seen.sees("team", pk)
    ]
    units = [
        (pk, row["name"], "")
        for pk, row in sorted(departments.items(), key=lambda item: item[1]["path"])
        if seen.sees("department", pk)
    ]
    return {
        "user": sorted(people, key=lambda person: (person[2], person[1])),
        "team": sorted(teams, key=lambda team: team[1]),
        "department": units,
    }


@login_required
def target_grid(request: HttpRequest) -> HttpResponse:
    _require_manage(request.user)
    period, start = period_from(request)
    metric = _metric_from(request)
    organisation = forecast_reads.Organisation.load()
    holders = _holders(request.user, organisation)
    amounts = {}
    for target in forecast_reads.targets_for(request.user, Action.MANAGE).filter(
        period=period, period_start=start, metric=metric
    ):
        kind, pk = forecast_reads._holder_of(target)
        amounts[(kind, pk)] = target
    query = request.GET.get("q", "").strip().lower()
    sections = []
    for kind, title in (
        ("user", _("People")),
        ("team", _("Teams")),
        ("department", _("Departments")),
    ):
        rows = [
            {
                "kind": kind,
                "pk": pk,
                "name": name,
                "where": where,
                "target": amounts.get((kind, pk)),
            }
            for pk, name, where in holders[kind]
            if not query or query in name.lower() or query in where.lower()
        ]
        sections.append({"kind": kind, "title": title, "rows": rows})
    return render(
        request,
        "sales/targets/grid.html",
        {
            **period_context(period, start),
            "metric": metric,
            "metrics": TargetMetric.choices,
            "sections": sections,
            "query": request.GET.get("q", ""),
            "currency": forecast_reads.default_currency(),
            "keep": [("metric", metric), ("q", request.GET.get("q", ""))],
            "keep_query": "&" + urlencode({"metric": metric}),
            "cell_url": reverse("sales:target_cell"),
        },
    )


@login_required
@require_POST
def target_cell(request: HttpRequest) -> HttpResponse:
    """Save one cell: set the holder's target (or remove it when the cell is emptied); answer
    with the cell again — the saved amount, or the refusal beside it."""
    _require_manage(request.user)
    kind = request.POST.get("kind", "")
    model = HOLDER_MODELS.get(kind)
    if model is None or not request.POST.get("pk", "").isdigit():
        raise Http404
    holder = model.objects.filter(pk=int(request.POST["pk"])).first()
    if holder is None:
        raise Http404
    period = request.POST.get("period", "")
    start = request.POST.get("start", "")
    metric = _metric_from(request)
    amount = request.POST.get("amount", "").strip().replace(",", "")
    context = {
        "row": {"kind": kind, "pk": holder.pk, "name": str(holder)},
        "period": period,
        "start": start,
        "metric": metric,
        "cell_url": reverse("sales:target_cell"),
        "value": request.POST.get("amount", ""),
        "error": "",
        "saved": False,
    }
    try:
        if amount == "":
            existing = (
                forecast_reads.targets_for(request.user, Action.MANAGE)
                .filter(period=period, period_start=start or None, metric=metric, **{kind: holder})
                .first()
                if start
                else None
            )
            if existing is not None:
                target_services.target_delete(actor=request.user, target=existing)
            context["row"]["target"] = None
        else:
            target = target_services.target_set(
                actor=request.user,
                period=period,
                period_start=start,
                metric=metric,
                amount=amount,
                **{kind: holder},
            )
            context["row"]["target"] = target
            context["value"] = ""
        context["saved"] = True
    except errors.PermissionDenied as error:
        raise PermissionDenied from error
    except ValidationError as error:
        context["error"] = " ".join(
            message for messages in error.message_dict.values() for message in messages
        )
    except errors.DomainError as error:
        context["error"] = str(error.message)
    return render(request, "sales/targets/_cell.html", context)
