"""Complaint pages: the complaint card's form on a complaint ticket (save, move to the next
stage), the complaints report (`/service/complaints/`) and the root-cause categories under
Administration (`/admin/complaint-causes/`).

Views parse, authorize and render: reads go through `Ticket.objects.restrict`, every write
through `rapport.service.services.complaints`, whose errors land beside their field.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.identity import policy
from rapport.identity.models import Action
from rapport.identity.views._common import _admin_context, _call, _message_call, _require

from . import complaint_report
from .complaint_forms import CauseForm, ComplaintForm
from .models import Complaint, ComplaintCause, ComplaintStage, Ticket, TicketKind
from .services import complaints as complaint_services

CAUSE = ComplaintCause.security_type
# the button that moves a complaint on, by the stage it moves to
STAGE_ACTIONS = {
    ComplaintStage.INVESTIGATING: gettext_lazy("Start investigating"),
    ComplaintStage.RESOLVED: gettext_lazy("Mark resolved"),
    ComplaintStage.CONFIRMED: gettext_lazy("Customer confirmed"),
}


def stage_actions(complaint: Complaint) -> list[tuple[str, str]]:
    """(stage, button label) for each move the complaint may make now; moving back from
    resolved reads “investigate again”."""
    actions = []
    for stage in complaint_services.complaint_next_stages(complaint):
        if stage == ComplaintStage.INVESTIGATING and complaint.stage == ComplaintStage.RESOLVED:
            actions.append((stage, _("Investigate again")))
        else:
            actions.append((stage, str(STAGE_ACTIONS[ComplaintStage(stage)])))
    return actions


def card_context(request: HttpRequest, ticket: Ticket, *, form=None) -> dict | None:
    """What the complaint card shows, or None when the ticket is not a complaint."""
    if ticket.kind != TicketKind.COMPLAINT:
        return None
    complaint = (
        Complaint.objects.select_related("cause", "action_owner").filter(ticket=ticket).first()
    )
    if complaint is None:
        return None
    complaint.ticket = ticket
    can_change = policy.can(request.user, Action.CHANGE, ticket)
    if can_change and form is None and complaint.stage != ComplaintStage.CONFIRMED:
        form = ComplaintForm(complaint=complaint)
    return {
        "ticket": ticket,
        "complaint": complaint,
        "can_change": can_change,
        "form": form if can_change else None,
        "stage_actions": stage_actions(complaint) if can_change else [],
        "stages": ComplaintStage.choices,
        "stage_index": list(ComplaintStage.values).index(complaint.stage),
        "overdue": complaint.action_due is not None
        and complaint.stage != ComplaintStage.CONFIRMED
        and complaint.action_due < timezone.localdate(),
    }


@login_required
@require_POST
def complaint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the complaint card, and move its stage when a stage button was pressed. With
    htmx the card is swapped in place (errors beside their field); without, a page with the
    card."""
    ticket = Ticket.objects.restrict(request.user, Action.VIEW).filter(pk=pk).first()
    if ticket is None:
        raise Http404()
    complaint = Complaint.objects.filter(ticket=ticket).select_related("cause").first()
    if complaint is None or ticket.kind != TicketKind.COMPLAINT:
        raise Http404()
    if not policy.can(request.user, Action.CHANGE, ticket):
        raise PermissionDenied
    form = ComplaintForm(request.POST, complaint=complaint)
    stage = request.POST.get("stage", "")
    saved = None
    if form.is_valid():
        values = form.service_values()
        if stage:
            values["stage"] = stage
        saved = _call(
            form,
            complaint_services.complaint_update,
            actor=request.user,
            complaint=complaint,
            **values,
        )
    url = reverse("service:ticket_detail", args=[ticket.pk])
    if saved is not None:
        messages.success(request, _("Complaint saved."))
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return redirect(url)
    context = card_context(request, ticket, form=form)
    if request.headers.get("HX-Request"):
        # htmx swaps 2xx answers only: the card with its errors in place
        return render(request, "service/complaints/_card.html", context)
    return render(request, "service/complaints/complaint_edit.html", context, status=400)


@login_required
def complaint_report_page(request: HttpRequest) -> HttpResponse:
    """Complaints by root cause and by product per month, by stage, and corrective actions
    past due, over the complaint tickets the user may see (grouped queries only)."""
    if not policy.has_grant(request.user, Ticket.security_type, Action.VIEW):
        raise PermissionDenied
    filters = complaint_report.Filters.parse(request.GET)
    figures = complaint_report.report(request.user, filters)
    peak = max([row["total"] for row in figures["by_cause"]] + [1])
    return render(
        request,
        "service/complaints/report.html",
        {
            "report": figures,
            "filters": filters,
            "choices": complaint_report.filter_choices(request.user),
            "peak": peak,
            "no_cause": complaint_report.no_cause_label(),
            "no_product": complaint_report.no_product_label(),
        },
    )


# --- root-cause categories (administration) --------------------------------------------------


@login_required
def cause_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, CAUSE, Action.MANAGE)
    form = CauseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        cause = _call(
            form,
            complaint_services.complaint_cause_create,
            actor=request.user,
            **form.service_values(),
        )
        if cause:
            messages.success(request, _("“%(name)s” added.") % {"name": cause.display_name})
            return redirect("service:complaint_cause_list")
    return render(
        request,
        "service/complaints/cause_list.html",
        {
            **_admin_context(request, "complaint_causes"),
            "causes": list(ComplaintCause.objects.all()),
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def cause_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, CAUSE, Action.MANAGE)
    cause = get_object_or_404(ComplaintCause, pk=pk)
    form = CauseForm(request.POST or None, cause=cause)
    saved = (
        request.method == "POST"
        and form.is_valid()
        and _call(
            form,
            complaint_services.complaint_cause_update,
            actor=request.user,
            cause=cause,
            **form.service_values(),
        )
    )
    if saved:
        messages.success(request, _("Saved."))
        return redirect("service:complaint_cause_list")
    return render(
        request,
        "service/complaints/cause_edit.html",
        {**_admin_context(request, "complaint_causes"), "cause": cause, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def cause_active(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, CAUSE, Action.MANAGE)
    cause = get_object_or_404(ComplaintCause, pk=pk)
    _message_call(
        request,
        complaint_services.complaint_cause_set_active,
        actor=request.user,
        cause=cause,
        is_active=request.POST.get("active") == "1",
    )
    return redirect("service:complaint_cause_list")
