"""Tickets as an automatable record type, with their services (the service app cannot import
automation; automation registers it when it loads). Escalation is rules, not a second engine:
"when a ticket's SLA is breached, give it to the team lead's round robin and notify the
manager" is a rule on the `ticket.sla_breached` event."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from . import registry

TICKET_UPDATABLE = ("subject", "priority", "kind", "category")


def register() -> None:
    from rapport.service import services
    from rapport.service.models import Ticket

    def update(actor, record, values):
        return services.ticket_update(actor=actor, ticket=record, **values)

    def assign(actor, record, owner):
        return services.ticket_assign(actor=actor, ticket=record, assignee=owner)

    def contacts(ticket):
        from rapport.customers.models import Contact

        return Contact.objects.filter(pk=ticket.contact_id, is_active=True)

    registry.register(
        Ticket.security_type,
        model=Ticket,
        label=_("tickets"),
        noun=_("ticket"),
        update=update,
        assign=assign,
        owner_field="assignee",
        updatable=TICKET_UPDATABLE,
        task_about=lambda ticket: {
            key: value
            for key, value in (("account", ticket.account), ("contact", ticket.contact))
            if value is not None
        },
        date_fields=("created_at", "first_response_due_at", "resolution_due_at"),
        contacts=contacts,
    )
    registry.register_topic("ticket.sla_warning", _("Ticket SLA due soon"), Ticket.security_type)
    registry.register_topic("ticket.sla_breached", _("Ticket SLA missed"), Ticket.security_type)
    registry.register_topic(
        "ticket.status_changed", _("Ticket status changed"), Ticket.security_type
    )
    registry.register_topic("ticket.message_added", _("Ticket message added"), Ticket.security_type)
