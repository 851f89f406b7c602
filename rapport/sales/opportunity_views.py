"""The opportunity pages: the list with its filters, the kanban board of a pipeline (drag a
card to move it; a stage that needs more asks for it in a small form), the opportunity with
its stage path, products and stage history, and the create and edit forms.

Views parse, authorize and render: reads go through `opportunity_selectors` (restricted),
every write through `rapport.sales.services.pipeline`, whose errors land beside their field.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core import errors
from rapport.core.paging import cursor_page
from rapport.customers.forms import lookup_label
from rapport.customers.models import Account, Contact
from rapport.identity import policy
from rapport.identity.models import Action, User
from rapport.identity.views._common import _call, _message_call

from . import opportunity_selectors as selectors
from .models import ForecastCategory, Opportunity, OpportunityStatus, Pipeline, Stage
from .opportunity_forms import MoveForm, OpportunityForm
from .services import pipeline as pipeline_services

OPPORTUNITY = Opportunity.security_type
PAGE_SIZE = 50
# what a refused move can be completed with in the small form (anything else is an error)
FORM_CODES = {"required_for_stage", "required"}
# other areas (quotes, orders) add their cards to the opportunity page:
# callables (request, opportunity) -> HTML
DETAIL_PANELS: list[Callable[[HttpRequest, Opportunity], str]] = []


def _require_grant(user, action: str) -> None:
    if not policy.has_grant(user, OPPORTUNITY, action):
        raise PermissionDenied(_("You do not have permission to do this."))


def _opportunity_for(user, pk: int, action: str = Action.VIEW) -> Opportunity:
    """The opportunity, if the user may `action` it; else not found."""
    found = (
        Opportunity.objects.restrict(user, action)
        .select_related(
            "account", "contact", "owner", "pipeline", "stage", "lost_reason", "created_by"
        )
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise Http404(_("No such opportunity."))
    return found


def _owner_param(request: HttpRequest) -> int | None:
    value = request.GET.get("owner") or request.POST.get("board_owner") or ""
    if value == "me":
        return request.user.pk
    return int(value) if value.isdigit() else None


@login_required
def opportunity_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_grant(user, Action.VIEW)
    ordering_key = request.GET.get("ordering") or "-id"
    ordering = selectors.LIST_ORDERINGS.get(ordering_key, ["-id"])
    page = cursor_page(
        request, selectors.filtered(user, request.GET), ordering=ordering, page_size=PAGE_SIZE
    )
    pipelines = selectors.pipelines()
    return render(
        request,
        "sales/opportunities/opportunity_list.html",
        {
            "page": page,
            "pipelines": pipelines,
            "stages": Stage.objects.filter(pipeline__in=pipelines, is_active=True).select_related(
                "pipeline"
            ),
            "statuses": OpportunityStatus.choices,
            "params": request.GET,
            "ordering": ordering_key,
            "can_add": policy.has_grant(user, OPPORTUNITY, Action.ADD),
        },
    )


def _board_pipeline(request: HttpRequest) -> Pipeline:
    pk = request.GET.get("pipeline", "")
    if pk.isdigit():
        found = Pipeline.objects.filter(pk=int(pk), is_active=True).first()
        if found is not None:
            return found
    return pipeline_services.default_pipeline()


def _lockable(user, cards) -> set[int]:
    """Ids of the cards the user may move (one query for the whole board)."""
    ids = [card.pk for card in cards]
    if not ids:
        return set()
    return set(
        Opportunity.objects.restrict(user, Action.CHANGE)
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
    )


@login_required
def opportunity_board(request: HttpRequest) -> HttpResponse:
    """The kanban board of a pipeline: open opportunities per stage, in board order."""
    user = request.user
    _require_grant(user, Action.VIEW)
    pipeline = _board_pipeline(request)
    owner = _owner_param(request)
    q = (request.GET.get("q") or "").strip()
    board = selectors.board(user, pipeline, owner=owner, q=q)
    movable = _lockable(user, [card for column in board.columns for card in column.cards])
    return render(
        request,
        "sales/opportunities/opportunity_board.html",
        {
            "board": board,
            "pipelines": selectors.pipelines(),
            "movable": movable,
            "owner": request.GET.get("owner", ""),
            "q": q,
            "can_add": policy.has_grant(user, OPPORTUNITY, Action.ADD),
            "can_manage": policy.has_grant(user, "sales.pipeline", Action.MANAGE),
        },
    )


@login_required
def opportunity_board_more(request: HttpRequest) -> HttpResponse:
    """The next cards of one column ("load more", htmx)."""
    user = request.user
    _require_grant(user, Action.VIEW)
    stage_id = request.GET.get("stage", "")
    stage = Stage.objects.filter(pk=int(stage_id)).first() if stage_id.isdigit() else None
    after = selectors.parse_after(request.GET.get("after", ""))
    if stage is None or after is None:
        raise Http404()
    column = selectors.column_more(
        user, stage, after=after, owner=_owner_param(request), q=request.GET.get("q", "")
    )
    return render(
        request,
        "sales/opportunities/_board_more.html",
        {
            "column": column,
            "movable": _lockable(user, column.cards),
            "owner": request.GET.get("owner", ""),
            "q": request.GET.get("q", ""),
        },
    )


@login_required
def opportunity_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_grant(user, Action.ADD)
    initial = {}
    # from a customer's 360 page: the account or contact filled in
    for name, model in (("account", Account), ("contact", Contact)):
        pk = request.GET.get(name, "")
        if pk.isdigit():
            record = model.objects.restrict(user, Action.VIEW).filter(pk=int(pk)).first()
            if record is not None:
                initial[name] = lookup_label(record)
    stage = request.GET.get("stage", "")
    if stage.isdigit():
        initial["stage"] = stage
    default = pipeline_services.default_pipeline()
    initial.setdefault("pipeline", str(default.pk) if default else "")
    form = OpportunityForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        created = _call(
            form, pipeline_services.opportunity_create, actor=user, **form.service_values()
        )
        if created:
            messages.success(request, _("Opportunity created."))
            return redirect("sales:opportunity_detail", pk=created.pk)
    return render(
        request, "sales/opportunities/opportunity_form.html", {"form": form, "opportunity": None}
    )


@login_required
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    opportunity = _opportunity_for(user, pk, Action.CHANGE)
    form = OpportunityForm(request.POST or None, user=user, opportunity=opportunity)
    saved = (
        request.method == "POST"
        and form.is_valid()
        and _call(
            form,
            pipeline_services.opportunity_update,
            actor=user,
            opportunity=opportunity,
            **form.service_values(),
        )
    )
    if saved:
        messages.success(request, _("Saved."))
        return redirect("sales:opportunity_detail", pk=opportunity.pk)
    return render(
        request,
        "sales/opportunities/opportunity_form.html",
        {"form": form, "opportunity": opportunity},
    )


def _assignable(user: User, opportunity: Opportunity) -> list[User]:
    if not policy.can(user, Action.ASSIGN, opportunity):
        return []
    people = User.objects.filter(is_active=True).select_related("department").order_by("username")
    return [
        person
        for person in people[:300]
        if policy.has_grant(person, OPPORTUNITY, Action.VIEW)
        and pipeline_services._assign_reaches(user, Opportunity(owner=person))
    ]


@login_required
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    opportunity = _opportunity_for(user, pk)
    can_change = policy.can(user, Action.CHANGE, opportunity)
    return render(
        request,
        "sales/opportunities/opportunity_detail.html",
        {
            "opportunity": opportunity,
            "path": selectors.stage_path(opportunity),
            "history": selectors.stage_history(opportunity),
            "lines": list(opportunity.lines.select_related("product")),
            "can_change": can_change,
            "can_assign": policy.can(user, Action.ASSIGN, opportunity),
            "assignable": _assignable(user, opportunity) if request.GET.get("assign") else [],
            "stages": list(opportunity.pipeline.stages.filter(is_active=True)),
            "panels": [panel(request, opportunity) for panel in DETAIL_PANELS],
            "forecast": dict(ForecastCategory.choices),
        },
    )


@login_required
@require_POST
def opportunity_assign(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    opportunity = _opportunity_for(user, pk, Action.ASSIGN)
    owner_id = request.POST.get("owner", "")
    owner = User.objects.filter(pk=int(owner_id)).first() if owner_id.isdigit() else None
    if owner is None:
        messages.error(request, _("Choose an active person who works on opportunities."))
    else:
        _done, ok = _message_call(
            request,
            pipeline_services.opportunity_assign,
            actor=user,
            opportunity=opportunity,
            owner=owner,
        )
        if ok:
            messages.success(request, _("Saved."))
    return redirect("sales:opportunity_detail", pk=opportunity.pk)


# --- moving (the board's drops, the detail page's stage buttons) ----------------------------


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _column_heads(request: HttpRequest, opportunity: Opportunity) -> dict:
    owner = _owner_param(request)
    totals = selectors.column_totals(
        request.user,
        opportunity.pipeline,
        owner=owner,
        q=(request.POST.get("board_q") or "").strip(),
    )
    return {
        str(pk): {"count": count, "amount": number_format(amount, 2, force_grouping=True)}
        for pk, (count, amount) in totals.items()
    }


def _needs_form(error: ValidationError) -> bool:
    """A refusal the small form can fix: fields the stage requires, a lost reason."""
    if not hasattr(error, "error_dict"):
        return False
    return all(
        problem.code in FORM_CODES for problems in error.error_dict.values() for problem in problems
    )


@login_required
@require_POST
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a card: `stage` (another column or the same one) and `after` (the card now above
    it, for its place in the column). From the board (fetch) the answer is JSON, or the small
    form when the stage needs more; the form posts back here with htmx. Without script (the
    detail page's buttons) a full page."""
    user = request.user
    opportunity = _opportunity_for(user, pk)
    if not policy.can(user, Action.CHANGE, opportunity):
        if _wants_json(request):
            return JsonResponse(
                {"ok": False, "message": _("You may not move this opportunity.")}, status=403
            )
        raise PermissionDenied(_("You may not move this opportunity."))
    stage_id = request.POST.get("stage", "")
    stage = (
        Stage.objects.filter(pk=int(stage_id), pipeline_id=opportunity.pipeline_id).first()
        if stage_id.isdigit()
        else None
    )
    if stage is None:
        raise Http404()
    from_form = request.POST.get("form") == "1"
    form = MoveForm(
        request.POST if from_form else None, user=user, opportunity=opportunity, stage=stage
    )
    kwargs = {"stage": stage}
    if from_form and form.is_valid():
        kwargs = form.service_values()
    after_id = request.POST.get("after", "")
    after = None
    if after_id.isdigit():
        after = Opportunity.objects.restrict(user, Action.VIEW).filter(pk=int(after_id)).first()
    try:
        moved = pipeline_services.opportunity_move(actor=user, opportunity=opportunity, **kwargs)
        if moved.is_open and (after is not None or request.POST.get("top") == "1"):
            if after is not None and (after.stage_id != moved.stage_id or not after.is_open):
                after = None
            pipeline_services.opportunity_reorder(actor=user, opportunity=moved, after=after)
    except errors.PermissionDenied as error:
        if _wants_json(request):
            return JsonResponse({"ok": False, "message": str(error.message)}, status=403)
        raise PermissionDenied from error
    except ValidationError as error:
        if _needs_form(error):
            if from_form:
                form.add_service_error(error)
            context = {
                "form": form,
                "opportunity": opportunity,
                "stage": stage,
                "after": after_id,
                "board_owner": request.POST.get("board_owner", ""),
                "board_q": request.POST.get("board_q", ""),
            }
            if request.headers.get("HX-Request") or _wants_json(request):
                return render(
                    request, "sales/opportunities/_move_form.html", {**context, "modal": True}
                )
            return render(request, "sales/opportunities/opportunity_move.html", context)
        if _wants_json(request) or request.headers.get("HX-Request"):
            return JsonResponse({"ok": False, "message": " ".join(error.messages)}, status=400)
        for message in error.messages:
            messages.error(request, message)
        return redirect("sales:opportunity_detail", pk=opportunity.pk)
    payload = {
        "ok": True,
        "id": moved.pk,
        "stage": moved.stage_id,
        "status": moved.status,
        "columns": _column_heads(request, moved),
    }
    if request.headers.get("HX-Request"):
        response = HttpResponse(f'<div data-testid="move-done">{_("Moved.")}</div>', status=200)
        response["HX-Trigger"] = json.dumps({"opportunityMoved": payload})
        return response
    if _wants_json(request):
        return JsonResponse(payload)
    messages.success(request, _("Moved to “%(stage)s”.") % {"stage": moved.stage.display_name})
    return redirect("sales:opportunity_detail", pk=moved.pk)
