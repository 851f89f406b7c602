"""The "Tickets" card of the account and contact 360 pages: the customer's latest tickets the
reader may see (restricted like every read), how many are open, and "New ticket" with the
customer filled in."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from rapport.identity import policy
from rapport.identity.models import Action

from .models import OPEN_STATUSES, Ticket

SHOWN = 5


def render_tickets(request: HttpRequest, record: Any) -> str:
    user = request.user
    if not policy.has_grant(user, Ticket.security_type, Action.VIEW):
        return ""
    field = "account" if record.security_type == "customers.account" else "contact"
    tickets = Ticket.objects.restrict(user, Action.VIEW).filter(**{field: record})
    latest = list(tickets.select_related("assignee").order_by("-id")[:SHOWN])
    can_add = policy.has_grant(user, Ticket.security_type, Action.ADD)
    if not latest and not can_add:
        return ""
    return render_to_string(
        "service/tickets/_panel.html",
        {
            "tickets": latest,
            "open_count": tickets.filter(status__in=OPEN_STATUSES).count(),
            "can_add": can_add,
            "field": field,
            "record": record,
        },
        request=request,
    )


def register() -> None:
    from rapport.customers.detail_views import Panel, register_panel
    from rapport.customers.models import Account, Contact

    for model in (Account, Contact):
        register_panel(
            model.security_type,
            Panel(key="tickets", title=_("Tickets"), render=render_tickets, order=150),
        )
