"""Catalogue and stock pages: they render for those who may see them (in both languages),
forms put the service's errors beside the field and store nothing, lists keep their query
count whatever the number of rows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from rapport.sales.models import (
    PriceList,
    PriceListItem,
    Product,
    ProductCategory,
    StockLevel,
    StockMovement,
    Warehouse,
)
from rapport.sales.services import inventory
from tests.factories import ProductFactory
from tests.query_counts import assert_flat

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, org):
    client.force_login(org["admin"])
    return client


@pytest.fixture
def main():
    return Warehouse.objects.get(code="main")


def _pages(product, price_list):
    return [
        reverse("sales:product_list"),
        reverse("sales:product_detail", args=[product.pk]),
        reverse("sales:product_create"),
        reverse("sales:product_edit", args=[product.pk]),
        reverse("sales:product_category_list"),
        reverse("sales:price_list_list"),
        reverse("sales:price_list_edit", args=[price_list.pk]),
        reverse("sales:tax_rate_list"),
        reverse("sales:warehouse_list"),
        reverse("sales:stock_list"),
        reverse("sales:movement_list"),
        reverse("sales:stock_move", args=["receipt"]),
        reverse("sales:stock_move", args=["adjustment"]),
        reverse("sales:stock_move", args=["transfer"]),
    ]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_page_renders(admin_client, org, main, language):
    product = ProductFactory(low_stock_threshold=5)
    ProductFactory(parent=product, variant_attributes={"颜色": "红"})
    inventory.stock_receive(actor=org["admin"], warehouse=main, product=product, quantity=3)
    price_list = PriceList.objects.create(name="A级", tier="A")
    PriceListItem.objects.create(price_list=price_list, product=product, unit_price=90)
    with translation.override(language):
        for url in _pages(product, price_list):
            response = admin_client.get(url, HTTP_ACCEPT_LANGUAGE=language)
            assert response.status_code == 200, url
    detail = admin_client.get(reverse("sales:product_detail", args=[product.pk])).content.decode()
    assert 'data-warehouse="main"' in detail and "颜色" in detail
    low = admin_client.get(reverse("sales:stock_list"), {"low": "1"}).content.decode()
    assert 'data-testid="low-stock"' in low


def test_reps_read_the_catalogue_but_not_its_administration(client, org):
    client.force_login(org["rep_sh"])
    product = ProductFactory()
    assert client.get(reverse("sales:product_list")).status_code == 200
    assert client.get(reverse("sales:product_detail", args=[product.pk])).status_code == 200
    assert client.get(reverse("sales:stock_list")).status_code == 200
    for url in (
        reverse("sales:product_create"),
        reverse("sales:tax_rate_list"),
        reverse("sales:warehouse_list"),
        reverse("sales:stock_move", args=["receipt"]),
    ):
        assert client.get(url).status_code == 403, url
    client.force_login(org["agent"])
    assert client.get(reverse("sales:product_list")).status_code == 403


def test_product_form_shows_the_error_beside_the_field(admin_client):
    ProductFactory(sku="CRM-PRO")
    response = admin_client.post(
        reverse("sales:product_create"),
        {"sku": "crm-pro", "name": "重复", "list_price": "-1", "currency": "CNY", "unit": "个"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-field-error="sku"' in body and 'data-field-error="list_price"' in body
    assert Product.objects.count() == 1
    created = admin_client.post(
        reverse("sales:product_create"),
        {"sku": "CRM-STD", "name": "标准版", "list_price": "9800", "currency": "CNY", "unit": "套"},
    )
    assert created.status_code == 302
    assert Product.objects.get(sku="CRM-STD").list_price == Decimal("9800")


def test_stock_forms(admin_client, main):
    product = ProductFactory()
    response = admin_client.post(
        reverse("sales:stock_move", args=["receipt"]),
        {"product": product.pk, "warehouse": main.pk, "quantity": "12"},
    )
    assert response.status_code == 302
    assert StockLevel.objects.get(product=product, warehouse=main).on_hand == 12
    refused = admin_client.post(
        reverse("sales:stock_move", args=["adjustment"]),
        {"product": product.pk, "warehouse": main.pk, "counted": "10", "note": ""},
    )
    assert 'data-field-error="note"' in refused.content.decode()
    assert StockMovement.objects.count() == 1


def test_category_and_price_list_forms(admin_client):
    admin_client.post(
        reverse("sales:product_category_list"), {"name": "软件", "name_en": "Software"}
    )
    assert ProductCategory.objects.filter(name="软件").exists()
    admin_client.post(
        reverse("sales:price_list_list"), {"name": "全部客户", "currency": "CNY", "is_active": "on"}
    )
    overlapping = admin_client.post(
        reverse("sales:price_list_list"),
        {"name": "全部客户2", "currency": "CNY", "is_active": "on"},
    )
    assert 'data-field-error="valid_from"' in overlapping.content.decode()
    assert PriceList.objects.count() == 1


def test_lists_keep_their_query_count(admin_client, org, main):
    def more_products(count):
        for product in ProductFactory.create_batch(count):
            inventory.stock_receive(actor=org["admin"], warehouse=main, product=product, quantity=2)

    assert_flat(
        admin_client,
        reverse("sales:product_list"),
        more_products,
        few=2,
        many=12,
        rows=lambda body: body.count("data-product-row="),
    )
    assert_flat(
        admin_client,
        reverse("sales:stock_list"),
        more_products,
        few=2,
        many=12,
        rows=lambda body: body.count("data-stock-row="),
    )
    assert_flat(
        admin_client,
        reverse("sales:movement_list"),
        more_products,
        few=2,
        many=12,
        rows=lambda body: body.count("data-movement-row="),
    )
