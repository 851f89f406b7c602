"""Stock per warehouse, every movement of it, and the reservations confirmed orders hold."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.core.models import BilingualNameMixin, TimeStampedModel

from .common import QUANTITY


class Warehouse(BilingualNameMixin, TimeStampedModel):
    security_type = "sales.inventory"

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        ordering = ["-is_default", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="sales_warehouse_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.display_name


class StockLevel(models.Model):
    """What a warehouse holds of a product and how much of it confirmed orders have reserved.
    Changed only by the inventory services, under a row lock, together with a movement."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock")
    product = models.ForeignKey("sales.Product", on_delete=models.PROTECT, related_name="stock")
    on_hand = models.DecimalField(_("on hand"), **QUANTITY, default=0)
    reserved = models.DecimalField(_("reserved"), **QUANTITY, default=0)
    low_stock_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        ordering = ["warehouse", "product"]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "product"], name="sales_stock_unique"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="sales_stock_reserved_gte0"),
        ]

    def __str__(self) -> str:
        return f"{self.warehouse_id}/{self.product_id}: {self.on_hand}"

    @property
    def available(self):
        return self.on_hand - self.reserved


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", _("Goods received")
    SHIPMENT = "shipment", _("Shipped to a customer")
    RETURN = "return", _("Returned by a customer")
    ADJUSTMENT = "adjustment", _("Stock count adjustment")
    TRANSFER_OUT = "transfer_out", _("Transfer out")
    TRANSFER_IN = "transfer_in", _("Transfer in")


class StockMovement(models.Model):
    """One change of a stock level (signed quantity), never edited: the stock's history."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="movements")
    product = models.ForeignKey("sales.Product", on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(_("type"), max_length=20, choices=MovementKind)
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    on_hand_after = models.DecimalField(_("on hand after"), **QUANTITY)
    order = models.ForeignKey(
        "sales.Order",
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="movements",
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["product", "warehouse", "-id"], name="stock_movement_product_idx")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity}"


class ReservationState(models.TextChoices):
    ACTIVE = "active", _("Reserved")
    SHIPPED = "shipped", _("Shipped")
    RELEASED = "released", _("Released")


class StockReservation(models.Model):
    """Stock an order line holds from confirmation until it ships (or is cancelled)."""

    order_line = models.ForeignKey(
        "sales.OrderLine", on_delete=models.PROTECT, related_name="reservations"
    )
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey("sales.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    state = models.CharField(
        _("state"), max_length=10, choices=ReservationState, default=ReservationState.ACTIVE
    )
    created_at = models.DateTimeField(_("reserved at"), auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order_line", "warehouse"],
                condition=Q(state="active"),
                name="sales_reservation_one_active",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="sales_reservation_gt0"),
        ]

    def __str__(self) -> str:
        return f"{self.order_line_id}: {self.quantity} ({self.state})"
