from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "rapport.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from rapport.identity import policy

        policy.register(
            "sales.lead",
            label=_("leads"),
            actions=["view", "add", "change", "delete", "assign", "import", "export"],
            fields=["phone", "email"],
            conditions=["source", "status", "province", "industry"],
        )
        policy.register("sales.leadpool", label=_("lead pools and assignment"), actions=["manage"])
        policy.register(
            "sales.opportunity",
            label=_("opportunities"),
            actions=["view", "add", "change", "delete", "assign", "export"],
            conditions=["status", "forecast_category"],
        )
        policy.register("sales.pipeline", label=_("pipelines and stages"), actions=["manage"])
        policy.register(
            "sales.product", label=_("products and price lists"), actions=["view", "manage"]
        )
        policy.register(
            "sales.inventory", label=_("warehouses and stock"), actions=["view", "change", "manage"]
        )
        policy.register(
            "sales.quote",
            label=_("quotes"),
            actions=["view", "add", "change", "delete", "export"],
        )
        policy.register(
            "sales.order",
            label=_("orders"),
            actions=["view", "add", "change", "export"],
            conditions=["status"],
        )
        policy.register(
            "sales.contract", label=_("contracts"), actions=["view", "add", "change", "export"]
        )
        policy.register(
            "sales.invoice",
            label=_("invoices and payments"),
            actions=["view", "add", "change", "export"],
        )
        policy.register("sales.target", label=_("sales targets"), actions=["view", "manage"])
        policy.register("sales.settings", label=_("sales settings"), actions=["manage"])
        self._ready_leads()
        from . import pipeline_ready

        pipeline_ready.ready(self)  # pipelines: default pipeline, 360 card, search, filters
        from . import catalogue_ready

        catalogue_ready.ready(self)  # catalogue and inventory: defaults, notifications, search
        from . import quote_ready

        quote_ready.ready(self)  # quotes: filters, approval outcome, search, 360 card, expiry
        from . import order_ready

        order_ready.ready(self)  # orders, invoices, contracts: 360 cards, search, renewals

    def _ready_leads(self) -> None:
        from django.db.models.signals import post_migrate

        from . import (
            lead_filtering,
            lead_imports,
            lead_intake,
            lead_notifications,
            lead_search,
            lead_tasks,
        )

        lead_filtering.register()  # lead fields for assignment and automation conditions
        lead_imports.register()  # leads in the import wizard
        lead_notifications.register()
        lead_search.register()
        post_migrate.connect(lead_intake.ensure, sender=self)
        post_migrate.connect(lead_tasks.schedule, sender=self)
