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
    )
