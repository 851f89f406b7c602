from functools import partial

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _all_options(field: str) -> list[tuple[str, str]]:
    from .options import options

    return [(item.code, item.display_label) for item in options(field)]


def _ensure_default_options(sender, using="default", **kwargs) -> None:
    from .options import ensure_defaults

    ensure_defaults(using)


class CustomersConfig(AppConfig):
    name = "rapport.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from rapport.core.tags import registry as tag_registry
        from rapport.identity import policy

        from . import (
            filtering,
            search,  # noqa: F401  (registers accounts and contacts for search)
        )

        filtering.register()
        from . import notifications

        notifications.register()  # task reminders and assignments as notifications
        from .models import Account, Contact

        tag_registry.register(Account)
        tag_registry.register(Contact)
        from rapport.core.customfields import registry as custom_field_registry

        from .models import Interaction

        for model in (Account, Contact, Interaction):
            custom_field_registry.register(model)
        from . import custom_columns

        custom_columns.register()
        from . import imports

        imports.register()  # accounts, contacts and interactions in the import wizard

        actions = ["view", "add", "change", "delete", "export", "import", "assign"]
        policy.register(
            "customers.account",
            label=_("accounts"),
            actions=actions,
            fields=["credit_code", "phone", "address", "website"],
            conditions=["province", "city", "tier", "industry", "lifecycle_stage"],
            condition_choices={
                field: partial(_all_options, field) for field in ("tier", "lifecycle_stage")
            },
        )
        policy.register(
            "customers.contact",
            label=_("contacts"),
            actions=actions,
            fields=["phones", "emails", "id_number", "title"],
        )
        policy.register(
            "customers.interaction",
            label=_("interactions and tasks"),
            actions=["view", "add", "change", "delete", "assign", "import"],
            fields=["body"],
        )
        # Administrators configure the tiers and lifecycle stages accounts may take.
        policy.register(
            "customers.accountoption",
            label=_("tiers and lifecycle stages"),
            actions=["manage"],
        )
        post_migrate.connect(_ensure_default_options, sender=self)
