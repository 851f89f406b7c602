"""Tickets in the one search index (`rapport.core.search`): found by subject, description,
number, and their customer's name, in Chinese or pinyin, restricted like every read."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from rapport.core import search
from rapport.identity.models import User

from .models import Ticket


def ticket_document(ticket: Ticket) -> search.Document:
    customer = [
        ticket.account.name if ticket.account else "",
        ticket.contact.name if ticket.contact else "",
    ]
    return search.Document(
        title=ticket.subject,
        subtitle=" · ".join(part for part in [ticket.number, *customer] if part),
        texts=[str(ticket.pk), ticket.description[:2000], *customer],
    )


def tickets_for_indexing(tickets: QuerySet) -> QuerySet:
    return tickets.select_related("account", "contact")


def tickets_for_display(user: User, tickets: QuerySet) -> QuerySet:
    return tickets.select_related("account")


def present_ticket(user: User, ticket: Ticket) -> search.Hit:
    return search.Hit(
        id=ticket.pk,
        title=f"{ticket.number} {ticket.subject}",
        subtitle=" · ".join(
            part
            for part in [ticket.get_status_display(), ticket.account.name if ticket.account else ""]
            if part
        ),
        url=reverse("service:ticket_detail", args=[ticket.pk]),
    )


def register() -> None:
    search.register(
        Ticket.security_type,
        model=Ticket,
        document=ticket_document,
        label=_("Tickets"),
        for_indexing=tickets_for_indexing,
        for_display=tickets_for_display,
        present=present_ticket,
    )
