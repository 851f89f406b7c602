"""The catalogue: product categories (a tree), products and their variants, tax rates and
price lists per customer tier, region or currency with validity dates."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.core.models import BilingualNameMixin, TimeStampedModel
from rapport.identity.querysets import RestrictedManager

from .common import MONEY, PERCENT, QUANTITY, currency_field


class ProductCategory(BilingualNameMixin, TimeStampedModel):
    """A node of the category tree. `path` ("/1/4/9/") makes "this category and below" one
    indexed LIKE, as for departments."""

    security_type = "sales.product"

    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    path = models.CharField(max_length=500, db_index=True, editable=False, default="/")
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def depth(self) -> int:
        return max(0, self.path.count("/") - 2)


class TaxRate(BilingualNameMixin, TimeStampedModel):
    """A VAT rate (China: 13 % goods, 9 %, 6 % services, 0 %)."""

    security_type = "sales.product"

    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    rate = models.DecimalField(_("rate (%)"), **PERCENT)
    is_default = models.BooleanField(_("default"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("tax rate")
        verbose_name_plural = _("tax rates")
        ordering = ["-rate", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="sales_tax_one_default"
            ),
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=100), name="sales_tax_rate_range"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class Product(BilingualNameMixin, TimeStampedModel):
    """Something sold: a stocked good or a service. A variant (size, colour) is a product
    with its own SKU whose `parent` is the product it varies."""

    security_type = "sales.product"

    sku = models.CharField(_("SKU"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    category = models.ForeignKey(
        ProductCategory,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="products",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("variant of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="variants",
    )
    # {"颜色": "红", "尺寸": "L"} for a variant
    variant_attributes = models.JSONField(_("variant attributes"), default=dict, blank=True)
    unit = models.CharField(_("unit"), max_length=20, default="个")
    description = models.TextField(_("description"), blank=True)
    list_price = models.DecimalField(_("list price"), **MONEY, default=0)
    currency = currency_field()
    tax_rate = models.ForeignKey(
        TaxRate,
        verbose_name=_("tax rate"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # services and other untracked products never touch stock
    track_inventory = models.BooleanField(_("track stock"), default=True)
    allow_backorder = models.BooleanField(_("may be ordered beyond the stock"), default=False)
    low_stock_threshold = models.DecimalField(
        _("low-stock alert at"), **QUANTITY, null=True, blank=True
    )
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["sku"]
        indexes = [
            models.Index(fields=["category", "sku"], name="product_category_idx"),
            models.Index(fields=["name", "id"], name="product_name_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(list_price__gte=0), name="sales_product_price_gte0")
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.display_name}"


class PriceList(BilingualNameMixin, TimeStampedModel):
    """Prices for some customers: those of a tier, a region (province) or both, in one
    currency, valid between two dates (open-ended when blank). Two active lists for the same
    tier, region and currency may not overlap in time; the most specific list in force
    prices a line, else the product's list price."""

    security_type = "sales.product"

    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    currency = currency_field()
    tier = models.CharField(_("customer tier"), max_length=20, blank=True)
    province = models.CharField(_("province"), max_length=30, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gte=models.F("valid_from")),
                name="sales_price_list_dates",
            )
        ]

    def __str__(self) -> str:
        return self.display_name


class PriceListItem(models.Model):
    """A product's unit price in a price list, from a minimum quantity up (volume breaks)."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    min_quantity = models.DecimalField(_("from quantity"), **QUANTITY, default=1)
    unit_price = models.DecimalField(_("unit price"), **MONEY)

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        ordering = ["price_list", "product", "min_quantity"]
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "product", "min_quantity"], name="sales_price_item_unique"
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="sales_price_gte0"),
        ]

    def __str__(self) -> str:
        return f"{self.price_list_id}/{self.product_id} ≥{self.min_quantity}"
