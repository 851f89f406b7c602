"""Accounts, contacts and interactions as automatable record types, with their services.
(Customers cannot import automation; automation registers them when it loads.)"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import registry

ACCOUNT_UPDATABLE = (
    "name",
    "short_name",
    "industry",
    "province",
    "city",
    "address",
    "phone",
    "website",
    "tier",
    "lifecycle_stage",
)


def _account_value(field: str, value: Any) -> str | None:
    from rapport.customers import options

    if field in ("tier", "lifecycle_stage") and not options.is_active_code(field, str(value)):
        offered = ", ".join(code for code, _label in options.choices(field))
        return gettext("“%(value)s” is not an active option; choose one of: %(choices)s.") % {
            "value": value,
            "choices": offered,
        }
    return None


def register() -> None:
    from rapport.customers import services
    from rapport.customers.models import Account, Contact, Interaction

    def assign(actor, record, owner):
        return services.record_assign(actor=actor, record=record, owner=owner)

    registry.register(
        Account.security_type,
        model=Account,
        label=_("accounts"),
        noun=_("account"),
        update=lambda actor, record, values: services.account_update(
            actor=actor, account=record, **values
        ),
        assign=assign,
        updatable=ACCOUNT_UPDATABLE,
        stage_field="lifecycle_stage",
        taggable=True,
        task_about=lambda account: {"account": account},
        check_value=_account_value,
        date_fields=("created_at",),
        contacts=lambda account: Contact.objects.filter(accounts=account, is_active=True),
    )
    registry.register(
        Contact.security_type,
        model=Contact,
        label=_("contacts"),
        noun=_("contact"),
        update=lambda actor, record, values: services.contact_update(
            actor=actor, contact=record, **values
        ),
        assign=assign,
        updatable=("name", "title"),
        taggable=True,
        task_about=lambda contact: {"contact": contact},
        date_fields=("created_at",),
        contacts=lambda contact: Contact.objects.filter(pk=contact.pk, is_active=True),
    )
    registry.register(
        Interaction.security_type,
        model=Interaction,
        label=_("interactions and tasks"),
        noun=_("interaction"),
        update=lambda actor, record, values: services.interaction_update(
            actor=actor, interaction=record, **values
        ),
        assign=assign,
        updatable=("subject", "priority", "next_step"),
        task_about=lambda interaction: {
            key: value
            for key, value in (("account", interaction.account), ("contact", interaction.contact))
            if value is not None
        },
        date_fields=("due_at", "occurred_at", "created_at"),
        contacts=_interaction_contacts,
    )
    registry.register_topic("consent.changed", _("Consent changed"), Contact.security_type)
    registry.register_topic("task.completed", _("Task completed"), Interaction.security_type)
    registry.register_topic("task.reminder_due", _("Task reminder due"), Interaction.security_type)


def _interaction_contacts(interaction):
    """The interaction's contact, or else the contacts of its account."""
    from rapport.customers.models import Contact

    if interaction.contact_id:
        return Contact.objects.filter(pk=interaction.contact_id, is_active=True)
    return Contact.objects.filter(accounts=interaction.account_id, is_active=True)
