"""What people may filter tickets on, in the one filter language (`rapport.core.filterlang`):
automation rule conditions, saved views. Field rules apply as for customers' records."""

from __future__ import annotations

from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from rapport.core import filterlang as fl

from .models import Ticket, TicketChannel, TicketKind, TicketPriority, TicketStatus


def _label(name: str):
    return capfirst(Ticket._meta.get_field(name).verbose_name)


def _choices(choices) -> tuple:
    return tuple((value, label) for value, label in choices.choices)


def ticket_fields() -> list[fl.FilterField]:
    return [
        fl.FilterField("subject", _label("subject"), fl.TEXT),
        fl.FilterField("status", _label("status"), fl.CHOICE, choices=_choices(TicketStatus)),
        fl.FilterField("priority", _label("priority"), fl.CHOICE, choices=_choices(TicketPriority)),
        fl.FilterField("kind", _label("kind"), fl.CHOICE, choices=_choices(TicketKind)),
        fl.FilterField("channel", _label("channel"), fl.CHOICE, choices=_choices(TicketChannel)),
        fl.FilterField("category", _label("category"), fl.NUMBER, path="category_id"),
        fl.FilterField("team", _label("team"), fl.NUMBER, path="team_id"),
        fl.FilterField("assignee", _label("assignee"), fl.USER, path="assignee_id"),
        fl.FilterField("account", _label("account"), fl.NUMBER, path="account_id"),
        fl.FilterField("contact", _label("contact"), fl.NUMBER, path="contact_id"),
        fl.FilterField("tier", _("Customer tier"), fl.TEXT, path="account__tier"),
        fl.FilterField("created_at", _label("created_at"), fl.DATETIME),
        fl.FilterField("first_response_due_at", _label("first_response_due_at"), fl.DATETIME),
        fl.FilterField("resolution_due_at", _label("resolution_due_at"), fl.DATETIME),
        fl.FilterField("first_response_breached", _label("first_response_breached"), fl.BOOL),
        fl.FilterField("resolution_breached", _label("resolution_breached"), fl.BOOL),
    ]


def register() -> None:
    from rapport.customers.filtering import with_field_rules

    def provider(user):
        return with_field_rules(user, Ticket.security_type, ticket_fields())

    fl.register_fields(Ticket.security_type, provider)
