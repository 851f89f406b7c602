"""Quotes: priced offers to an account, in versions, approved when the discount is high."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.core.models import OwnedModel
from rapport.identity.querysets import RestrictedManager

from .common import PERCENT, PricedLine, currency_field, money_field, priced_line_constraints


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    SUPERSEDED = "superseded", _("Replaced by a newer version")


class Quote(OwnedModel):
    """An offer: lines from the catalogue, discounts per line and overall, VAT, validity.
    A changed offer is a new version (same number, `version` + 1); the older one is
    superseded. Totals are stored as computed by `rapport.sales.pricing`."""

    security_type = "sales.quote"
    shareable = True

    number = models.CharField(_("number"), max_length=30)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    previous = models.ForeignKey(
        "self",
        verbose_name=_("previous version"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="quotes",
    )
    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="quotes",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="quotes",
    )
    price_list = models.ForeignKey(
        "sales.PriceList",
        verbose_name=_("price list"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    currency = currency_field()
    language = models.CharField(
        _("language of the document"), max_length=10, choices=settings.LANGUAGES, default="zh-hans"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=QuoteStatus, default=QuoteStatus.DRAFT
    )
    issue_date = models.DateField(_("date"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    discount_percent = models.DecimalField(_("overall discount (%)"), **PERCENT, default=0)
    subtotal = money_field(_("subtotal"))  # lines' net amounts, before the overall discount
    discount_total = money_field(_("discount"))  # every discount, lines' and overall
    # the whole discount as a share of the undiscounted price: what approval is about
    effective_discount_percent = models.DecimalField(
        _("effective discount (%)"), **PERCENT, default=0
    )
    tax_total = money_field(_("tax"))
    total = money_field(_("total"))
    terms = models.TextField(_("terms"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    declined_reason = models.CharField(_("reason declined"), max_length=300, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        constraints = [
            models.UniqueConstraint(fields=["number", "version"], name="sales_quote_number_unique"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100),
                name="sales_quote_discount_range",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "-id"], name="quote_owner_idx"),
            models.Index(fields=["account", "-id"], name="quote_account_idx"),
            models.Index(fields=["opportunity", "-id"], name="quote_opportunity_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} v{self.version}" if self.version > 1 else self.number


class QuoteLine(PricedLine):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")

    class Meta:
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        ordering = ["quote", "position", "id"]
        constraints = priced_line_constraints("sales_quote_line")
