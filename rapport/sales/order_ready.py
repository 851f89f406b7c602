"""What the sales app registers for orders, invoices and contracts when it loads
(`SalesConfig.ready`)."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def ready(app_config: AppConfig) -> None:
    from django.db.models.signals import post_migrate

    from rapport.core.notifications import registry

    from . import order_panels, order_search, order_tasks
    from .services.contracts import RENEWAL_DUE

    registry.register(
        RENEWAL_DUE,
        _("Contract %(number)s “%(title)s” with %(account)s ends on %(end_date)s."),
        email=True,
    )
    order_panels.register()  # the account 360 page's "Orders and invoices" and "Contracts"
    order_search.register()
    post_migrate.connect(order_tasks.schedule, sender=app_config)
