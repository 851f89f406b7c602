"""Cleaning the lines of a priced document (quote, order, invoice) from what a form, the API
or the CLI sent, and computing their amounts.

Every problem is reported against the line it is on — `lines.2.quantity` — so the page shows
it beside the field and the API names it; nothing is stored until every line is clean."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from . import pricing
from .models import Product

HUNDRED = Decimal("100")
MAX_LINES = 500
# 10^12 per unit and 10^10 units keep every amount inside Decimal(18, 2)
MAX_UNIT_PRICE = Decimal("1000000000000")
MAX_QUANTITY = Decimal("10000000000")

PriceOf = Callable[[Product, Decimal], Decimal]


@dataclass
class CleanLine:
    product: Product | None
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    discount_percent: Decimal
    tax_percent: Decimal

    def as_input(self) -> pricing.LineInput:
        return pricing.LineInput(
            self.quantity, self.unit_price, self.discount_percent, self.tax_percent
        )


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _product_id(value: Any) -> int | None:
    """A product given by id (an int, or digits from a form); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def percent(
    value: Any, *, name: str, errors: dict[str, list[ValidationError]], default=Decimal(0)
) -> Decimal:
    """A percentage 0–100 with at most two decimals, or an error against `name`."""
    if value is None or value == "":
        return default
    number = _decimal(value)
    if number is None:
        errors.setdefault(name, []).append(ValidationError(_("Enter a number."), code="invalid"))
        return default
    if not Decimal(0) <= number <= HUNDRED:
        errors.setdefault(name, []).append(
            ValidationError(_("Enter a percentage from 0 to 100."), code="out_of_range")
        )
        return default
    if number != number.quantize(Decimal("0.01")):
        errors.setdefault(name, []).append(
            ValidationError(_("Use at most two decimal places."), code="too_precise")
        )
        return default
    return number


def clean_lines(
    raw_lines: Sequence[Mapping[str, Any]],
    *,
    price_of: PriceOf | None = None,
    products: Mapping[int, Product] | None = None,
    required: bool = True,
) -> list[CleanLine]:
    """The lines, checked and completed; raises one ValidationError naming every bad field.

    Each raw line has `product` (a Product or its id, optional), `description` (defaults to
    the product's name), `quantity` (> 0), `unit`, `unit_price` (≥ 0; defaults to
    `price_of(product, quantity)` or the product's list price), `discount_percent` and
    `tax_percent` (0–100; the tax defaults to the product's rate)."""
    errors: dict[str, list[ValidationError]] = {}
    if required and not raw_lines:
        raise ValidationError(
            {"lines": ValidationError(_("Add at least one line."), code="required")}
        )
    if len(raw_lines) > MAX_LINES:
        raise ValidationError(
            {
                "lines": ValidationError(
                    _("A document has at most %(count)d lines.") % {"count": MAX_LINES},
                    code="too_many",
                )
            }
        )
    wanted_ids = {_product_id(raw.get("product")) for raw in raw_lines} - {None}
    known = dict(products or {})
    missing = wanted_ids - set(known)
    if missing:
        known.update(
            Product.objects.select_related("tax_rate").in_bulk(
                [pk for pk in missing if 0 < pk < 2**63]
            )
        )
    cleaned: list[CleanLine] = []
    for index, raw in enumerate(raw_lines):
        prefix = f"lines.{index}"
        product = raw.get("product")
        product_given = product not in (None, "")
        if product_given and not isinstance(product, Product):
            product_id = _product_id(product)
            product = known.get(product_id) if product_id is not None else None
            if product is None:
                errors.setdefault(f"{prefix}.product", []).append(
                    ValidationError(_("Choose a product from the catalogue."), code="invalid")
                )
        if isinstance(product, Product) and not product.is_active:
            errors.setdefault(f"{prefix}.product", []).append(
                ValidationError(_("This product is no longer sold."), code="inactive")
            )
        quantity = _decimal(raw.get("quantity", 1))
        if quantity is None:
            errors.setdefault(f"{prefix}.quantity", []).append(
                ValidationError(_("Enter a number."), code="invalid")
            )
        elif quantity <= 0 or quantity > MAX_QUANTITY:
            errors.setdefault(f"{prefix}.quantity", []).append(
                ValidationError(_("The quantity must be more than zero."), code="out_of_range")
            )
            quantity = None
        elif quantity != quantity.quantize(Decimal("0.001")):
            errors.setdefault(f"{prefix}.quantity", []).append(
                ValidationError(_("Use at most three decimal places."), code="too_precise")
            )
            quantity = None
        raw_price = raw.get("unit_price")
        unit_price: Decimal | None
        if raw_price is None or raw_price == "":
            if isinstance(product, Product) and quantity is not None:
                unit_price = price_of(product, quantity) if price_of else product.list_price
            elif isinstance(product, Product):
                unit_price = product.list_price
            else:
                unit_price = None
                if not product_given:  # a bad product is reported once, on the product
                    errors.setdefault(f"{prefix}.unit_price", []).append(
                        ValidationError(_("Enter the unit price."), code="required")
                    )
        else:
            unit_price = _decimal(raw_price)
            if unit_price is None:
                errors.setdefault(f"{prefix}.unit_price", []).append(
                    ValidationError(_("Enter a number."), code="invalid")
                )
            elif unit_price < 0 or unit_price > MAX_UNIT_PRICE:
                errors.setdefault(f"{prefix}.unit_price", []).append(
                    ValidationError(_("The price cannot be negative."), code="out_of_range")
                )
                unit_price = None
            elif unit_price != unit_price.quantize(Decimal("0.01")):
                errors.setdefault(f"{prefix}.unit_price", []).append(
                    ValidationError(_("Use at most two decimal places."), code="too_precise")
                )
                unit_price = None
        discount = percent(
            raw.get("discount_percent"), name=f"{prefix}.discount_percent", errors=errors
        )
        default_tax = (
            product.tax_rate.rate
            if isinstance(product, Product) and product.tax_rate_id
            else Decimal(0)
        )
        tax = percent(
            raw.get("tax_percent"),
            name=f"{prefix}.tax_percent",
            errors=errors,
            default=default_tax,
        )
        description = str(raw.get("description") or "").strip()
        if not description and isinstance(product, Product):
            description = product.display_name
        if not description and not product_given:
            errors.setdefault(f"{prefix}.description", []).append(
                ValidationError(_("Describe the line or choose a product."), code="required")
            )
        elif len(description) > 300:
            errors.setdefault(f"{prefix}.description", []).append(
                ValidationError(_("At most 300 characters."), code="max_length")
            )
        unit = str(raw.get("unit") or (product.unit if isinstance(product, Product) else ""))
        if quantity is not None and unit_price is not None and description:
            cleaned.append(
                CleanLine(
                    product=product if isinstance(product, Product) else None,
                    description=description,
                    quantity=quantity,
                    unit=unit[:20],
                    unit_price=unit_price,
                    discount_percent=discount,
                    tax_percent=tax,
                )
            )
    if errors:
        raise ValidationError(errors)
    return cleaned


def compute(lines: Sequence[CleanLine], *, discount_percent: Decimal) -> pricing.DocumentAmounts:
    return pricing.compute([line.as_input() for line in lines], discount_percent=discount_percent)
