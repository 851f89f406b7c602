"""What the catalogue and inventory areas set up when the sales app loads: the default tax
rates and warehouse after `migrate`, the low-stock notification, product search."""

from __future__ import annotations

from django.apps import AppConfig


def ready(app_config: AppConfig) -> None:
    from django.db.models.signals import post_migrate

    from . import catalogue_search, inventory_notifications
    from .services import catalogue, inventory

    inventory_notifications.register()
    catalogue_search.register()
    post_migrate.connect(catalogue.ensure_default_tax_rates, sender=app_config)
    post_migrate.connect(inventory.ensure_default_warehouse, sender=app_config)
