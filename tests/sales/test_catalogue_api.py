"""The catalogue through the API: everyone in sales reads products, categories, tax rates,
price lists and prices; only catalogue managers write; errors name the field."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.audit.models import AuditEvent
from rapport.core import search
from rapport.sales.models import PriceListItem, Product
from tests.factories import AccountFactory, ProductFactory
from tests.service.test_ticket_api import api_for

pytestmark = pytest.mark.django_db
PRODUCTS = "/api/v1/sales/products/"
CATEGORIES = "/api/v1/sales/product-categories/"
PRICE_LISTS = "/api/v1/sales/price-lists/"


def test_managers_create_products_and_reps_read_them(org):
    admin = api_for(org["admin"])
    category = admin.post(CATEGORIES, {"name": "软件", "name_en": "Software"}, format="json")
    assert category.status_code == 201
    created = admin.post(
        PRODUCTS,
        {
            "sku": "CRM-PRO",
            "name": "客户管理专业版",
            "name_en": "CRM Professional",
            "category": category.json()["id"],
            "list_price": "19800.00",
            "track_inventory": False,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["list_price"] == "19800.00" and body["tax_percent"] == "13.00"
    rep = api_for(org["rep_sh"])
    listed = rep.get(PRODUCTS, {"category": category.json()["id"]}).json()["results"]
    assert [row["sku"] for row in listed] == ["CRM-PRO"]
    assert rep.get(f"{PRODUCTS}{body['id']}/").json()["display_name"] == "CRM Professional"
    assert rep.post(PRODUCTS, {"sku": "X", "name": "X"}, format="json").status_code == 403
    assert rep.patch(f"{PRODUCTS}{body['id']}/", {"name": "Y"}, format="json").status_code == 403


def test_bad_product_input_names_the_fields(org):
    admin = api_for(org["admin"])
    ProductFactory(sku="CRM-PRO")
    response = admin.post(
        PRODUCTS, {"sku": "crm-pro", "name": "x", "list_price": "-5"}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error["fields"]) == {"sku", "list_price"}
    assert Product.objects.count() == 1


def test_product_search_by_sku_and_name(org):
    router = ProductFactory(sku="ROUTER-1", name="企业路由器")
    switch = ProductFactory(sku="SWITCH-1", name="交换机")
    search.refresh("sales.product", [router.pk, switch.pk])  # as the write's event does
    rep = api_for(org["rep_sh"])
    assert [r["sku"] for r in rep.get(PRODUCTS, {"q": "router"}).json()["results"]] == ["ROUTER-1"]
    assert [r["sku"] for r in rep.get(PRODUCTS, {"q": "交换机"}).json()["results"]] == ["SWITCH-1"]


def test_deleting_a_used_product_deactivates_it(org):
    admin = api_for(org["admin"])
    unused, used = ProductFactory(), ProductFactory()
    used_variant = ProductFactory(parent=used)
    assert admin.delete(f"{PRODUCTS}{unused.pk}/").status_code == 204
    response = admin.delete(f"{PRODUCTS}{used.pk}/")
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert Product.objects.filter(pk__in=[used.pk, used_variant.pk]).count() == 2


def test_product_list_queries_do_not_grow(org):
    rep = api_for(org["rep_sh"])
    ProductFactory.create_batch(2)
    rep.get(PRODUCTS)
    with CaptureQueriesContext(connection) as few:
        rep.get(PRODUCTS)
    ProductFactory.create_batch(20)
    with CaptureQueriesContext(connection) as many:
        assert len(rep.get(PRODUCTS).json()["results"]) == 22
    assert len(many) == len(few)


def test_price_lists_with_items_and_overlap_refused(org):
    admin = api_for(org["admin"])
    product = ProductFactory(list_price=100)
    first = admin.post(
        PRICE_LISTS, {"name": "A级", "tier": "A", "valid_from": "2026-01-01"}, format="json"
    )
    assert first.status_code == 201
    overlapping = admin.post(PRICE_LISTS, {"name": "A级2", "tier": "A"}, format="json")
    assert overlapping.status_code == 400
    error = overlapping.json()["error"]
    assert {"valid_from", "valid_until"} <= set(error["fields"])
    items = f"{PRICE_LISTS}{first.json()['id']}/items/"
    set_price = admin.post(
        items, {"product": product.pk, "unit_price": "90", "min_quantity": "10"}, format="json"
    )
    assert set_price.status_code == 200 and set_price.json()["unit_price"] == "90.00"
    negative = admin.post(items, {"product": product.pk, "unit_price": "-1"}, format="json")
    assert negative.status_code == 400 and "unit_price" in negative.json()["error"]["fields"]
    rep = api_for(org["rep_sh"])
    assert [row["min_quantity"] for row in rep.get(items).json()] == ["10.000"]
    assert (
        rep.post(items, {"product": product.pk, "unit_price": "1"}, format="json").status_code
        == 403
    )
    item = PriceListItem.objects.get()
    assert admin.delete(f"{items}{item.pk}/").status_code == 204
    assert not PriceListItem.objects.exists()
    assert AuditEvent.objects.filter(action__in=["price.set", "price.remove"]).count() == 2


def test_price_lookup_for_an_account_the_caller_sees(org):
    admin = api_for(org["admin"])
    product = ProductFactory(list_price=Decimal("100"))
    price_list = admin.post(PRICE_LISTS, {"name": "A级", "tier": "A"}, format="json").json()
    admin.post(
        f"{PRICE_LISTS}{price_list['id']}/items/",
        {"product": product.pk, "unit_price": "88"},
        format="json",
    )
    mine = AccountFactory(owner=org["rep_sh"], tier="A")
    theirs = AccountFactory(owner=org["rep_south"], tier="A")
    rep = api_for(org["rep_sh"])
    answer = rep.get("/api/v1/sales/price/", {"product": product.pk, "account": mine.pk})
    assert answer.status_code == 200 and answer.json()["unit_price"] == "88.00"
    plain = rep.get("/api/v1/sales/price/", {"product": product.pk})
    assert plain.json()["unit_price"] == "100.00"
    hidden = rep.get("/api/v1/sales/price/", {"product": product.pk, "account": theirs.pk})
    assert hidden.status_code == 404
    assert rep.get("/api/v1/sales/price/", {"product": "x"}).status_code == 400


def test_tax_rates_and_categories(org):
    admin = api_for(org["admin"])
    rates = admin.get("/api/v1/sales/tax-rates/").json()["results"]
    assert sorted(Decimal(r["rate"]) for r in rates) == [0, 6, 9, 13]
    made = admin.post("/api/v1/sales/tax-rates/", {"name": "3%", "rate": "3"}, format="json")
    assert made.status_code == 201
    top = admin.post(CATEGORIES, {"name": "硬件"}, format="json").json()
    child = admin.post(CATEGORIES, {"name": "服务器", "parent": top["id"]}, format="json").json()
    cycle = admin.patch(f"{CATEGORIES}{top['id']}/", {"parent": child["id"]}, format="json")
    assert cycle.status_code == 400 and cycle.json()["error"]["fields"]["parent"]
    assert api_for(org["marketer"]).get(CATEGORIES).status_code == 200
    assert api_for(org["agent"]).get(CATEGORIES).status_code == 403
