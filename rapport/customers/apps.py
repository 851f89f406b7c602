from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "rapport.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from rapport.identity import policy

        actions = ["view", "add", "change", "delete", "export", "import", "assign"]
        policy.register(
            "customers.account",
            label=_("accounts"),
            actions=actions,
            fields=["credit_code", "phone", "address", "website"],
            conditions=["province", "city", "tier", "industry", "lifecycle_stage"],
        )
        policy.register(
            "customers.contact",
            label=_("contacts"),
            actions=actions,
            fields=["phones", "emails", "title"],
        )
