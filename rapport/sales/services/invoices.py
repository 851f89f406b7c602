"""Every write to invoices, credit notes and payments.

An invoice bills (part of) a confirmed, shipped or done order, by order line and quantity;
it is a draft until issued. Issuing it counts it on the order (`invoiced_total`, each line's
`quantity_invoiced`) under a row lock on the order, so two invoices can never bill more than
the order holds; a credit note (issued at once) takes back part of an issued invoice, by
lines or as an amount, and lowers what the order counts as invoiced. Payments are recorded
against an issued invoice in its currency, partly and several times, never beyond what is
still owed, under a row lock on the invoice; a mistaken payment is reversed, never deleted.

Money is Decimal; amounts come from `rapport.sales.pricing`. Each service checks the actor's
grant, validates everything first (one ValidationError naming every bad field; nothing
stored), writes in one transaction with its audit event, and emits its events on commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.models import Action, User

from .. import pricing
from ..config import get_settings
from ..models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentMethod,
)
from ..numbering import next_number

ZERO = Decimal("0")
CENT = Decimal("0.01")
# Beyond these a number cannot be a quantity or an amount of ours (Decimal(14, 3) and
# Decimal(18, 2)), and rounding it would overflow Decimal's 28 digits: refused as out of range.
MAX_QUANTITY = Decimal("1e11")
MAX_MONEY = Decimal("1e16")
INVOICEABLE = {OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.DONE}
# an invoice that counts on its order and may be paid
OPEN = {InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID}
COUNTED = {
    InvoiceStatus.ISSUED,
    InvoiceStatus.PARTIALLY_PAID,
    InvoiceStatus.PAID,
    InvoiceStatus.CREDITED,
}
FIELDS = (
    "number",
    "kind",
    "order",
    "account",
    "credited_invoice",
    "status",
    "currency",
    "issue_date",
    "due_date",
    "subtotal",
    "tax_total",
    "total",
    "paid_total",
    "notes",
)


def _denied() -> PermissionDenied:
    return PermissionDenied(_("You may not do this to this invoice."), code="invoice_denied")


def _require(actor: User, action: str, invoice: Invoice) -> None:
    if not policy.can(actor, action, invoice):
        raise _denied()


def _announce(topic: str, invoice: Invoice, **extra: Any) -> None:
    events.emit(
        topic,
        {
            "type": Invoice.security_type,
            "id": invoice.pk,
            "order": invoice.order_id,
            "account": invoice.account_id,
            **extra,
        },
    )


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _quantity(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, (bool, float)):
        return None if not isinstance(value, float) else _quantity(repr(value))
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or abs(number) >= MAX_QUANTITY:
        return None
    return number


def _money_input(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or abs(number) >= MAX_MONEY or number != number.quantize(CENT):
        return None
    return number


def _status_after_payment(invoice: Invoice, credited: Decimal) -> str:
    owed = invoice.total - credited
    if owed <= 0 and invoice.paid_total <= 0:
        return InvoiceStatus.CREDITED  # taken back in full, not paid
    if invoice.paid_total >= owed:
        return InvoiceStatus.PAID
    if invoice.paid_total > 0:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.ISSUED


def credited_total(invoice: Invoice) -> Decimal:
    """What the credit notes against `invoice` took back."""
    return (
        Invoice.objects.filter(
            credited_invoice=invoice, kind=InvoiceKind.CREDIT_NOTE, status__in=COUNTED
        ).aggregate(total=Sum("total"))["total"]
        or ZERO
    )


def amount_due(invoice: Invoice) -> Decimal:
    """What the customer still owes on `invoice`: its total less credit notes and payments."""
    return max(ZERO, invoice.total - credited_total(invoice) - invoice.paid_total)


# --- invoicing an order -------------------------------------------------------------------


@dataclass
class _Held:
    """What of an order line is billed or waiting in a draft invoice (less credit notes)."""

    draft_quantity: Decimal = ZERO
    net: Decimal = ZERO
    tax: Decimal = ZERO
    total: Decimal = ZERO


def _held(order: Order) -> dict[int, _Held]:
    held: dict[int, _Held] = {}
    rows = (
        InvoiceLine.objects.filter(invoice__order=order, order_line__isnull=False)
        .exclude(invoice__status=InvoiceStatus.CANCELLED)
        .values("order_line_id", "invoice__kind", "invoice__status")
        .annotate(
            quantity=Sum("quantity"),
            net=Sum("net_amount"),
            tax=Sum("tax_amount"),
            total=Sum("total_amount"),
        )
    )
    for row in rows:
        entry = held.setdefault(row["order_line_id"], _Held())
        sign = -1 if row["invoice__kind"] == InvoiceKind.CREDIT_NOTE else 1
        entry.net += sign * row["net"]
        entry.tax += sign * row["tax"]
        entry.total += sign * row["total"]
        if row["invoice__kind"] == InvoiceKind.INVOICE and row["invoice__status"] == "draft":
            entry.draft_quantity += row["quantity"]
    return held


def _draft_total(order: Order, *, exclude: Invoice | None = None) -> Decimal:
    drafts = Invoice.objects.filter(
        order=order, kind=InvoiceKind.INVOICE, status=InvoiceStatus.DRAFT
    )
    if exclude is not None:
        drafts = drafts.exclude(pk=exclude.pk)
    return drafts.aggregate(total=Sum("total"))["total"] or ZERO


def left_to_invoice(order: Order) -> dict[int, Decimal]:
    """{order line id: quantity not yet billed nor waiting in a draft invoice}."""
    held = _held(order)
    return {
        line.pk: line.quantity - line.quantity_invoiced - held.get(line.pk, _Held()).draft_quantity
        for line in order.lines.all()
    }


def _portion(line, quantity: Decimal, discount_percent: Decimal, held: _Held | None, left):
    """The amounts of `quantity` of a priced line. The last portion of a line is what is
    left of its amounts, so the parts always add up to the line to the cent."""
    if held is not None and quantity == left:
        net = line.net_amount - held.net
        tax = line.tax_amount - held.tax
        return max(net, ZERO), max(tax, ZERO), max(net, ZERO) + max(tax, ZERO)
    amounts = pricing.compute(
        [pricing.LineInput(quantity, line.unit_price, line.discount_percent, line.tax_percent)],
        discount_percent=discount_percent,
    ).lines[0]
    return amounts.net_amount, amounts.tax_amount, amounts.total_amount


def _wanted(
    raw_lines: Sequence[Mapping[str, Any]] | None,
    known: Mapping[int, Any],
    left: Mapping[int, Decimal],
    *,
    line_key: str,
) -> list[tuple[Any, Decimal]]:
    """[(line, quantity)] from what was asked (`{line_key: line or id, "quantity": …}`);
    every bad entry is named `lines.<n>.<field>`. None asks for everything left."""
    if raw_lines is None:
        return [(line, left[pk]) for pk, line in known.items() if left[pk] > 0]
    errors: dict[str, list[ValidationError]] = {}
    wanted: list[tuple[Any, Decimal]] = []
    seen: set[int] = set()
    for index, raw in enumerate(raw_lines):
        prefix = f"lines.{index}"
        given = raw.get(line_key)
        pk = getattr(given, "pk", given)
        if isinstance(pk, str) and pk.strip().isdigit():
            pk = int(pk.strip())
        line = known.get(pk) if isinstance(pk, int) and not isinstance(pk, bool) else None
        if line is None:
            errors.setdefault(f"{prefix}.{line_key}", []).append(
                ValidationError(_("Choose a line of this document."), code="invalid")
            )
            continue
        if pk in seen:
            errors.setdefault(f"{prefix}.{line_key}", []).append(
                ValidationError(_("This line is given twice."), code="duplicate")
            )
            continue
        seen.add(pk)
        quantity = _quantity(raw.get("quantity", left[pk]))
        if quantity is None:
            errors.setdefault(f"{prefix}.quantity", []).append(
                ValidationError(_("Enter a number."), code="invalid")
            )
        elif quantity < 0:
            errors.setdefault(f"{prefix}.quantity", []).append(
                ValidationError(_("The quantity cannot be negative."), code="out_of_range")
            )
        elif quantity != quantity.quantize(Decimal("0.001")):
            errors.setdefault(f"{prefix}.quantity", []).append(
                ValidationError(_("Use at most three decimal places."), code="too_precise")
            )
        elif quantity > left[pk]:
            errors.setdefault(f"{prefix}.quantity", []).append(
                ValidationError(
                    _("Line %(position)s “%(line)s”: at most %(left)s are left.")
                    % {
                        "position": line.position,
                        "line": line.description,
                        "left": left[pk].normalize(),
                    },
                    code="exceeds_remaining",
                )
            )
        elif quantity > 0:
            wanted.append((line, quantity))
    if errors:
        raise ValidationError(errors)
    return wanted


def invoice_create_from_order(
    *,
    actor: User,
    order: Order,
    lines: Sequence[Mapping[str, Any]] | None = None,
    notes: str = "",
) -> Invoice:
    """A draft invoice for (part of) `order`: `lines` is `[{"order_line": line or id,
    "quantity": …}]` (a quantity of 0 leaves the line out); without `lines`, everything not
    yet invoiced. It never bills more than is left — per line (quantity issued or in other
    drafts) and in total — naming the line and field, and stores nothing then. Only a
    confirmed, shipped or done order is invoiced. The invoice belongs to the order's owner."""
    if not policy.has_grant(actor, Invoice.security_type, Action.ADD):
        raise _denied()
    if not policy.can(actor, Action.VIEW, order):
        raise PermissionDenied(_("You may not do this to this order."), code="order_denied")
    if not policy.can_create(actor, Invoice, {"owner_id": order.owner_id}):
        raise _denied()
    notes = str(notes or "").strip()
    if len(notes) > 20_000:
        raise _error("notes", _("At most %(n)d characters.") % {"n": 20_000}, "max_length")
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
        if order.status not in INVOICEABLE:
            raise _error(
                "order",
                _("An order that is “%(status)s” is not invoiced.")
                % {"status": OrderStatus(order.status).label},
                "not_invoiceable",
            )
        order_lines = {line.pk: line for line in order.lines.order_by("position", "id")}
        held = _held(order)
        left = {
            pk: line.quantity - line.quantity_invoiced - held.get(pk, _Held()).draft_quantity
            for pk, line in order_lines.items()
        }
        wanted = _wanted(lines, order_lines, left, line_key="order_line")
        if not wanted:
            raise _error("lines", _("Nothing is left to invoice on this order."), "nothing_left")
        rows = []
        for position, (line, quantity) in enumerate(wanted, start=1):
            net, tax, total = _portion(
                line, quantity, order.discount_percent, held.get(line.pk, _Held()), left[line.pk]
            )
            rows.append(
                InvoiceLine(
                    position=position,
                    order_line=line,
                    product_id=line.product_id,
                    description=line.description,
                    quantity=quantity,
                    unit=line.unit,
                    unit_price=line.unit_price,
                    discount_percent=line.discount_percent,
                    tax_percent=line.tax_percent,
                    net_amount=net,
                    tax_amount=tax,
                    total_amount=total,
                )
            )
        total = sum((row.total_amount for row in rows), ZERO)
        order_left = order.total - order.invoiced_total - _draft_total(order)
        if total > order_left:
            raise _error(
                "total",
                _("This invoice (%(total)s) is more than is left to invoice (%(left)s).")
                % {"total": total, "left": max(order_left, ZERO)},
                "exceeds_order",
            )
        invoice = Invoice(
            number=next_number("invoice"),
            kind=InvoiceKind.INVOICE,
            order=order,
            account_id=order.account_id,
            owner_id=order.owner_id,
            created_by=actor,
            status=InvoiceStatus.DRAFT,
            currency=order.currency,
            subtotal=sum((row.net_amount for row in rows), ZERO),
            tax_total=sum((row.tax_amount for row in rows), ZERO),
            total=total,
            notes=notes,
        )
        invoice.save()
        for row in rows:
            row.invoice = invoice
        InvoiceLine.objects.bulk_create(rows)
        trail.record(
            actor=actor,
            action="create",
            target=invoice,
            changes=trail.diff({}, trail.snapshot(invoice, FIELDS)),
            extra={
                "lines": [
                    {"order_line": row.order_line_id, "quantity": str(row.quantity)} for row in rows
                ]
            },
        )
        _announce("record.created", invoice)
    return invoice


def invoice_issue(*, actor: User, invoice: Invoice, issue_date: date | None = None) -> Invoice:
    """Draft → issued, dated `issue_date` (today) and due `invoice_due_days` later (sales
    settings). It now counts on its order — the order's `invoiced_total` and each line's
    `quantity_invoiced` — under a row lock on the order; an order that meanwhile has less
    left refuses it, naming the line."""
    _require(actor, Action.CHANGE, invoice)
    if issue_date is not None and not isinstance(issue_date, date):
        raise _error("issue_date", _("Enter a date."), "invalid")
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).get(pk=invoice.order_id)
        invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
        if invoice.kind != InvoiceKind.INVOICE or invoice.status != InvoiceStatus.DRAFT:
            raise _error(
                "status",
                _("Only a draft invoice is issued."),
                "invalid_transition",
            )
        if order.status not in INVOICEABLE:
            raise _error(
                "order",
                _("An order that is “%(status)s” is not invoiced.")
                % {"status": OrderStatus(order.status).label},
                "not_invoiceable",
            )
        order_lines = OrderLine.objects.select_for_update().in_bulk(
            list(invoice.lines.values_list("order_line_id", flat=True))
        )
        errors: dict[str, list[ValidationError]] = {}
        for index, line in enumerate(invoice.lines.all()):
            order_line = order_lines.get(line.order_line_id)
            if order_line is None:
                continue
            if order_line.quantity_invoiced + line.quantity > order_line.quantity:
                errors.setdefault(f"lines.{index}.quantity", []).append(
                    ValidationError(
                        _("Line %(position)s “%(line)s”: at most %(left)s are left.")
                        % {
                            "position": order_line.position,
                            "line": order_line.description,
                            "left": (
                                order_line.quantity - order_line.quantity_invoiced
                            ).normalize(),
                        },
                        code="exceeds_remaining",
                    )
                )
            order_line.quantity_invoiced += line.quantity
        if order.invoiced_total + invoice.total > order.total:
            errors.setdefault("total", []).append(
                ValidationError(
                    _("This invoice (%(total)s) is more than is left to invoice (%(left)s).")
                    % {"total": invoice.total, "left": order.total - order.invoiced_total},
                    code="exceeds_order",
                )
            )
        if errors:
            raise ValidationError(errors)
        OrderLine.objects.bulk_update(order_lines.values(), ["quantity_invoiced"])
        before_invoiced = order.invoiced_total
        order.invoiced_total += invoice.total
        order.save(update_fields=["invoiced_total", "updated_at"])
        before = trail.snapshot(invoice, FIELDS)
        invoice.status = InvoiceStatus.ISSUED
        invoice.issue_date = issue_date or timezone.localdate()
        invoice.due_date = invoice.issue_date + timedelta(days=get_settings().invoice_due_days)
        invoice.save(update_fields=["status", "issue_date", "due_date", "updated_at"])
        trail.record(
            actor=actor,
            action="issue",
            target=invoice,
            changes=trail.diff(before, trail.snapshot(invoice, FIELDS)),
        )
        trail.record(
            actor=actor,
            action="invoiced",
            target=order,
            changes={"invoiced_total": [str(before_invoiced), str(order.invoiced_total)]},
            extra={"invoice": invoice.pk},
        )
        _announce("record.updated", invoice, fields=["status", "issue_date", "due_date"])
        _announce("invoice.issued", invoice, total=str(invoice.total))
    return invoice


def invoice_cancel(*, actor: User, invoice: Invoice, reason: str = "") -> Invoice:
    """A draft invoice is cancelled (an issued one is taken back by a credit note)."""
    _require(actor, Action.CHANGE, invoice)
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
        if invoice.status != InvoiceStatus.DRAFT:
            raise _error(
                "status",
                _("Only a draft invoice is cancelled; credit an issued one."),
                "invalid_transition",
            )
        invoice.status = InvoiceStatus.CANCELLED
        invoice.cancelled_at = timezone.now()
        invoice.save(update_fields=["status", "cancelled_at", "updated_at"])
        trail.record(
            actor=actor,
            action="cancel",
            target=invoice,
            changes={"status": [InvoiceStatus.DRAFT, InvoiceStatus.CANCELLED]},
            extra={"reason": str(reason or "")[:300]} if reason else None,
        )
        _announce("record.updated", invoice, fields=["status"])
        _announce("invoice.cancelled", invoice)
    return invoice


# --- credit notes -------------------------------------------------------------------------


def credit_note_create(
    *,
    actor: User,
    invoice: Invoice,
    reason: str,
    lines: Sequence[Mapping[str, Any]] | None = None,
    amount: Decimal | str | None = None,
) -> Invoice:
    """A credit note (issued at once, numbered CN<year>-<n>) taking back part of an issued
    invoice: by `lines` (`[{"invoice_line": line or id, "quantity": …}]`, the order lines'
    invoiced quantities fall with it) or as an `amount`. Never more than the invoice's total
    less earlier credit notes; the order's `invoiced_total` falls by the credit."""
    _require(actor, Action.CHANGE, invoice)
    if not policy.has_grant(actor, Invoice.security_type, Action.ADD):
        raise _denied()
    errors: dict[str, list[ValidationError]] = {}
    reason = " ".join(str(reason or "").split())
    if not reason:
        errors["reason"] = [ValidationError(_("Say why the invoice is credited."), "required")]
    elif len(reason) > 300:
        errors["reason"] = [
            ValidationError(_("At most %(n)d characters.") % {"n": 300}, "max_length")
        ]
    if (lines is None) == (amount is None or amount == ""):
        errors["amount"] = [
            ValidationError(_("Credit either lines or an amount."), code="lines_or_amount")
        ]
    credit_amount: Decimal | None = None
    if amount is not None and amount != "":
        credit_amount = _money_input(amount)
        if credit_amount is None:
            errors["amount"] = [
                ValidationError(_("Enter an amount with at most two decimals."), "invalid")
            ]
        elif credit_amount <= 0:
            errors["amount"] = [
                ValidationError(_("The amount must be more than zero."), "out_of_range")
            ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).get(pk=invoice.order_id)
        invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
        if invoice.kind != InvoiceKind.INVOICE or invoice.status not in COUNTED:
            raise _error("invoice", _("Only an issued invoice is credited."), "invalid_transition")
        already = credited_total(invoice)
        left_total = invoice.total - already
        rows: list[InvoiceLine] = []
        credit_lines: list[tuple[InvoiceLine, Decimal]] = []
        if lines is not None:
            invoice_lines = {line.pk: line for line in invoice.lines.order_by("position", "id")}
            credited = dict(
                InvoiceLine.objects.filter(
                    invoice__credited_invoice=invoice,
                    invoice__kind=InvoiceKind.CREDIT_NOTE,
                    invoice__status__in=COUNTED,
                    order_line__isnull=False,
                )
                .values_list("order_line_id")
                .annotate(quantity=Sum("quantity"))
            )
            credited_amounts = {
                row["order_line_id"]: row
                for row in InvoiceLine.objects.filter(
                    invoice__credited_invoice=invoice,
                    invoice__kind=InvoiceKind.CREDIT_NOTE,
                    invoice__status__in=COUNTED,
                    order_line__isnull=False,
                )
                .values("order_line_id")
                .annotate(net=Sum("net_amount"), tax=Sum("tax_amount"))
            }
            left = {
                pk: line.quantity - credited.get(line.order_line_id, ZERO)
                for pk, line in invoice_lines.items()
            }
            credit_lines = _wanted(lines, invoice_lines, left, line_key="invoice_line")
            if not credit_lines:
                raise _error("lines", _("Choose what to credit."), "required")
            for position, (line, quantity) in enumerate(credit_lines, start=1):
                earlier = credited_amounts.get(line.order_line_id)
                held = _Held(
                    net=earlier["net"] if earlier else ZERO,
                    tax=earlier["tax"] if earlier else ZERO,
                )
                net, tax, total = _portion(
                    line, quantity, order.discount_percent, held, left[line.pk]
                )
                rows.append(
                    InvoiceLine(
                        position=position,
                        order_line_id=line.order_line_id,
                        product_id=line.product_id,
                        description=line.description,
                        quantity=quantity,
                        unit=line.unit,
                        unit_price=line.unit_price,
                        discount_percent=line.discount_percent,
                        tax_percent=line.tax_percent,
                        net_amount=net,
                        tax_amount=tax,
                        total_amount=total,
                    )
                )
            credit_total = sum((row.total_amount for row in rows), ZERO)
            subtotal = sum((row.net_amount for row in rows), ZERO)
            tax_total = sum((row.tax_amount for row in rows), ZERO)
            field = "lines"
        else:
            assert credit_amount is not None
            credit_total = credit_amount
            subtotal, tax_total = credit_amount, ZERO
            field = "amount"
        if credit_total > left_total:
            raise _error(
                field,
                _(
                    "A credit of %(amount)s is more than is left to credit on the invoice (%(left)s)."
                )
                % {"amount": credit_total, "left": left_total},
                "exceeds_invoice",
            )
        note = Invoice(
            number=next_number("credit_note"),
            kind=InvoiceKind.CREDIT_NOTE,
            order=order,
            account_id=invoice.account_id,
            credited_invoice=invoice,
            owner_id=invoice.owner_id,
            created_by=actor,
            status=InvoiceStatus.ISSUED,
            currency=invoice.currency,
            issue_date=timezone.localdate(),
            subtotal=subtotal,
            tax_total=tax_total,
            total=credit_total,
            notes=reason,
        )
        note.save()
        for row in rows:
            row.invoice = note
        InvoiceLine.objects.bulk_create(rows)
        # what the order counts as invoiced falls with the credit
        if credit_lines:
            order_lines = OrderLine.objects.select_for_update().in_bulk(
                [line.order_line_id for line, _quantity in credit_lines if line.order_line_id]
            )
            for line, quantity in credit_lines:
                if line.order_line_id in order_lines:
                    order_lines[line.order_line_id].quantity_invoiced -= quantity
            OrderLine.objects.bulk_update(order_lines.values(), ["quantity_invoiced"])
        before_invoiced = order.invoiced_total
        order.invoiced_total = max(ZERO, order.invoiced_total - credit_total)
        order.save(update_fields=["invoiced_total", "updated_at"])
        before_status = invoice.status
        invoice.status = _status_after_payment(invoice, already + credit_total)
        if invoice.status != before_status:
            invoice.save(update_fields=["status", "updated_at"])
        trail.record(
            actor=actor,
            action="create",
            target=note,
            changes=trail.diff({}, trail.snapshot(note, FIELDS)),
            extra={"reason": reason},
        )
        trail.record(
            actor=actor,
            action="credit",
            target=invoice,
            changes={"status": [before_status, invoice.status]}
            if invoice.status != before_status
            else {},
            extra={"credit_note": note.pk, "amount": str(credit_total)},
        )
        trail.record(
            actor=actor,
            action="credited",
            target=order,
            changes={"invoiced_total": [str(before_invoiced), str(order.invoiced_total)]},
            extra={"credit_note": note.pk},
        )
        _announce("record.created", note)
        _announce("invoice.credited", invoice, credit_note=note.pk, amount=str(credit_total))
    return note


# --- payments -----------------------------------------------------------------------------


def payment_record(
    *,
    actor: User,
    invoice: Invoice,
    amount: Decimal | str,
    currency: str,
    received_on: date,
    method: str = PaymentMethod.BANK_TRANSFER,
    reference: str = "",
    note: str = "",
) -> Payment:
    """Money received against an issued invoice, in the invoice's currency (another is
    refused, naming `currency`), never more than is still owed (naming `amount`); the
    invoice becomes partly paid or paid. The invoice is locked while the payment is
    counted, so two payments at the same moment cannot together pay more than is owed."""
    _require(actor, Action.CHANGE, invoice)
    errors: dict[str, list[ValidationError]] = {}
    value = _money_input(amount)
    if value is None:
        errors["amount"] = [
            ValidationError(_("Enter an amount with at most two decimals."), "invalid")
        ]
    elif value <= 0:
        errors["amount"] = [
            ValidationError(_("The amount must be more than zero."), "out_of_range")
        ]
    currency = str(currency or "").strip().upper()
    if currency != invoice.currency:
        errors["currency"] = [
            ValidationError(
                _("The invoice is in %(currency)s; record the payment in %(currency)s.")
                % {"currency": invoice.currency},
                code="currency_mismatch",
            )
        ]
    if not isinstance(received_on, date):
        errors["received_on"] = [ValidationError(_("Enter a date."), "invalid")]
    elif received_on > timezone.localdate():
        errors["received_on"] = [
            ValidationError(_("A payment cannot be received in the future."), "future")
        ]
    if method not in PaymentMethod.values:
        errors["method"] = [
            ValidationError(
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": method, "choices": ", ".join(PaymentMethod.values)},
                code="invalid_choice",
            )
        ]
    reference = str(reference or "").strip()
    if len(reference) > 100:
        errors["reference"] = [
            ValidationError(_("At most %(n)d characters.") % {"n": 100}, "max_length")
        ]
    note = str(note or "").strip()
    if len(note) > 300:
        errors["note"] = [
            ValidationError(_("At most %(n)d characters.") % {"n": 300}, "max_length")
        ]
    if errors:
        raise ValidationError(errors)
    assert value is not None
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
        if invoice.kind != InvoiceKind.INVOICE or invoice.status not in OPEN:
            raise _error(
                "invoice",
                _("Payments are recorded against an issued, unpaid invoice."),
                "not_payable",
            )
        credited = credited_total(invoice)
        owed = invoice.total - credited - invoice.paid_total
        if value > owed:
            raise _error(
                "amount",
                _("%(amount)s is more than is owed on the invoice (%(owed)s).")
                % {"amount": value, "owed": max(owed, ZERO)},
                "exceeds_balance",
            )
        payment = Payment.objects.create(
            invoice=invoice,
            amount=value,
            currency=currency,
            received_on=received_on,
            method=method,
            reference=reference,
            note=note,
            recorded_by=actor,
        )
        before = {"paid_total": str(invoice.paid_total), "status": invoice.status}
        invoice.paid_total += value
        invoice.status = _status_after_payment(invoice, credited)
        invoice.save(update_fields=["paid_total", "status", "updated_at"])
        trail.record(
            actor=actor,
            action="payment",
            target=invoice,
            changes=trail.diff(
                before, {"paid_total": str(invoice.paid_total), "status": invoice.status}
            ),
            extra={
                "payment": payment.pk,
                "amount": str(value),
                "method": method,
                "reference": reference,
            },
        )
        _announce("record.updated", invoice, fields=["paid_total", "status"])
        _announce("payment.recorded", invoice, payment=payment.pk, amount=str(value))
        if invoice.status == InvoiceStatus.PAID:
            _announce("invoice.paid", invoice)
    return payment


def payment_reverse(*, actor: User, payment: Payment, reason: str) -> Payment:
    """Take back a mistaken payment (it stays on record, marked reversed with the reason);
    the invoice is owed that amount again."""
    _require(actor, Action.CHANGE, payment.invoice)
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise _error("reason", _("Say why the payment is reversed."), "required")
    if len(reason) > 300:
        raise _error("reason", _("At most %(n)d characters.") % {"n": 300}, "max_length")
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=payment.invoice_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.reversed_at is not None:
            raise _error("payment", _("This payment is already reversed."), "already_reversed")
        payment.reversed_at = timezone.now()
        payment.reversed_reason = reason
        payment.save(update_fields=["reversed_at", "reversed_reason"])
        before = {"paid_total": str(invoice.paid_total), "status": invoice.status}
        invoice.paid_total -= payment.amount
        invoice.status = _status_after_payment(invoice, credited_total(invoice))
        invoice.save(update_fields=["paid_total", "status", "updated_at"])
        trail.record(
            actor=actor,
            action="payment_reverse",
            target=invoice,
            changes=trail.diff(
                before, {"paid_total": str(invoice.paid_total), "status": invoice.status}
            ),
            extra={"payment": payment.pk, "amount": str(payment.amount), "reason": reason},
        )
        _announce("record.updated", invoice, fields=["paid_total", "status"])
        _announce("payment.reversed", invoice, payment=payment.pk, amount=str(payment.amount))
    return payment


def open_invoices_q() -> Q:
    """Invoices still owed money (for ageing and the account card)."""
    return Q(kind=InvoiceKind.INVOICE, status__in=OPEN)
