"""Every write to sales orders.

An order is created as a draft (by hand, or from an accepted quote — one order per quote),
edited while it is a draft, and moves draft → confirmed → shipped → done, or draft /
confirmed → cancelled. Confirming reserves the stock of its tracked products in its
warehouse, shipping turns the reservations into shipments, cancelling releases them — each
in the same transaction as the status change, so a refusal (not enough stock) leaves the
order as it was.

Each service checks the actor's grant on the order (`policy.can`), validates the whole
change (one ValidationError naming every bad field; nothing stored), writes in one
transaction with its audit event, and emits its events after commit: the generic
`record.created` / `record.updated` and the order's own `order.confirmed`, `order.shipped`,
`order.done`, `order.cancelled`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.core.errors import PermissionDenied
from rapport.customers.models import Account, Contact
from rapport.identity import policy
from rapport.identity.models import Action, User

from .. import lines as sales_lines
from ..config import get_settings
from ..models import (
    InvoiceKind,
    InvoiceStatus,
    Opportunity,
    Order,
    OrderLine,
    OrderStatus,
    Quote,
    QuoteStatus,
    Warehouse,
)
from ..numbering import next_number

FIELDS = (
    "number",
    "account",
    "contact",
    "opportunity",
    "quote",
    "warehouse",
    "currency",
    "status",
    "order_date",
    "discount_percent",
    "subtotal",
    "discount_total",
    "tax_total",
    "total",
    "shipping_address",
    "customer_reference",
    "notes",
    "owner",
)
EDITABLE = (
    "account",
    "contact",
    "opportunity",
    "warehouse",
    "currency",
    "discount_percent",
    "order_date",
    "shipping_address",
    "customer_reference",
    "notes",
    "owner",
    "lines",
)
LINE_FIELDS = (
    "product",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "discount_percent",
    "tax_percent",
)
# the moves an order may make, and the time each stamps
MOVES = {
    OrderStatus.DRAFT: {OrderStatus.CONFIRMED, OrderStatus.CANCELLED},
    OrderStatus.CONFIRMED: {OrderStatus.SHIPPED, OrderStatus.CANCELLED},
    OrderStatus.SHIPPED: {OrderStatus.DONE},
    OrderStatus.DONE: set(),
    OrderStatus.CANCELLED: set(),
}
# quotes an order may be made from: not one waiting for approval, declined, expired or replaced
ORDERABLE_QUOTES = {
    QuoteStatus.DRAFT,
    QuoteStatus.APPROVED,
    QuoteStatus.SENT,
    QuoteStatus.ACCEPTED,
}
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_TEXT = {"shipping_address": 300, "customer_reference": 60, "notes": 20_000}
_UNCHANGED: Any = object()


def _denied() -> PermissionDenied:
    return PermissionDenied(_("You may not do this to this order."), code="order_denied")


def _require(actor: User, action: str, order: Order) -> None:
    if not policy.can(actor, action, order):
        raise _denied()


def _announce(topic: str, order: Order, **extra: Any) -> None:
    events.emit(topic, {"type": Order.security_type, "id": order.pk, **extra})


def _clean(actor: User, values: dict[str, Any]) -> dict[str, Any]:
    """Normalise and validate the given header fields; related records must be ones the
    actor may see (refused as if they did not exist)."""
    errors: dict[str, list[ValidationError]] = {}

    def fail(name: str, message: str, code: str) -> None:
        errors.setdefault(name, []).append(ValidationError(message, code=code))

    cleaned: dict[str, Any] = {}
    if "account" in values:
        account = values["account"]
        if not (isinstance(account, Account) and policy.can(actor, Action.VIEW, account)):
            fail("account", _("Choose an account you can see."), "invalid")
        cleaned["account"] = account
    if "contact" in values:
        contact = values["contact"]
        if contact is not None and not (
            isinstance(contact, Contact) and policy.can(actor, Action.VIEW, contact)
        ):
            fail("contact", _("Choose a contact you can see."), "invalid")
        cleaned["contact"] = contact
    if "opportunity" in values:
        opportunity = values["opportunity"]
        if opportunity is not None and not (
            isinstance(opportunity, Opportunity) and policy.can(actor, Action.VIEW, opportunity)
        ):
            fail("opportunity", _("Choose an opportunity you can see."), "invalid")
        cleaned["opportunity"] = opportunity
    if "warehouse" in values:
        warehouse = values["warehouse"]
        if warehouse is not None and not (isinstance(warehouse, Warehouse) and warehouse.is_active):
            fail("warehouse", _("Choose an active warehouse."), "invalid")
        cleaned["warehouse"] = warehouse
    if "currency" in values:
        currency = str(values["currency"] or "").strip().upper()
        if not CURRENCY.match(currency):
            fail("currency", _("Enter a three-letter currency code such as CNY."), "invalid")
        cleaned["currency"] = currency
    if "discount_percent" in values:
        cleaned["discount_percent"] = sales_lines.percent(
            values["discount_percent"], name="discount_percent", errors=errors
        )
    if "order_date" in values:
        order_date = values["order_date"]
        if not isinstance(order_date, date):
            fail("order_date", _("Enter a date."), "invalid")
        cleaned["order_date"] = order_date
    for name, limit in MAX_TEXT.items():
        if name in values:
            text = str(values[name] or "").strip()
            if len(text) > limit:
                fail(name, _("At most %(n)d characters.") % {"n": limit}, "max_length")
            cleaned[name] = text
    if "owner" in values:
        owner = values["owner"]
        if not (
            isinstance(owner, User)
            and owner.is_active
            and policy.has_grant(owner, Order.security_type, Action.VIEW)
        ):
            fail("owner", _("Choose an active person who works on orders."), "invalid")
        cleaned["owner"] = owner
    # the contact and the opportunity belong to the order's account
    account = cleaned.get("account")
    if isinstance(account, Account) and "account" not in errors:
        opportunity = cleaned.get("opportunity")
        if (
            isinstance(opportunity, Opportunity)
            and "opportunity" not in errors
            and opportunity.account_id != account.pk
        ):
            fail("opportunity", _("Choose an opportunity of this account."), "other_account")
        contact = cleaned.get("contact")
        if (
            isinstance(contact, Contact)
            and "contact" not in errors
            and not contact.accounts.filter(pk=account.pk).exists()
        ):
            fail("contact", _("Choose a contact of this account."), "other_account")
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_lines(raw_lines: Sequence[Mapping[str, Any]]) -> list[sales_lines.CleanLine]:
    return sales_lines.clean_lines(list(raw_lines))


def _default_warehouse() -> Warehouse | None:
    return Warehouse.objects.filter(is_active=True).order_by("-is_default", "code").first()


def _write_lines(
    order: Order, cleaned: Sequence[sales_lines.CleanLine], amounts, *, start: int = 1
) -> list[OrderLine]:
    rows = [
        OrderLine(
            order=order,
            position=position,
            product=line.product,
            description=line.description,
            quantity=line.quantity,
            unit=line.unit,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            tax_percent=line.tax_percent,
            net_amount=line_amounts.net_amount,
            tax_amount=line_amounts.tax_amount,
            total_amount=line_amounts.total_amount,
        )
        for position, (line, line_amounts) in enumerate(
            zip(cleaned, amounts.lines, strict=True), start=start
        )
    ]
    return OrderLine.objects.bulk_create(rows)


def _set_amounts(order: Order, amounts) -> None:
    order.subtotal = amounts.subtotal
    order.discount_total = amounts.discount_total
    order.tax_total = amounts.tax_total
    order.total = amounts.total


def _lines_summary(order: Order) -> list[dict[str, Any]]:
    return [
        {
            "product": line.product_id,
            "description": line.description,
            "quantity": str(line.quantity),
            "unit_price": str(line.unit_price),
            "discount_percent": str(line.discount_percent),
            "tax_percent": str(line.tax_percent),
            "total_amount": str(line.total_amount),
        }
        for line in order.lines.all()
    ]


def order_create(
    *,
    actor: User,
    account: Account,
    lines: Sequence[Mapping[str, Any]],
    contact: Contact | None = None,
    opportunity: Opportunity | None = None,
    warehouse: Warehouse | None = None,
    currency: str | None = None,
    discount_percent: Decimal | int | str = 0,
    order_date: date | None = None,
    shipping_address: str = "",
    customer_reference: str = "",
    notes: str = "",
    owner: User | None = None,
) -> Order:
    """A new draft order with its lines (see `rapport.sales.lines.clean_lines` for what a
    line holds; each problem is named `lines.<n>.<field>`), priced by
    `rapport.sales.pricing` and numbered SO<year>-<n>. It ships from `warehouse` (default:
    the default warehouse). Nothing is stored unless every field and line is clean."""
    if not policy.has_grant(actor, Order.security_type, Action.ADD):
        raise _denied()
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {}
    try:
        cleaned = _clean(
            actor,
            {
                "account": account,
                "contact": contact,
                "opportunity": opportunity,
                "warehouse": warehouse,
                "currency": currency or get_settings().default_currency,
                "discount_percent": discount_percent,
                "order_date": order_date or timezone.localdate(),
                "shipping_address": shipping_address,
                "customer_reference": customer_reference,
                "notes": notes,
                "owner": owner or actor,
            },
        )
    except ValidationError as error:
        errors.update(error.error_dict)
    clean_lines: list[sales_lines.CleanLine] = []
    try:
        clean_lines = _clean_lines(lines)
    except ValidationError as error:
        errors.update(error.error_dict)
    if errors:
        raise ValidationError(errors)
    if cleaned["warehouse"] is None:
        cleaned["warehouse"] = _default_warehouse()
    order = Order(**cleaned, status=OrderStatus.DRAFT, created_by=actor)
    if not policy.can(actor, Action.ADD, order):
        raise ValidationError(
            {"owner": ValidationError(_("You may not give orders to this person."), "invalid")}
        )
    amounts = sales_lines.compute(clean_lines, discount_percent=cleaned["discount_percent"])
    _set_amounts(order, amounts)
    with transaction.atomic():
        order.number = next_number("order")
        order.save()
        _write_lines(order, clean_lines, amounts)
        trail.record(
            actor=actor,
            action="create",
            target=order,
            changes=trail.diff({}, trail.snapshot(order, FIELDS)),
            extra={"lines": _lines_summary(order)},
        )
        _announce("record.created", order)
        _announce("order.created", order, account=order.account_id, total=str(order.total))
    return order


def order_create_from_quote(*, actor: User, quote: Quote) -> Order:
    """The order of a quote the customer accepted: its account, contact, opportunity,
    currency, discount, lines and amounts copied exactly, owned by the quote's owner.
    A quote gives one order only: a second call is refused (`already_ordered`), also when
    two arrive at the same moment (the database holds one order per quote)."""
    if not policy.has_grant(actor, Order.security_type, Action.ADD):
        raise _denied()
    if not policy.can(actor, Action.VIEW, quote):
        raise PermissionDenied(_("You may not do this to this quote."), code="quote_denied")
    already = ValidationError(
        {
            "quote": ValidationError(
                _("Quote %(number)s already has an order.") % {"number": quote},
                code="already_ordered",
            )
        }
    )
    if quote.status not in ORDERABLE_QUOTES:
        raise ValidationError(
            {
                "quote": ValidationError(
                    _("A quote that is “%(status)s” cannot become an order.")
                    % {"status": QuoteStatus(quote.status).label},
                    code="not_orderable",
                )
            }
        )
    try:
        with transaction.atomic():
            quote = Quote.objects.select_for_update().get(pk=quote.pk)
            if Order.objects.filter(quote=quote).exists():
                raise already
            order = Order(
                account_id=quote.account_id,
                contact_id=quote.contact_id,
                opportunity_id=quote.opportunity_id,
                quote=quote,
                warehouse=_default_warehouse(),
                currency=quote.currency,
                status=OrderStatus.DRAFT,
                order_date=timezone.localdate(),
                discount_percent=quote.discount_percent,
                subtotal=quote.subtotal,
                discount_total=quote.discount_total,
                tax_total=quote.tax_total,
                total=quote.total,
                notes=quote.notes,
                owner_id=quote.owner_id,
                created_by=actor,
            )
            order.number = next_number("order")
            with transaction.atomic():  # a concurrent order of this quote: refused, not a 500
                order.save()
            OrderLine.objects.bulk_create(
                [
                    OrderLine(
                        order=order,
                        position=position,
                        product_id=line.product_id,
                        description=line.description,
                        quantity=line.quantity,
                        unit=line.unit,
                        unit_price=line.unit_price,
                        discount_percent=line.discount_percent,
                        tax_percent=line.tax_percent,
                        net_amount=line.net_amount,
                        tax_amount=line.tax_amount,
                        total_amount=line.total_amount,
                    )
                    for position, line in enumerate(quote.lines.order_by("position", "id"), 1)
                ]
            )
            trail.record(
                actor=actor,
                action="create",
                target=order,
                changes=trail.diff({}, trail.snapshot(order, FIELDS)),
                extra={"quote": quote.pk, "lines": _lines_summary(order)},
            )
            _announce("record.created", order)
            _announce(
                "order.created",
                order,
                account=order.account_id,
                quote=quote.pk,
                total=str(order.total),
            )
    except IntegrityError as error:
        if Order.objects.filter(quote_id=quote.pk).exists():
            raise already from error
        raise
    return order


def order_update(*, actor: User, order: Order, **changes: Any) -> Order:
    """Change a draft order's header fields and, given `lines`, replace its lines (amounts
    computed again). A confirmed, shipped, done or cancelled order is not edited."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), "unknown_field") for name in unknown}
        )
    _require(actor, Action.CHANGE, order)
    errors: dict[str, list[ValidationError]] = {}
    header = {name: value for name, value in changes.items() if name != "lines"}
    account = header.get("account", order.account)
    # a changed account checks the contact and opportunity it keeps against it
    if "account" in header:
        header.setdefault("contact", order.contact)
        header.setdefault("opportunity", order.opportunity)
    elif "contact" in header or "opportunity" in header:
        header["account"] = account
    cleaned: dict[str, Any] = {}
    try:
        cleaned = _clean(actor, header)
    except ValidationError as error:
        errors.update(error.error_dict)
    clean_lines: list[sales_lines.CleanLine] | None = None
    if "lines" in changes:
        try:
            clean_lines = _clean_lines(changes["lines"])
        except ValidationError as error:
            errors.update(error.error_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        _require_status(order, {OrderStatus.DRAFT}, OrderStatus.DRAFT)
        before = trail.snapshot(order, FIELDS)
        lines_before = _lines_summary(order)
        for name, value in cleaned.items():
            setattr(order, name, value)
        if not policy.can(actor, Action.CHANGE, order) or (
            "owner" in cleaned and not policy.can_create(actor, Order, {"owner_id": order.owner_id})
        ):
            raise ValidationError(
                {"owner": ValidationError(_("You may not give orders to this person."), "invalid")}
            )
        if clean_lines is not None:
            order.lines.all().delete()
            amounts = sales_lines.compute(clean_lines, discount_percent=order.discount_percent)
            _write_lines(order, clean_lines, amounts)
        else:
            current = [
                sales_lines.CleanLine(
                    product=None,
                    description=line.description,
                    quantity=line.quantity,
                    unit=line.unit,
                    unit_price=line.unit_price,
                    discount_percent=line.discount_percent,
                    tax_percent=line.tax_percent,
                )
                for line in order.lines.all()
            ]
            amounts = sales_lines.compute(current, discount_percent=order.discount_percent)
            if "discount_percent" in cleaned:
                for line, line_amounts in zip(order.lines.all(), amounts.lines, strict=True):
                    line.net_amount = line_amounts.net_amount
                    line.tax_amount = line_amounts.tax_amount
                    line.total_amount = line_amounts.total_amount
                    line.save(update_fields=["net_amount", "tax_amount", "total_amount"])
        _set_amounts(order, amounts)
        changed = trail.diff(before, trail.snapshot(order, FIELDS))
        lines_after = _lines_summary(order)
        if not changed and lines_after == lines_before:
            return order
        order.save()
        extra = {"lines": [lines_before, lines_after]} if lines_after != lines_before else None
        trail.record(actor=actor, action="update", target=order, changes=changed, extra=extra)
        fields = sorted(set(changed) | ({"lines"} if extra else set()))
        _announce("record.updated", order, fields=fields)
    return order


def _require_status(order: Order, allowed: set[str], target: str) -> None:
    if order.status not in allowed:
        raise ValidationError(
            {
                "status": ValidationError(
                    _("An order that is “%(before)s” cannot become “%(after)s”.")
                    % {
                        "before": OrderStatus(order.status).label,
                        "after": OrderStatus(target).label,
                    },
                    code="invalid_transition",
                )
            }
        )


def _lock(order: Order) -> Order:
    return Order.objects.select_for_update(of=("self",)).get(pk=order.pk)


def _transition(
    actor: User,
    order: Order,
    target: str,
    *,
    stamp: str,
    stock: str | None,
    topic: str,
    reason: str = "",
    guard=None,
) -> Order:
    """Move a (locked) order to `target`: the stock effect `stock` (a function of
    `services.inventory`) in the same transaction, the time stamped, audited, announced."""
    _require(actor, Action.CHANGE, order)
    with transaction.atomic():
        order = _lock(order)
        allowed = {status for status, moves in MOVES.items() if target in moves}
        _require_status(order, allowed, target)
        if guard is not None:
            guard(order)
        before = order.status
        if stock is not None:
            from . import inventory

            getattr(inventory, stock)(actor=actor, order=order)
        now = timezone.now()
        order.status = target
        setattr(order, stamp, now)
        update_fields = ["status", stamp, "updated_at"]
        changes: dict[str, list[Any]] = {"status": [before, target]}
        if reason:
            order.cancel_reason = reason
            update_fields.append("cancel_reason")
            changes["cancel_reason"] = ["", reason]
        order.save(update_fields=update_fields)
        trail.record(actor=actor, action=target, target=order, changes=changes)
        _announce("record.updated", order, fields=sorted(changes))
        _announce(topic, order, before=before, after=target, account=order.account_id)
    return order


def order_confirm(*, actor: User, order: Order) -> Order:
    """Draft → confirmed: the stock of its tracked products is reserved in its warehouse
    (`services.inventory.stock_reserve_order`); not enough stock (and no back-orders)
    refuses the confirmation naming the line, and the order stays a draft."""
    return _transition(
        actor,
        order,
        OrderStatus.CONFIRMED,
        stamp="confirmed_at",
        stock="stock_reserve_order",
        topic="order.confirmed",
    )


def order_ship(*, actor: User, order: Order) -> Order:
    """Confirmed → shipped: its reservations become shipments (the stock falls)."""
    return _transition(
        actor,
        order,
        OrderStatus.SHIPPED,
        stamp="shipped_at",
        stock="stock_ship_order",
        topic="order.shipped",
    )


def order_complete(*, actor: User, order: Order) -> Order:
    """Shipped → done."""
    return _transition(
        actor, order, OrderStatus.DONE, stamp="done_at", stock=None, topic="order.done"
    )


def _not_invoiced(order: Order) -> None:
    """An order whose issued invoices are not all credited cannot be cancelled; nor one
    with a draft invoice (cancel the draft first)."""
    from ..models import Invoice

    if order.invoiced_total > 0:
        raise ValidationError(
            {
                "status": ValidationError(
                    _("This order has issued invoices; credit them before cancelling it."),
                    code="invoiced",
                )
            }
        )
    if Invoice.objects.filter(
        order=order, kind=InvoiceKind.INVOICE, status=InvoiceStatus.DRAFT
    ).exists():
        raise ValidationError(
            {
                "status": ValidationError(
                    _("This order has a draft invoice; cancel it before cancelling the order."),
                    code="invoiced",
                )
            }
        )


def order_cancel(*, actor: User, order: Order, reason: str) -> Order:
    """Draft or confirmed → cancelled, with the reason; a confirmed order's reservations are
    released (`services.inventory.stock_release_order`). An order invoiced and not fully
    credited is not cancelled."""
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise ValidationError(
            {"reason": ValidationError(_("Say why the order is cancelled."), code="required")}
        )
    if len(reason) > 300:
        raise ValidationError(
            {"reason": ValidationError(_("At most %(n)d characters.") % {"n": 300}, "max_length")}
        )
    _require(actor, Action.CHANGE, order)
    with transaction.atomic():
        locked = _lock(order)
        release = locked.status == OrderStatus.CONFIRMED
        return _transition(
            actor,
            locked,
            OrderStatus.CANCELLED,
            stamp="cancelled_at",
            stock="stock_release_order" if release else None,
            topic="order.cancelled",
            reason=reason,
            guard=_not_invoiced,
        )
