"""The arithmetic of priced documents (quotes, orders, invoices), pure and in Decimal.

A line's net amount is quantity × unit price less the line's discount; the document's
overall discount then applies to every line's net amount alike; VAT is computed per line on
the discounted net (rounded half-up to the cent, as China's invoicing does) and summed.
Nothing here touches the database: the services call it and store what it returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
ZERO = Decimal("0")


def money(value: Decimal | int | str) -> Decimal:
    """`value` rounded half-up to the cent."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal = ZERO
    tax_percent: Decimal = ZERO


@dataclass(frozen=True)
class LineAmounts:
    gross_amount: Decimal  # quantity × unit price, before any discount
    net_amount: Decimal  # after the line's and the overall discount
    tax_amount: Decimal
    total_amount: Decimal


@dataclass(frozen=True)
class DocumentAmounts:
    lines: tuple[LineAmounts, ...]
    subtotal: Decimal  # lines after their own discounts, before the overall discount
    discount_total: Decimal  # every discount: gross − net
    effective_discount_percent: Decimal  # discount_total as a share of the gross
    tax_total: Decimal
    total: Decimal


def _discounted(amount: Decimal, percent: Decimal) -> Decimal:
    return money(amount * (HUNDRED - percent) / HUNDRED)


def compute(lines: Iterable[LineInput], *, discount_percent: Decimal = ZERO) -> DocumentAmounts:
    """The amounts of a document with `lines` and an overall `discount_percent`.

    Inputs are assumed valid (quantities > 0, prices ≥ 0, percentages 0–100): the services
    check them first and name the field that is wrong."""
    computed: list[LineAmounts] = []
    subtotal = gross_total = net_total = tax_total = ZERO
    for line in lines:
        gross = money(line.quantity * line.unit_price)
        after_line_discount = _discounted(gross, line.discount_percent)
        net = _discounted(after_line_discount, discount_percent)
        tax = money(net * line.tax_percent / HUNDRED)
        computed.append(
            LineAmounts(gross_amount=gross, net_amount=net, tax_amount=tax, total_amount=net + tax)
        )
        subtotal += after_line_discount
        gross_total += gross
        net_total += net
        tax_total += tax
    discount_total = gross_total - net_total
    effective = money(discount_total * HUNDRED / gross_total) if gross_total else ZERO
    return DocumentAmounts(
        lines=tuple(computed),
        subtotal=subtotal,
        discount_total=discount_total,
        effective_discount_percent=effective,
        tax_total=tax_total,
        total=net_total + tax_total,
    )
