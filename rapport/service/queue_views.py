"""Service queues and agents (administration), and an agent's own availability.

`/admin/service-queues/`: each team's queue — how it hands out tickets, its capacity — and its
agents with availability, open tickets, skills and languages; a queue's page and an agent's
page to change them. `/service/availability/`: anyone who works on tickets marks themselves
available or away (for some hours). Every write goes through
`rapport.service.services.assignment` (grants checked again, validated, audited)."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from rapport.core.forms import TablerForm
from rapport.identity.models import Team, User
from rapport.identity.views._common import _admin_context, _call, _message_call

from . import assignment
from .models import (
    AgentProfile,
    AutoAssign,
    QueueSettings,
    TicketCategory,
)
from .services import assignment as assignment_services


class QueueForm(TablerForm):
    auto_assign = forms.ChoiceField(
        label=gettext_lazy("Assign new tickets"), choices=AutoAssign.choices
    )
    max_open_per_agent = forms.IntegerField(
        label=gettext_lazy("At most this many open tickets per agent"),
        min_value=0,
        max_value=assignment_services.MAX_CAPACITY,
        initial=0,
        help_text=gettext_lazy("0: no limit. Agents at the limit get no new tickets."),
    )
    match_skills = forms.BooleanField(
        label=gettext_lazy("Prefer agents skilled in the ticket's category"),
        required=False,
        initial=True,
    )
    match_language = forms.BooleanField(
        label=gettext_lazy("Prefer agents who speak the customer's language"),
        required=False,
        initial=True,
    )


class AgentForm(TablerForm):
    available = forms.BooleanField(label=gettext_lazy("Available for new tickets"), required=False)
    skills = forms.MultipleChoiceField(
        label=gettext_lazy("Skills (ticket categories)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    languages = forms.MultipleChoiceField(
        label=gettext_lazy("Languages"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from django.conf import settings

        self.fields["skills"].choices = [
            (str(category.pk), str(category))
            for category in TicketCategory.objects.filter(is_active=True)
            .select_related("parent")
            .order_by("parent__name", "name")
        ]
        self.fields["languages"].choices = [(code, _(name)) for code, name in settings.LANGUAGES]

    def service_values(self) -> dict:
        ids = [int(pk) for pk in self.cleaned_data["skills"]]
        return {
            "available": self.cleaned_data["available"],
            "skills": list(TicketCategory.objects.filter(pk__in=ids)),
            "languages": list(self.cleaned_data["languages"]),
        }


def _require_manage(user) -> None:
    if not assignment_services.can_manage(user):
        raise DjangoPermissionDenied


@login_required
def queue_list(request: HttpRequest) -> HttpResponse:
    _require_manage(request.user)
    return render(
        request,
        "service/queues/queue_list.html",
        {**_admin_context(request, "service_queues"), "rows": assignment.queues_overview()},
    )


@login_required
def queue_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manage(request.user)
    team = get_object_or_404(Team, pk=pk)
    queue = QueueSettings.objects.filter(team=team).first()
    initial = (
        {
            "auto_assign": queue.auto_assign,
            "max_open_per_agent": queue.max_open_per_agent,
            "match_skills": queue.match_skills,
            "match_language": queue.match_language,
        }
        if queue
        else None
    )
    form = QueueForm(request.POST or None, initial=initial)
    if (
        request.method == "POST"
        and form.is_valid()
        and _call(
            form,
            assignment_services.queue_settings_update,
            actor=request.user,
            team=team,
            **form.cleaned_data,
        )
    ):
        messages.success(request, _("Queue settings saved."))
        return redirect("service:queue_list")
    return render(
        request,
        "service/queues/queue_edit.html",
        {
            **_admin_context(request, "service_queues"),
            "team": team,
            "form": form,
            "agents": assignment.team_agents(team),
        },
        status=400 if form.errors else 200,
    )


@login_required
def agent_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manage(request.user)
    agent = get_object_or_404(User, pk=pk, is_active=True)
    if not assignment_services.works_on_tickets(agent):
        raise Http404(_("This person does not work on tickets."))
    profile = AgentProfile.objects.filter(user=agent).prefetch_related("skills").first()
    initial = {
        "available": True if profile is None else profile.available,
        "skills": [str(skill.pk) for skill in profile.skills.all()] if profile else [],
        "languages": list(profile.languages) if profile else [],
    }
    form = AgentForm(request.POST or None, initial=initial)
    if (
        request.method == "POST"
        and form.is_valid()
        and _call(
            form,
            assignment_services.agent_profile_update,
            actor=request.user,
            agent=agent,
            **form.service_values(),
        )
    ):
        messages.success(request, _("“%(name)s” saved.") % {"name": agent})
        return redirect("service:queue_list")
    teams = Team.objects.filter(Q(members=agent) | Q(lead=agent)).distinct().order_by("name")
    return render(
        request,
        "service/queues/agent_edit.html",
        {
            **_admin_context(request, "service_queues"),
            "agent": agent,
            "profile": profile,
            "teams": teams,
            "form": form,
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def queue_distribute(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    given, ok = _message_call(
        request, assignment_services.queue_distribute, actor=request.user, team=team
    )
    if ok:
        messages.success(
            request,
            ngettext("%(n)d waiting ticket handed out.", "%(n)d waiting tickets handed out.", given)
            % {"n": given},
        )
    return redirect(_back(request, "service:ticket_board"))


@login_required
@require_POST
def availability(request: HttpRequest) -> HttpResponse:
    """Mark oneself available, or away (for `hours` hours, or until marked back)."""
    user = request.user
    if not assignment_services.works_on_tickets(user):
        raise DjangoPermissionDenied
    state = request.POST.get("state", "")
    values: dict = {}
    if state == "available":
        values = {"available": True}
    elif state == "away":
        try:
            hours = int(request.POST.get("hours") or 0)
        except ValueError:
            hours = 0
        if 0 < hours <= 24 * 30:
            values = {"away_until": timezone.now() + timedelta(hours=hours)}
        else:
            values = {"available": False}
    else:
        messages.error(request, _("Choose available or away."))
        return redirect(_back(request, "service:ticket_list"))
    _done, ok = _message_call(
        request, assignment_services.agent_profile_update, actor=user, agent=user, **values
    )
    if ok:
        messages.success(
            request,
            _("You are available for new tickets.")
            if values.get("available")
            else _("You are away: queues give you no new tickets."),
        )
    return redirect(_back(request, "service:ticket_list"))


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    from django.urls import reverse

    return reverse(default)
