"""Notifications about tickets, through the one mechanism in `rapport.core.notifications`;
the ticket services call these inside their own transactions."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from rapport.core.notifications import registry
from rapport.core.notifications.services import notify

ASSIGNED = "service.ticket_assigned"


def register() -> None:
    registry.register(
        ASSIGNED, _("%(actor)s gave you ticket %(number)s: “%(subject)s”."), email=True
    )


def ticket_assigned(*, actor, ticket) -> None:
    """Tell the assignee that `actor` gave them `ticket` (nothing when they took it)."""
    if ticket.assignee_id is None or ticket.assignee_id == actor.pk:
        return
    notify(
        recipient=ticket.assignee,
        kind="ticket.assigned",
        message_key=ASSIGNED,
        params={"actor": str(actor), "number": ticket.number, "subject": ticket.subject},
        target=ticket,
        url=reverse("service:ticket_detail", args=[ticket.pk]),
    )
