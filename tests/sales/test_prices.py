"""The price a customer pays: the most specific price list in force for the account's tier
and province in the currency wins; volume breaks; else the product's list price."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from rapport.sales.models import PriceList, PriceListItem
from rapport.sales.prices import find_price, price_for
from tests.factories import AccountFactory, ProductFactory

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = date(2026, 6, 1)


def _list(name, *, tier="", province="", currency="CNY", **options):
    return PriceList.objects.create(
        name=name, tier=tier, province=province, currency=currency, **options
    )


def _item(price_list, product, price, min_quantity="1"):
    return PriceListItem.objects.create(
        price_list=price_list, product=product, unit_price=D(price), min_quantity=D(min_quantity)
    )


@pytest.fixture
def product():
    return ProductFactory(list_price=D("100.00"))


@pytest.fixture
def account(org):
    return AccountFactory(owner=org["rep_sh"], tier="A", province="广东")


def test_without_a_price_list_the_list_price(product, account):
    assert price_for(product=product, account=account, on=TODAY) == D("100.00")


def test_more_specific_lists_win(product, account):
    _item(_list("所有客户"), product, "95")
    assert price_for(product=product, account=account, on=TODAY) == D("95")
    _item(_list("广东", province="广东"), product, "92")
    assert price_for(product=product, account=account, on=TODAY) == D("92")
    _item(_list("A级", tier="A"), product, "90")
    assert price_for(product=product, account=account, on=TODAY) == D("90")
    _item(_list("A级广东", tier="A", province="广东"), product, "85")
    assert price_for(product=product, account=account, on=TODAY) == D("85")
    # without an account only the list for everyone applies
    assert price_for(product=product, on=TODAY) == D("95")


def test_lists_for_another_tier_or_province_do_not_apply(product, account):
    _item(_list("B级", tier="B"), product, "50")
    _item(_list("北京", province="北京"), product, "60")
    assert price_for(product=product, account=account, on=TODAY) == D("100.00")


def test_a_specific_list_without_the_product_falls_back(product, account):
    _item(_list("所有客户"), product, "95")
    _list("A级", tier="A")  # prices other products only
    assert price_for(product=product, account=account, on=TODAY) == D("95")


def test_volume_breaks_take_the_highest_minimum_reached(product, account):
    tier_a = _list("A级", tier="A")
    _item(tier_a, product, "90")
    _item(tier_a, product, "80", min_quantity="10")
    _item(tier_a, product, "70", min_quantity="100")
    assert price_for(product=product, account=account, quantity=D("9.5"), on=TODAY) == D("90")
    assert price_for(product=product, account=account, quantity=D("10"), on=TODAY) == D("80")
    assert price_for(product=product, account=account, quantity=D("500"), on=TODAY) == D("70")


def test_only_lists_in_force_and_active_apply(product, account):
    _item(_list("旧", tier="A", valid_until=date(2026, 5, 31)), product, "70")
    _item(_list("新", tier="A", valid_from=date(2026, 6, 2)), product, "75")
    _item(_list("停用", tier="A", is_active=False), product, "60")
    assert price_for(product=product, account=account, on=TODAY) == D("100.00")
    assert price_for(product=product, account=account, on=date(2026, 5, 31)) == D("70")
    assert price_for(product=product, account=account, on=date(2026, 6, 2)) == D("75")
    _item(_list("六月", tier="A", valid_from=TODAY, valid_until=TODAY), product, "77")
    assert price_for(product=product, account=account, on=TODAY) == D("77")


def test_currency_must_match(product, account):
    _item(_list("USD A", tier="A", currency="USD"), product, "14")
    assert price_for(product=product, account=account, currency="USD", on=TODAY) == D("14")
    assert price_for(product=product, account=account, on=TODAY) == D("100.00")
    assert find_price(product=product, currency="EUR", on=TODAY) is None
    with pytest.raises(ValidationError) as refused:
        price_for(product=product, currency="EUR", on=TODAY)
    assert refused.value.error_dict["unit_price"][0].code == "no_price"


def test_one_query(product, account, django_assert_num_queries):
    _item(_list("A级", tier="A"), product, "90")
    with django_assert_num_queries(1):
        assert price_for(product=product, account=account, on=TODAY) == D("90")
