"""The lead pages: the list (mine, my team, the pool, everything I may see), the pool with
claim buttons and the rep's held / limit counter, a new lead with the duplicate warning, the
lead itself (follow-ups, qualification, claim, release, assign, qualify, disqualify), the
conversion page, and the administration of pools and assignment rules.

Views parse, authorize and render: reads go through `lead_selectors` (restricted), every
write through `rapport.sales.services.leads`, whose errors land beside their field.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.audit.models import AuditEvent
from rapport.core.errors import NotFound
from rapport.core.paging import cursor_page
from rapport.identity import policy
from rapport.identity.models import Action, User
from rapport.identity.views._common import _admin_context, _call, _message_call

from .lead_api import _search
from .lead_forms import (
    AssignForm,
    ConvertForm,
    DisqualifyForm,
    FollowUpForm,
    LeadForm,
    PoolForm,
    QualifyForm,
    RuleForm,
    lead_people,
)
from .lead_selectors import holdings, lead_for, leads_visible, pool_leads
from .models.leads import (
    OPEN_LEAD_STATUSES,
    Lead,
    LeadAssignmentRule,
    LeadFollowUp,
    LeadPool,
    LeadRating,
    LeadSource,
    LeadStatus,
)
from .services import leads as lead_services

LEAD = Lead.security_type
PAGE_SIZE = 50
VIEWS = {
    "mine": gettext_lazy("Mine"),
    "team": gettext_lazy("My team"),
    "pool": gettext_lazy("Pool"),
    "all": gettext_lazy("All I may see"),
}
HISTORY_SHOWN = 30


def _require_grant(user, action: str, object_type: str = LEAD) -> None:
    if not policy.has_grant(user, object_type, action):
        raise PermissionDenied(_("You do not have permission to do this."))


def _lead(user, pk: int) -> Lead:
    try:
        return lead_for(user, pk)
    except NotFound:
        raise Http404(_("No such lead.")) from None


def _filtered(request: HttpRequest, user: User, view: str):
    leads = leads_visible(user).select_related("owner", "pool")
    if view == "mine":
        leads = leads.filter(owner=user)
    elif view == "team":
        team_ids = policy._team_ids(user)
        leads = leads.filter(owner__isnull=False).filter(
            owner__in=User.objects.filter(teams__in=team_ids).values("pk")
        ) | leads.filter(owner=user)
    elif view == "pool":
        leads = leads.filter(owner__isnull=True)
    chosen = {}
    for name, choices in (("status", LeadStatus), ("source", LeadSource), ("rating", LeadRating)):
        value = request.GET.get(name) or ""
        if value in choices.values:
            leads = leads.filter(**{name: value})
            chosen[name] = value
    owner = request.GET.get("owner") or ""
    if owner.isdigit():
        leads = leads.filter(owner_id=int(owner))
        chosen["owner"] = owner
    text = (request.GET.get("q") or "").strip()
    if text:
        leads = _search(leads, text, user)
    return leads, chosen, text


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_grant(user, Action.VIEW)
    view = request.GET.get("view") or "mine"
    if view not in VIEWS:
        view = "mine"
    leads, chosen, text = _filtered(request, user, view)
    page = cursor_page(request, leads, ordering=["-id"], page_size=PAGE_SIZE)
    return render(
        request,
        "sales/leads/lead_list.html",
        {
            "page": page,
            "view": view,
            "views": VIEWS,
            "chosen": chosen,
            "q": text,
            "statuses": LeadStatus.choices,
            "sources": LeadSource.choices,
            "ratings": LeadRating.choices,
            "owners": lead_people() if policy.best_scope(user, LEAD, Action.VIEW) != "own" else [],
            "can_add": policy.has_grant(user, LEAD, Action.ADD),
            "can_import": policy.has_grant(user, LEAD, Action.IMPORT),
        },
    )


@login_required
def lead_pool(request: HttpRequest) -> HttpResponse:
    """The leads waiting in the pools the rep may claim from, with their counter."""
    user = request.user
    _require_grant(user, Action.VIEW)
    leads = pool_leads(user).select_related("pool")
    pool_id = request.GET.get("pool") or ""
    if pool_id.isdigit():
        leads = leads.filter(pool_id=int(pool_id))
    text = (request.GET.get("q") or "").strip()
    if text:
        leads = _search(leads, text, user)
    page = cursor_page(request, leads, ordering=["-id"], page_size=PAGE_SIZE)
    held = holdings(user)
    return render(
        request,
        "sales/leads/lead_pool.html",
        {
            "page": page,
            "holdings": held,
            "full": {holding.pool.pk for holding in held if holding.full},
            "pool_id": pool_id,
            "q": text,
        },
    )


def _duplicates(request: HttpRequest, values: dict, exclude_id=None) -> list:
    """Likely duplicates of a lead about to be saved, unless the user has seen the warning
    and chose to save it anyway (as the customers' create pages do)."""
    if request.POST.get("duplicates_seen"):
        return []
    return lead_services.lead_duplicates(user=request.user, values=values, exclude_id=exclude_id)


@login_required
def lead_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_grant(user, Action.ADD)
    form = LeadForm(request.POST if request.method == "POST" else None, user=user)
    found: list = []
    if form.is_bound and form.is_valid():
        found = _duplicates(request, form.service_values())
        if not found:
            lead = _call(
                form,
                lead_services.lead_create,
                actor=user,
                **form.owner_arguments(),
                **form.service_values(),
            )
            if lead is not None:
                messages.success(request, _("The lead “%(name)s” was created.") % {"name": lead})
                if leads_visible(user).filter(pk=lead.pk).exists():
                    return redirect("sales:lead_detail", pk=lead.pk)
                return redirect("sales:lead_list")
    return render(
        request, "sales/leads/lead_form.html", {"form": form, "lead": None, "duplicates": found}
    )


@login_required
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    lead = _lead(user, pk)
    form = LeadForm(request.POST if request.method == "POST" else None, user=user, lead=lead)
    found: list = []
    if form.is_bound and form.is_valid():
        values = form.service_values()
        if {"phone", "email", "company"} & set(values):
            found = _duplicates(
                request,
                {name: form.cleaned_data.get(name) for name in ("phone", "email", "company")},
                exclude_id=lead.pk,
            )
        if not found and _call(form, lead_services.lead_update, actor=user, lead=lead, **values):
            messages.success(request, _("Saved."))
            return redirect("sales:lead_detail", pk=lead.pk)
    return render(
        request, "sales/leads/lead_form.html", {"form": form, "lead": lead, "duplicates": found}
    )


HISTORY_ACTIONS = {
    "create": gettext_lazy("Created"),
    "update": gettext_lazy("Changed"),
    "status": gettext_lazy("Status changed"),
    "claim": gettext_lazy("Claimed from the pool"),
    "release": gettext_lazy("Given back to the pool"),
    "assign": gettext_lazy("Owner changed"),
    "return": gettext_lazy("Back to the pool: no follow-up"),
    "convert": gettext_lazy("Converted"),
    "follow_up": gettext_lazy("Follow-up"),
}


def _actions(user: User, lead: Lead) -> dict:
    """Which buttons the lead's page shows (the services check again)."""
    is_open = lead.status in OPEN_LEAD_STATUSES
    owner = lead.owner_id == user.pk
    may_assign = lead_services._may_assign(user, lead)
    may_change = is_open and lead_services._may_change(user, lead)
    return {
        "claim": is_open
        and lead.owner_id is None
        and lead_services.may_claim_from(user, lead.pool),
        "release": is_open and lead.owner_id is not None and (owner or may_assign),
        "assign": lead.status != LeadStatus.CONVERTED and may_assign,
        "change": may_change,
        "reopen": lead.status == LeadStatus.DISQUALIFIED and lead_services._may_change(user, lead),
        "convert": may_change,
        "delete": lead.status != LeadStatus.CONVERTED and lead_services.may_delete(user, lead),
    }


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    lead = _lead(user, pk)
    follow_ups = list(LeadFollowUp.objects.filter(lead=lead).select_related("author")[:100])
    history = list(
        AuditEvent.objects.filter(object_type=LEAD, object_id=str(lead.pk))
        .select_related("actor")
        .order_by("-seq")[:HISTORY_SHOWN]
    )
    for event in history:
        event.label = HISTORY_ACTIONS.get(event.action, event.action)
    shown = policy.apply_field_rules(user, LEAD, {"phone": lead.phone, "email": lead.email})
    return render(
        request,
        "sales/leads/lead_detail.html",
        {
            "lead": lead,
            "shown": shown,
            "follow_ups": follow_ups,
            "history": history,
            "actions": _actions(user, lead),
            "follow_up_form": FollowUpForm(),
            "qualify_form": QualifyForm(lead=lead),
            "disqualify_form": DisqualifyForm(),
            "assign_form": AssignForm(initial={"owner": str(lead.owner_id or "")}),
        },
    )


def _back(lead: Lead) -> HttpResponse:
    return redirect("sales:lead_detail", pk=lead.pk)


@login_required
@require_POST
def lead_claim(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead(request.user, pk)
    _result, done = _message_call(request, lead_services.lead_claim, actor=request.user, lead=lead)
    if done:
        messages.success(request, _("The lead is yours now."))
    if request.POST.get("next") == "pool":
        return redirect("sales:lead_pool")
    return _back(lead)


@login_required
@require_POST
def lead_release(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead(request.user, pk)
    _result, done = _message_call(
        request,
        lead_services.lead_release,
        actor=request.user,
        lead=lead,
        reason=request.POST.get("reason", ""),
    )
    if done:
        messages.success(request, _("The lead went back to the pool."))
        if not leads_visible(request.user).filter(pk=lead.pk).exists():
            return redirect("sales:lead_list")
    return _back(lead)


@login_required
@require_POST
def lead_assign(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead(request.user, pk)
    form = AssignForm(request.POST)
    if form.is_valid():
        _result, done = _message_call(
            request,
            lead_services.lead_assign,
            actor=request.user,
            lead=lead,
            owner=form.chosen_owner(),
        )
        if done:
            messages.success(request, _("Saved."))
    return _back(lead)


@login_required
@require_POST
def lead_delete(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead(request.user, pk)
    _result, done = _message_call(request, lead_services.lead_delete, actor=request.user, lead=lead)
    if done:
        messages.success(request, _("The lead was deleted."))
        return redirect("sales:lead_list")
    return _back(lead)


@login_required
@require_POST
def lead_status(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead(request.user, pk)
    _result, done = _message_call(
        request,
        lead_services.lead_set_status,
        actor=request.user,
        lead=lead,
        status=request.POST.get("status", ""),
    )
    if done:
        messages.success(request, _("Saved."))
    return _back(lead)


@login_required
@require_POST
def lead_qualify(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead(request.user, pk)
    form = QualifyForm(request.POST, lead=lead)
    if form.is_valid() and _call(
        form, lead_services.lead_qualify, actor=request.user, lead=lead, **form.service_values()
    ):
        messages.success(request, _("The lead is qualified."))
        return _back(lead)
    return _rerender(request, lead, qualify_form=form)


@login_required
@require_POST
def lead_disqualify(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead(request.user, pk)
    form = DisqualifyForm(request.POST)
    if form.is_valid() and _call(
        form,
        lead_services.lead_disqualify,
        actor=request.user,
        lead=lead,
        reason=form.cleaned_data.get("reason") or "",
    ):
        messages.success(request, _("The lead is disqualified."))
        return _back(lead)
    return _rerender(request, lead, disqualify_form=form)


@login_required
@require_POST
def lead_follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead(request.user, pk)
    form = FollowUpForm(request.POST)
    if form.is_valid() and _call(
        form,
        lead_services.lead_follow_up_add,
        actor=request.user,
        lead=lead,
        kind=form.cleaned_data["kind"],
        summary=form.cleaned_data.get("summary") or "",
        next_step=form.cleaned_data.get("next_step") or "",
    ):
        messages.success(request, _("Follow-up added."))
        return _back(lead)
    return _rerender(request, lead, follow_up_form=form)


def _rerender(request: HttpRequest, lead: Lead, **forms) -> HttpResponse:
    user = request.user
    lead = _lead(user, lead.pk)
    context = {
        "lead": lead,
        "shown": policy.apply_field_rules(user, LEAD, {"phone": lead.phone, "email": lead.email}),
        "follow_ups": list(LeadFollowUp.objects.filter(lead=lead).select_related("author")[:100]),
        "history": [],
        "actions": _actions(user, lead),
        "follow_up_form": FollowUpForm(),
        "qualify_form": QualifyForm(lead=lead),
        "disqualify_form": DisqualifyForm(),
        "assign_form": AssignForm(initial={"owner": str(lead.owner_id or "")}),
        "open_form": next(iter(forms)),
        **forms,
    }
    return render(request, "sales/leads/lead_detail.html", context, status=400)


@login_required
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    lead = _lead(user, pk)
    if not _actions(user, lead)["convert"]:
        raise PermissionDenied(_("You may not do this to this lead."))
    matches = lead_services.lead_duplicates(
        user=user,
        values={"phone": lead.phone, "email": lead.email, "company": lead.company},
        exclude_id=lead.pk,
    )
    accounts = [m.record for m in matches if m.kind == "account"]
    contacts = [m.record for m in matches if m.kind == "contact"]
    form = ConvertForm(
        request.POST if request.method == "POST" else None,
        user=user,
        accounts=accounts,
        contacts=contacts,
        initial={"opportunity_name": lead.company or lead.name, "amount": lead.budget},
    )
    if form.is_bound and form.is_valid():
        values = form.service_values()
        if not form.errors and _call(
            form, lead_services.lead_convert, actor=user, lead=lead, **values
        ):
            messages.success(request, _("The lead was converted."))
            return _back(lead)
    return render(
        request,
        "sales/leads/lead_convert.html",
        {"lead": lead, "form": form, "matches": matches},
        status=400 if form.is_bound and form.errors else 200,
    )


# --- administration: pools and rules ---------------------------------------------------------


def _require_manage(user) -> None:
    _require_grant(user, Action.MANAGE, LeadPool.security_type)


@login_required
def pool_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_manage(user)
    form = PoolForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        pool = _call(form, lead_services.pool_create, actor=user, **form.service_values())
        if pool is not None:
            messages.success(request, _("Saved."))
            return redirect("sales:lead_pool_list")
    from django.db.models import Count, Q

    pools = LeadPool.objects.select_related("team").annotate(
        waiting=Count(
            "leads", filter=Q(leads__owner__isnull=True, leads__status__in=OPEN_LEAD_STATUSES)
        )
    )
    return render(
        request,
        "sales/leads/pool_list.html",
        {**_admin_context(request, "lead_pools"), "pools": pools, "form": form},
    )


@login_required
def pool_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    _require_manage(user)
    pool = get_object_or_404(LeadPool, pk=pk)
    form = PoolForm(request.POST if request.method == "POST" else None, pool=pool)
    if (
        form.is_bound
        and form.is_valid()
        and _call(form, lead_services.pool_update, actor=user, pool=pool, **form.service_values())
    ):
        messages.success(request, _("Saved."))
        return redirect("sales:lead_pool_list")
    return render(
        request,
        "sales/leads/pool_edit.html",
        {**_admin_context(request, "lead_pools"), "pool": pool, "form": form},
    )


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_manage(user)
    form = RuleForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        rule = _call(form, lead_services.rule_create, actor=user, **form.service_values())
        if rule is not None:
            messages.success(request, _("Saved."))
            return redirect("sales:lead_rule_list")
    rules = LeadAssignmentRule.objects.select_related("team", "user", "pool")
    return render(
        request,
        "sales/leads/rule_list.html",
        {**_admin_context(request, "lead_rules"), "rules": rules, "form": form},
    )


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    _require_manage(user)
    rule = get_object_or_404(LeadAssignmentRule, pk=pk)
    if request.method == "POST" and request.POST.get("delete"):
        _message_call(request, lead_services.rule_delete, actor=user, rule=rule)
        return redirect("sales:lead_rule_list")
    form = RuleForm(request.POST if request.method == "POST" else None, rule=rule)
    if (
        form.is_bound
        and form.is_valid()
        and _call(form, lead_services.rule_update, actor=user, rule=rule, **form.service_values())
    ):
        messages.success(request, _("Saved."))
        return redirect("sales:lead_rule_list")
    return render(
        request,
        "sales/leads/rule_edit.html",
        {**_admin_context(request, "lead_rules"), "rule": rule, "form": form},
    )
