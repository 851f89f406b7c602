"""After the sale: orders and their lines, contracts, invoices and credit notes, payments."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from rapport.core.models import OwnedModel
from rapport.identity.querysets import RestrictedManager

from .common import (
    PERCENT,
    QUANTITY,
    PricedLine,
    currency_field,
    money_field,
    priced_line_constraints,
)


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    CONFIRMED = "confirmed", _("Confirmed")
    SHIPPED = "shipped", _("Shipped")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Order(OwnedModel):
    """A sales order. Confirming it reserves the stock of its tracked products in its
    warehouse; shipping turns the reservations into shipments (stock falls); cancelling a
    confirmed order releases them."""

    security_type = "sales.order"
    shareable = True

    number = models.CharField(_("number"), max_length=30, unique=True)
    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="orders",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
    )
    quote = models.ForeignKey(
        "sales.Quote",
        verbose_name=_("quote"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
    )
    warehouse = models.ForeignKey(
        "sales.Warehouse",
        verbose_name=_("ships from"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
    )
    currency = currency_field()
    status = models.CharField(
        _("status"), max_length=10, choices=OrderStatus, default=OrderStatus.DRAFT
    )
    order_date = models.DateField(_("order date"))
    discount_percent = models.DecimalField(_("overall discount (%)"), **PERCENT, default=0)
    subtotal = money_field(_("subtotal"))
    discount_total = money_field(_("discount"))
    tax_total = money_field(_("tax"))
    total = money_field(_("total"))
    # the sum of issued invoices less credit notes: an order is never invoiced beyond total
    invoiced_total = money_field(_("invoiced"))
    shipping_address = models.CharField(_("shipping address"), max_length=300, blank=True)
    customer_reference = models.CharField(_("customer's PO number"), max_length=60, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason cancelled"), max_length=300, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            # one order per accepted quote
            models.UniqueConstraint(
                fields=["quote"], condition=Q(quote__isnull=False), name="sales_order_one_per_quote"
            ),
            models.CheckConstraint(
                condition=Q(invoiced_total__lte=models.F("total")),
                name="sales_order_not_overinvoiced",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "-id"], name="order_owner_idx"),
            models.Index(fields=["account", "-id"], name="order_account_idx"),
            models.Index(fields=["status", "order_date"], name="order_status_date_idx"),
            # orders confirmed in a period (attainment)
            models.Index(fields=["confirmed_at"], name="order_confirmed_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(PricedLine):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    quantity_shipped = models.DecimalField(_("shipped"), **QUANTITY, default=0)
    quantity_invoiced = models.DecimalField(_("invoiced"), **QUANTITY, default=0)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order", "position", "id"]
        constraints = [
            *priced_line_constraints("sales_order_line"),
            models.CheckConstraint(
                condition=Q(quantity_invoiced__lte=models.F("quantity")),
                name="sales_order_line_not_overinvoiced",
            ),
        ]


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("In force")
    EXPIRED = "expired", _("Expired")
    TERMINATED = "terminated", _("Terminated")
    RENEWED = "renewed", _("Renewed")


class Contract(OwnedModel):
    """A signed agreement with an account: its term, value and renewal."""

    security_type = "sales.contract"
    shareable = True

    number = models.CharField(_("number"), max_length=30, unique=True)
    title = models.CharField(_("title"), max_length=200)
    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contracts",
    )
    order = models.ForeignKey(
        Order,
        verbose_name=_("order"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contracts",
    )
    renewal_of = models.ForeignKey(
        "self",
        verbose_name=_("renewal of"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="renewals",
    )
    status = models.CharField(
        _("status"), max_length=12, choices=ContractStatus, default=ContractStatus.DRAFT
    )
    value = money_field(_("value"))
    currency = currency_field()
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    auto_renew = models.BooleanField(_("renews automatically"), default=False)
    renewal_notice_days = models.PositiveSmallIntegerField(
        _("remind before the end (days)"), default=30
    )
    renewal_reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    terms = models.TextField(_("terms"), blank=True)
    terminated_at = models.DateTimeField(_("terminated at"), null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="sales_contract_dates",
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="sales_contract_value_gte0"),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "-id"], name="contract_owner_idx"),
            models.Index(fields=["account", "-id"], name="contract_account_idx"),
            models.Index(fields=["status", "end_date"], name="contract_end_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


def contract_file_path(attachment: ContractAttachment, filename: str) -> str:
    return f"sales/contracts/{attachment.contract_id}/{filename}"


class ContractAttachment(models.Model):
    """A contract's file (the signed scan, an annex), served only to those who see it."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(_("file"), upload_to=contract_file_path, max_length=200)
    name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("contract file")
        verbose_name_plural = _("contract files")

    def __str__(self) -> str:
        return self.name


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")
    PARTIALLY_PAID = "partially_paid", _("Partly paid")
    PAID = "paid", _("Paid")
    # credit notes took back all of it before anything was paid: nothing owed, nothing paid
    CREDITED = "credited", pgettext_lazy("invoice status", "Credited")
    CANCELLED = "cancelled", _("Cancelled")


class Invoice(OwnedModel):
    """An invoice for (part of) an order, or a credit note against an invoice (amounts
    positive, `kind` says which way they count). The owner is the order's owner, so reps see
    their customers' invoices; finance sees all."""

    security_type = "sales.invoice"

    number = models.CharField(_("number"), max_length=30, unique=True)
    kind = models.CharField(
        _("type"), max_length=12, choices=InvoiceKind, default=InvoiceKind.INVOICE
    )
    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="invoices"
    )
    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    credited_invoice = models.ForeignKey(
        "self",
        verbose_name=_("credits invoice"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=InvoiceStatus, default=InvoiceStatus.DRAFT
    )
    currency = currency_field()
    issue_date = models.DateField(_("issue date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    subtotal = money_field(_("subtotal"))
    tax_total = money_field(_("tax"))
    total = money_field(_("total"))
    paid_total = money_field(_("paid"))
    # the official VAT invoice (发票) number once the tax system issued it
    fapiao_number = models.CharField(_("fapiao number"), max_length=40, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="sales_invoice_total_gte0"),
            models.CheckConstraint(
                condition=Q(paid_total__gte=0) & Q(paid_total__lte=models.F("total")),
                name="sales_invoice_not_overpaid",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "-id"], name="invoice_owner_idx"),
            models.Index(fields=["account", "-id"], name="invoice_account_idx"),
            models.Index(fields=["order", "-id"], name="invoice_order_idx"),
            # receivables ageing: open invoices by due date
            models.Index(fields=["status", "due_date"], name="invoice_due_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def balance(self):
        return self.total - self.paid_total


class InvoiceLine(PricedLine):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, null=True, blank=True, related_name="invoice_lines"
    )

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "position", "id"]
        constraints = priced_line_constraints("sales_invoice_line")


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    ALIPAY = "alipay", _("Alipay")
    WECHAT = "wechat", _("WeChat Pay")
    CARD = "card", _("Card")
    CASH = "cash", _("Cash")
    ACCEPTANCE = "acceptance", _("Bank acceptance bill")
    OTHER = "other", _("Other")


class Payment(models.Model):
    """Money received against an invoice, in the invoice's currency. A mistaken payment is
    reversed (`reversed_at`), never edited or deleted."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = money_field(_("amount"))
    currency = currency_field()
    received_on = models.DateField(_("received on"))
    method = models.CharField(
        _("method"), max_length=20, choices=PaymentMethod, default=PaymentMethod.BANK_TRANSFER
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversed_reason = models.CharField(_("reason reversed"), max_length=300, blank=True)

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="sales_payment_gt0")]
        indexes = [
            models.Index(fields=["invoice", "-id"], name="payment_invoice_idx"),
            # payments received in a period (attainment, cash reports)
            models.Index(fields=["received_on"], name="payment_received_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.amount} {self.currency}"
