"""The ticket pages: the lists an agent works from (mine, my queues, everything open I may
see), a new ticket (from the menu or a customer's 360 page), and the ticket itself with its
conversation, status and queue.

Views parse, authorize and render: reads go through `Ticket.objects.restrict`, every write
through `rapport.service.services`, whose errors land beside their field.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.audit.models import AuditEvent
from rapport.core.paging import cursor_page
from rapport.customers.forms import lookup_label
from rapport.customers.models import Account, Contact
from rapport.identity import policy
from rapport.identity.models import Action, Team, User
from rapport.identity.views._common import _call, _message_call

from . import assignment, mail
from .models import (
    OPEN_STATUSES,
    AgentProfile,
    AutoAssign,
    ComplaintStage,
    MessageKind,
    QueueSettings,
    Ticket,
    TicketAttachment,
    TicketKind,
    TicketMessage,
    TicketPriority,
    TicketStatus,
)
from .services import merging as merge_services
from .services import tickets as ticket_services
from .ticket_forms import STATUS_ACTIONS, AssignForm, MessageForm, TicketForm

TICKET = Ticket.security_type
PAGE_SIZE = 50
VIEWS = {
    "mine": gettext_lazy("Mine"),
    "queue": gettext_lazy("My queues"),
    "open": gettext_lazy("All open"),
    "all": gettext_lazy("All"),
}


def _require_grant(user, action: str) -> None:
    if not policy.has_grant(user, TICKET, action):
        raise PermissionDenied(_("You do not have permission to do this."))


def _ticket_for(user, pk: int, action: str = Action.VIEW) -> Ticket:
    """The ticket, if the user may `action` it; else not found (its existence stays hidden)."""
    ticket = (
        Ticket.objects.restrict(user, action)
        .select_related(
            "account", "contact", "team", "assignee", "category", "created_by", "sla_policy"
        )
        .filter(pk=pk)
        .first()
    )
    if ticket is None:
        raise Http404(_("No such ticket."))
    return ticket


@login_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_grant(user, Action.VIEW)
    view = request.GET.get("view") or "mine"
    if view not in VIEWS:
        view = "mine"
    tickets = Ticket.objects.restrict(user, Action.VIEW).select_related(
        "account", "contact", "team", "assignee"
    )
    if view == "mine":
        tickets = tickets.filter(assignee=user, status__in=OPEN_STATUSES)
    elif view == "queue":
        teams = list(user.teams.values_list("pk", flat=True)) + list(
            user.led_teams.values_list("pk", flat=True)
        )
        tickets = tickets.filter(team__in=teams, assignee__isnull=True, status__in=OPEN_STATUSES)
    elif view == "open":
        tickets = tickets.filter(status__in=OPEN_STATUSES)
    status = request.GET.get("status") or ""
    if status in TicketStatus.values:
        tickets = tickets.filter(status=status)
    text = (request.GET.get("q") or "").strip()
    if text:
        by_number = text.lstrip("#")
        condition = Q(subject__icontains=text)
        if by_number.isdigit():
            condition |= Q(pk=int(by_number))
        tickets = tickets.filter(condition)
    page = cursor_page(request, tickets, ordering=["-id"], page_size=PAGE_SIZE)
    return render(
        request,
        "service/tickets/ticket_list.html",
        {
            "page": page,
            "view": view,
            "views": VIEWS,
            "status": status,
            "statuses": TicketStatus.choices,
            "q": text,
            "can_add": policy.has_grant(user, TICKET, Action.ADD),
            "availability": assignment.availability_of(user),
        },
    )


@login_required
def ticket_create(request: HttpRequest) -> HttpResponse:
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
    form = TicketForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        ticket = _call(form, ticket_services.ticket_create, actor=user, **form.service_values())
        if ticket:
            messages.success(request, _("Ticket %(number)s created.") % {"number": ticket.number})
            return redirect("service:ticket_detail", pk=ticket.pk)
    return render(request, "service/tickets/ticket_form.html", {"form": form, "ticket": None})


@login_required
def ticket_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    ticket = _ticket_for(user, pk, Action.CHANGE)
    form = TicketForm(request.POST or None, user=user, ticket=ticket)
    saved = (
        request.method == "POST"
        and form.is_valid()
        and _call(
            form, ticket_services.ticket_update, actor=user, ticket=ticket, **form.service_values()
        )
    )
    if saved:
        messages.success(request, _("Saved."))
        return redirect("service:ticket_detail", pk=ticket.pk)
    return render(request, "service/tickets/ticket_form.html", {"form": form, "ticket": ticket})


HISTORY_ACTIONS = {
    "create": gettext_lazy("Created"),
    "update": gettext_lazy("Changed"),
    "assign": gettext_lazy("Queue or assignee changed"),
    "status": gettext_lazy("Status changed"),
    "message": gettext_lazy("Message added"),
    "redact": gettext_lazy("Personal data removed from text"),
    "merge": gettext_lazy("Merged"),
    "split": gettext_lazy("A message made a new ticket"),
    "download": gettext_lazy("File downloaded"),
    "complaint": gettext_lazy("Complaint updated"),
}
HISTORY_SHOWN = 50
CHOICES = {
    "status": dict(TicketStatus.choices),
    "priority": dict(TicketPriority.choices),
    "kind": dict(TicketKind.choices),
    "complaint.stage": dict(ComplaintStage.choices),
}


def _history(ticket: Ticket) -> list[dict]:
    """The ticket's audit events, newest first, with status, priority, type, queue and
    assignee changes in words (one query for the events, one each for teams and people)."""
    events = list(
        AuditEvent.objects.filter(object_type=Ticket.security_type, object_id=str(ticket.pk))
        .select_related("actor")
        .order_by("-seq")[:HISTORY_SHOWN]
    )
    ids: dict[str, set[int]] = {"team": set(), "assignee": set()}
    for event in events:
        for name in ids:
            for value in (event.changes or {}).get(name, []) or []:
                if isinstance(value, int):
                    ids[name].add(value)
    names = {
        "team": dict(Team.objects.filter(pk__in=ids["team"]).values_list("pk", "name")),
        "assignee": {user.pk: str(user) for user in User.objects.filter(pk__in=ids["assignee"])},
    }

    def shown(name: str, value) -> str:
        if value in (None, ""):
            return "—"
        if name in CHOICES:
            return str(CHOICES[name].get(value, value))
        if name in names:
            return names[name].get(value, f"#{value}")
        return ""

    rows = []
    for event in events:
        changes = [
            {"field": name, "before": shown(name, pair[0]), "after": shown(name, pair[1])}
            for name, pair in (event.changes or {}).items()
            if name in (*CHOICES, *names) and isinstance(pair, list) and len(pair) == 2
        ]
        rows.append(
            {
                "at": event.at,
                "who": str(event.actor) if event.actor else event.actor_repr or "Rapport",
                "action": HISTORY_ACTIONS.get(event.action, event.action),
                "changes": changes,
            }
        )
    return rows


def _detail(request, ticket: Ticket, *, message_form=None, assign_form=None, status: int = 200):
    user = request.user
    can_change = policy.can(user, Action.CHANGE, ticket)
    can_assign = policy.can(user, Action.ASSIGN, ticket)
    conversation = list(ticket.messages.select_related("author").prefetch_related("attachments"))
    moves = ticket_services.MOVES[TicketStatus(ticket.status)]
    return render(
        request,
        "service/tickets/ticket_detail.html",
        {
            "ticket": ticket,
            "conversation": conversation,
            "can_change": can_change,
            "can_assign": can_assign,
            "message_form": message_form or (MessageForm() if can_change else None),
            # where a reply goes, or why it cannot be e-mailed
            "reply_refusal": mail.reply_refusal(ticket) if can_change else None,
            "reply_address": mail.reply_address(ticket) if can_change else "",
            "assign_form": assign_form
            or (AssignForm(user=user, ticket=ticket) if can_assign else None),
            "status_actions": [
                (value, label) for value, label in STATUS_ACTIONS.items() if value in moves
            ]
            if can_change
            else [],
            "history": _history(ticket),
            "children": list(
                Ticket.objects.restrict(user, Action.VIEW).filter(parent=ticket).order_by("-id")
            ),
        },
        status=status,
    )


@login_required
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _ticket_for(request.user, pk))


@login_required
@require_POST
def ticket_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge this ticket into the one numbered in the form (both must be the user's to
    change; a number they may not see reads as not found)."""
    user = request.user
    ticket = _ticket_for(user, pk, Action.CHANGE)
    number = request.POST.get("into", "").strip().lstrip("#")
    into = (
        Ticket.objects.restrict(user, Action.CHANGE).filter(pk=int(number)).first()
        if number.isdigit()
        else None
    )
    if into is None:
        messages.error(request, _("No ticket %(number)s you may change.") % {"number": number})
        return redirect("service:ticket_detail", pk=ticket.pk)
    kept, ok = _message_call(
        request, merge_services.ticket_merge, actor=user, ticket=ticket, into=into
    )
    if ok:
        messages.success(request, _("Merged into %(number)s.") % {"number": kept.number})
        return redirect("service:ticket_detail", pk=kept.pk)
    return redirect("service:ticket_detail", pk=ticket.pk)


@login_required
@require_POST
def ticket_split(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    ticket = _ticket_for(user, pk, Action.CHANGE)
    message_id = request.POST.get("message", "")
    message = (
        TicketMessage.objects.filter(ticket=ticket, pk=int(message_id)).first()
        if message_id.isdigit()
        else None
    )
    if message is None:
        raise Http404()
    new, ok = _message_call(
        request, merge_services.ticket_split, actor=user, ticket=ticket, message=message
    )
    if ok:
        messages.success(request, _("%(number)s made of the message.") % {"number": new.number})
        return redirect("service:ticket_detail", pk=new.pk)
    return redirect("service:ticket_detail", pk=ticket.pk)


@login_required
def ticket_attachment(request: HttpRequest, pk: int) -> HttpResponse:
    """Serve a file of a ticket's conversation to someone who may see the ticket (an audited
    read); never inline as a page of ours."""
    attachment = TicketAttachment.objects.select_related("message__ticket").filter(pk=pk).first()
    if attachment is None:
        raise Http404()
    _ticket_for(request.user, attachment.message.ticket_id)
    ticket_services.ticket_attachment_downloaded(actor=request.user, attachment=attachment)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=request.GET.get("inline") != "1"
        or not attachment.content_type.startswith(("image/", "application/pdf")),
        filename=attachment.name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def ticket_message(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    ticket = _ticket_for(user, pk, Action.CHANGE)
    form = MessageForm(request.POST, request.FILES)
    if form.is_valid() and _call(
        form,
        ticket_services.ticket_message_add,
        actor=user,
        ticket=ticket,
        kind=form.cleaned_data["kind"],
        body=form.cleaned_data["body"],
        uploads=form.cleaned_data["attachments"],
    ):
        done = (
            _("Reply added.")
            if form.cleaned_data["kind"] == MessageKind.REPLY
            else _("Internal note added.")
        )
        messages.success(request, done)
        return redirect("service:ticket_detail", pk=ticket.pk)
    return _detail(request, _ticket_for(user, pk), message_form=form, status=400)


@login_required
@require_POST
def ticket_status(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    ticket = _ticket_for(user, pk, Action.CHANGE)
    _done, ok = _message_call(
        request,
        ticket_services.ticket_set_status,
        actor=user,
        ticket=ticket,
        status=request.POST.get("status", ""),
    )
    if ok:
        messages.success(request, _("Status changed."))
    return redirect("service:ticket_detail", pk=ticket.pk)


@login_required
@require_POST
def ticket_assign(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    ticket = _ticket_for(user, pk, Action.ASSIGN)
    form = AssignForm(request.POST, user=user, ticket=ticket)
    if form.is_valid() and _call(
        form, ticket_services.ticket_assign, actor=user, ticket=ticket, **form.service_values()
    ):
        messages.success(request, _("Saved."))
        return redirect("service:ticket_detail", pk=ticket.pk)
    return _detail(request, _ticket_for(user, pk), assign_form=form, status=400)


@login_required
@require_POST
def ticket_take(request: HttpRequest, pk: int) -> HttpResponse:
    """Take a ticket from the queue: it becomes the user's."""
    user = request.user
    ticket = _ticket_for(user, pk, Action.ASSIGN)
    _done, ok = _message_call(
        request, ticket_services.ticket_assign, actor=user, ticket=ticket, assignee=user
    )
    if ok:
        messages.success(request, _("The ticket is yours."))
    return redirect("service:ticket_detail", pk=ticket.pk)


@login_required
def ticket_board(request: HttpRequest) -> HttpResponse:
    """The manager's board: open tickets the user may see, per person and per unassigned
    queue, with how many are due soon, missed or waiting on the customer (one grouped
    query each)."""
    user = request.user
    _require_grant(user, Action.VIEW)
    tickets = Ticket.objects.restrict(user, Action.VIEW).filter(status__in=OPEN_STATUSES)
    missed = Q(first_response_breached=True, first_response_at__isnull=True) | Q(
        resolution_breached=True, sla_paused_at__isnull=True
    )
    soon = (
        Q(first_response_warned=True, first_response_at__isnull=True)
        | Q(resolution_warned=True, sla_paused_at__isnull=True)
    ) & ~missed
    counts = {
        "open": Count("id"),
        "urgent": Count("id", filter=Q(priority__in=["urgent", "high"])),
        "soon": Count("id", filter=soon),
        "missed": Count("id", filter=missed),
        "waiting": Count("id", filter=Q(sla_paused_at__isnull=False) | Q(status="pending")),
    }
    people = list(
        tickets.filter(assignee__isnull=False)
        .values("assignee")
        .annotate(**counts)
        .order_by("-missed", "-soon", "-open")
    )
    names = {
        person.pk: str(person)
        for person in User.objects.filter(pk__in=[row["assignee"] for row in people])
    }
    profiles = {
        profile.user_id: profile
        for profile in AgentProfile.objects.filter(user_id__in=[row["assignee"] for row in people])
    }
    now = timezone.now()
    for row in people:
        row["name"] = names.get(row["assignee"], "")
        profile = profiles.get(row["assignee"])
        row["available"] = (
            profile is None
            or profile.available
            or (profile.away_until is not None and profile.away_until <= now)
        )
        row["away_until"] = None if row["available"] else profile.away_until
    queues = list(
        tickets.filter(assignee__isnull=True)
        .values("team", "team__name")
        .annotate(**counts)
        .order_by("-missed", "-soon", "-open")
    )
    assigning = set(
        QueueSettings.objects.filter(team__in=[row["team"] for row in queues if row["team"]])
        .exclude(auto_assign=AutoAssign.OFF)
        .values_list("team_id", flat=True)
    )
    can_hand_out = policy.has_grant(user, TICKET, Action.ASSIGN)
    for row in queues:
        row["can_hand_out"] = can_hand_out and row["team"] in assigning
    # every open ticket is someone's or a queue's: the totals are the rows' sums
    totals = {key: sum(row[key] for row in people + queues) for key in counts}
    return render(
        request,
        "service/tickets/ticket_board.html",
        {
            "people": people,
            "queues": queues,
            "totals": totals,
            "availability": assignment.availability_of(user),
        },
    )
