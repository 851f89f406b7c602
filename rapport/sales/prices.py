"""What a product costs a customer: the price lookup quotes, orders and the API use.

A price list applies to an account when its tier is blank or the account's tier, its
province blank or the account's province, its currency the one asked for, it is active and
`on` lies inside its validity. Of the lists that apply and price the product, the most
specific wins: tier and province beat tier alone, which beats province alone, which beats a
list for everyone. Inside the winning list the item with the highest minimum quantity not
above the quantity asked for gives the unit price (volume breaks). With no list pricing the
product, its list price applies when the product is priced in that currency.

A document may name its price list (a quote's "price list"): that list's price for the
product (with its volume breaks) then comes first, and the lookup above only when the list
does not price the product.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import PriceList, PriceListItem, Product


def lists_in_force(*, account=None, currency: str = "CNY", on: date | None = None) -> Q:
    """The condition on PriceList for the lists that apply to `account` on `on`."""
    on = on or timezone.localdate()
    tier = (getattr(account, "tier", "") or "") if account is not None else ""
    province = (getattr(account, "province", "") or "") if account is not None else ""
    return (
        Q(is_active=True, currency=currency)
        & (Q(valid_from__isnull=True) | Q(valid_from__lte=on))
        & (Q(valid_until__isnull=True) | Q(valid_until__gte=on))
        & Q(tier__in={"", tier})
        & Q(province__in={"", province})
    )


def _specificity(prefix: str = "") -> Case:
    """3 for tier and province, 2 tier alone, 1 province alone, 0 for everyone."""
    tier, province = f"{prefix}tier", f"{prefix}province"
    return Case(
        When(~Q(**{tier: ""}) & ~Q(**{province: ""}), then=Value(3)),
        When(~Q(**{tier: ""}), then=Value(2)),
        When(~Q(**{province: ""}), then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


def find_price(
    *,
    product: Product,
    account=None,
    quantity: Decimal = Decimal(1),
    currency: str = "CNY",
    on: date | None = None,
    price_list: PriceList | None = None,
) -> Decimal | None:
    """The unit price of `quantity` of `product` for `account`, or None when neither a
    price list nor the product's list price gives one in `currency`. One query (two when
    the named `price_list` does not price the product)."""
    quantity = Decimal(quantity)
    if price_list is not None and price_list.currency == currency:
        chosen = (
            PriceListItem.objects.filter(
                product=product, min_quantity__lte=quantity, price_list=price_list
            )
            .order_by("-min_quantity")
            .values_list("unit_price", flat=True)
            .first()
        )
        if chosen is not None:
            return chosen
    lists = PriceList.objects.filter(lists_in_force(account=account, currency=currency, on=on))
    item = (
        PriceListItem.objects.filter(
            product=product, min_quantity__lte=quantity, price_list__in=lists.values("pk")
        )
        .annotate(specificity=_specificity("price_list__"))
        .order_by("-specificity", "-min_quantity", "price_list_id")
        .values_list("unit_price", flat=True)
        .first()
    )
    if item is not None:
        return item
    if product.currency == currency:
        return product.list_price
    return None


def price_for(
    *,
    product: Product,
    account=None,
    quantity: Decimal = Decimal(1),
    currency: str = "CNY",
    on: date | None = None,
) -> Decimal:
    """As `find_price`; raises ValidationError (code `no_price`, on `unit_price`) when the
    product has no price in `currency` — the caller then asks for a price to be entered."""
    price = find_price(
        product=product, account=account, quantity=quantity, currency=currency, on=on
    )
    if price is None:
        raise ValidationError(
            {
                "unit_price": ValidationError(
                    _("%(product)s has no price in %(currency)s; enter the unit price.")
                    % {"product": product.display_name, "currency": currency},
                    code="no_price",
                )
            }
        )
    return price


def price_of_for(
    *,
    account=None,
    currency: str = "CNY",
    on: date | None = None,
    price_list: PriceList | None = None,
):
    """A `price_of(product, quantity)` callable for `rapport.sales.lines.clean_lines`: the
    catalogue price for `account` (the named `price_list` first), or the product's list
    price when none is found in `currency` (so a line is never left without a price)."""

    def price_of(product: Product, quantity: Decimal) -> Decimal:
        found = find_price(
            product=product,
            account=account,
            quantity=quantity,
            currency=currency,
            on=on,
            price_list=price_list,
        )
        return product.list_price if found is None else found

    return price_of
