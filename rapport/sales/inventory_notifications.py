"""Notifications about stock, through the one mechanism in `rapport.core.notifications`;
the inventory services call these inside their own transactions."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from rapport.core.notifications import registry
from rapport.core.notifications.services import notify

LOW_STOCK = "sales.low_stock"


def register() -> None:
    registry.register(
        LOW_STOCK,
        _(
            "Low stock: %(product)s in %(warehouse)s is down to %(on_hand)s "
            "(alert at %(threshold)s)."
        ),
        email=True,
    )


def _stock_url(level) -> str:
    try:
        return reverse("sales:stock_list") + f"?product={level.product_id}"
    except NoReverseMatch:
        return ""


def low_stock(*, level, recipients) -> None:
    """Tell each of `recipients` (the stock managers) that `level` fell to or below its
    product's threshold; once per alert, whoever calls twice."""
    from .services.inventory import quantity_text

    product = level.product
    stamp = level.low_stock_alerted_at.timestamp() if level.low_stock_alerted_at else 0
    for recipient in recipients:
        notify(
            recipient=recipient,
            kind="stock.low",
            message_key=LOW_STOCK,
            params={
                "product": f"{product.sku} {product.name}",
                "warehouse": level.warehouse.name,
                "on_hand": quantity_text(level.on_hand),
                "threshold": quantity_text(product.low_stock_threshold),
            },
            target=product,
            url=_stock_url(level),
            idempotency_key=f"sales.low_stock:{level.pk}:{stamp}:{recipient.pk}",
        )
