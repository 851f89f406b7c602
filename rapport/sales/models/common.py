"""Sales-wide settings and gapless document numbers."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from rapport.core.models import TimeStampedModel

# Money is Decimal with its currency, never a float: 18 digits, 2 decimals (up to 10^16 CNY).
MONEY = {"max_digits": 18, "decimal_places": 2}
# Quantities allow fractions (2.5 kg, 1.5 hours).
QUANTITY = {"max_digits": 14, "decimal_places": 3}
# Percentages (discounts, tax rates, probabilities where fractional) to two decimals.
PERCENT = {"max_digits": 5, "decimal_places": 2}
DEFAULT_CURRENCY = "CNY"
ZERO = Decimal("0")


def money_field(verbose_name, **options) -> models.DecimalField:
    options.setdefault("default", ZERO)
    return models.DecimalField(verbose_name, **MONEY, **options)


def currency_field(verbose_name=None) -> models.CharField:
    return models.CharField(verbose_name or _("currency"), max_length=3, default=DEFAULT_CURRENCY)


class SalesSettings(TimeStampedModel):
    """One row: the company's letterhead on quotes and invoices and the sales defaults."""

    security_type = "sales.settings"

    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    company_name_en = models.CharField(_("English company name"), max_length=200, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    address_en = models.CharField(_("English address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    website = models.URLField(_("website"), blank=True)
    tax_number = models.CharField(_("taxpayer identification number"), max_length=30, blank=True)
    bank_name = models.CharField(_("bank"), max_length=120, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=60, blank=True)
    logo = models.ImageField(_("logo"), upload_to="sales/letterhead/", blank=True)
    default_currency = currency_field(_("default currency"))
    quote_valid_days = models.PositiveSmallIntegerField(_("quotes valid for (days)"), default=30)
    # A quote whose effective discount is above this needs approval (an approval process
    # on quotes; the default one goes to the rep's manager).
    discount_approval_percent = models.DecimalField(
        _("discounts above this need approval (%)"), **PERCENT, default=Decimal("10")
    )
    invoice_due_days = models.PositiveSmallIntegerField(_("invoices due after (days)"), default=30)
    allow_backorders = models.BooleanField(
        _("allow orders beyond the stock (back-orders)"), default=False
    )
    quote_terms = models.TextField(_("quote terms"), blank=True)
    quote_terms_en = models.TextField(_("English quote terms"), blank=True)

    class Meta:
        verbose_name = _("sales settings")
        verbose_name_plural = _("sales settings")

    def __str__(self) -> str:
        return str(_("sales settings"))


class DocumentSequence(models.Model):
    """The last number given per kind of document and year, taken under a row lock so that
    numbers are gapless and unique (Q2026-000001, SO2026-000001, INV2026-000001 …)."""

    kind = models.CharField(max_length=20)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "year"], name="sales_sequence_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind}{self.year}:{self.last}"


class PricedLine(models.Model):
    """The shape every priced line shares (quote, order and invoice lines): quantity × unit
    price, less the line's discount, plus its tax. The amounts are stored as computed by
    `rapport.sales.pricing` when the line is written, rounded half-up to the cent."""

    position = models.PositiveIntegerField(_("position"), default=0)
    product = models.ForeignKey(
        "sales.Product",
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(_("quantity"), **QUANTITY, default=1)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    discount_percent = models.DecimalField(_("discount (%)"), **PERCENT, default=0)
    tax_percent = models.DecimalField(_("tax rate (%)"), **PERCENT, default=0)
    net_amount = money_field(_("net amount"))
    tax_amount = money_field(_("tax"))
    total_amount = money_field(_("total"))

    class Meta:
        abstract = True
        constraints = []

    def __str__(self) -> str:
        return self.description


def priced_line_constraints(prefix: str) -> list[models.CheckConstraint]:
    """Money and stock never drift: the database itself refuses a negative quantity or
    price and a discount outside 0–100 %."""
    return [
        models.CheckConstraint(condition=models.Q(quantity__gt=0), name=f"{prefix}_quantity_gt0"),
        models.CheckConstraint(condition=models.Q(unit_price__gte=0), name=f"{prefix}_price_gte0"),
        models.CheckConstraint(
            condition=models.Q(discount_percent__gte=0) & models.Q(discount_percent__lte=100),
            name=f"{prefix}_discount_range",
        ),
    ]
