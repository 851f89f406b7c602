"""The demo catalogue: a bilingual tree, ~40 products with variants, tier-A and South China
price lists, stock in two warehouses (one product low); a second run adds nothing."""

from __future__ import annotations

import random

import pytest

from rapport.sales.models import PriceList, Product, ProductCategory, StockLevel, StockMovement
from rapport.sales.prices import price_for
from rapport.web.demo_sales_catalogue import generate_catalogue
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_demo_catalogue(org):
    summary = generate_catalogue(admin=org["admin"], rng=random.Random(7))
    assert summary["products"] >= 35
    assert ProductCategory.objects.filter(parent__isnull=True, name_en="Software").exists()
    assert Product.objects.filter(parent__isnull=False).count() >= 8
    assert set(PriceList.objects.values_list("name_en", flat=True)) >= {
        "Tier A prices",
        "South China prices",
    }
    assert StockLevel.objects.values("warehouse").distinct().count() == 2
    assert StockMovement.objects.filter(kind="transfer_in").count() == 1
    assert any(
        level.on_hand <= level.product.low_stock_threshold
        for level in StockLevel.objects.select_related("product")
        if level.product.low_stock_threshold is not None
    )
    pad = Product.objects.get(sku="TRM-PAD")
    customer = AccountFactory(owner=org["rep_sh"], tier="A", province="广东")
    assert price_for(product=pad, account=customer) < pad.list_price
    again = generate_catalogue(admin=org["admin"], rng=random.Random(7))
    assert again["products_created"] == 0
    assert StockMovement.objects.filter(kind="transfer_in").count() == 1
