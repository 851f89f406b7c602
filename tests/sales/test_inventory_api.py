"""Stock through the API: reps read levels, finance records receipts, counts and transfers,
administrators keep warehouses; errors name the field; lists do not grow in queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.sales.models import StockLevel, StockMovement, Warehouse
from tests.factories import ProductFactory, WarehouseFactory
from tests.service.test_ticket_api import api_for

pytestmark = pytest.mark.django_db
MOVEMENTS = "/api/v1/sales/stock-movements/"
STOCK = "/api/v1/sales/stock/"


@pytest.fixture
def main():
    return Warehouse.objects.get(code="main")


def test_receipt_count_and_transfer(org, main):
    finance = api_for(org["finance"])
    south = WarehouseFactory(code="south")
    box = ProductFactory(low_stock_threshold=3)
    received = finance.post(
        MOVEMENTS,
        {"kind": "receipt", "product": box.pk, "warehouse": main.pk, "quantity": "10"},
        format="json",
    )
    assert received.status_code == 201
    assert received.json()[0]["on_hand_after"] == "10.000"
    counted = finance.post(
        MOVEMENTS,
        {
            "kind": "adjustment",
            "product": box.pk,
            "warehouse": main.pk,
            "counted": 8,
            "note": "盘点",
        },
        format="json",
    )
    assert counted.json()[0]["quantity"] == "-2.000"
    moved = finance.post(
        MOVEMENTS,
        {
            "kind": "transfer",
            "product": box.pk,
            "warehouse": main.pk,
            "destination": south.pk,
            "quantity": "6",
        },
        format="json",
    )
    assert [m["kind"] for m in moved.json()] == ["transfer_out", "transfer_in"]
    rep = api_for(org["rep_sh"])
    levels = rep.get(STOCK, {"product": box.pk}).json()["results"]
    assert {(row["warehouse"]["code"], row["on_hand"], row["is_low"]) for row in levels} == {
        ("main", "2.000", True),
        ("south", "6.000", False),
    }
    low = rep.get(STOCK, {"low": "true"}).json()["results"]
    assert [row["warehouse"]["code"] for row in low] == ["main"]
    history = rep.get(MOVEMENTS, {"product": box.pk, "warehouse": main.pk}).json()["results"]
    assert [row["kind"] for row in history] == ["transfer_out", "adjustment", "receipt"]


def test_bad_movements_name_the_field_and_store_nothing(org, main):
    finance = api_for(org["finance"])
    box = ProductFactory()
    short = finance.post(
        MOVEMENTS,
        {"kind": "adjustment", "product": box.pk, "warehouse": main.pk, "counted": "-1"},
        format="json",
    )
    assert short.status_code == 400
    assert {"counted", "note"} <= set(short.json()["error"]["fields"])
    too_much = finance.post(
        MOVEMENTS,
        {
            "kind": "transfer",
            "product": box.pk,
            "warehouse": main.pk,
            "destination": WarehouseFactory().pk,
            "quantity": "1",
        },
        format="json",
    )
    assert too_much.status_code == 400
    assert too_much.json()["error"]["fields"]["quantity"]
    assert not StockMovement.objects.exists()


def test_reps_read_but_do_not_move_stock(org, main):
    rep = api_for(org["rep_sh"])
    box = ProductFactory()
    response = rep.post(
        MOVEMENTS,
        {"kind": "receipt", "product": box.pk, "warehouse": main.pk, "quantity": "1"},
        format="json",
    )
    assert response.status_code == 403
    assert rep.get(STOCK).status_code == 200
    assert api_for(org["agent"]).get(STOCK).status_code == 403
    assert api_for(org["marketer"]).get(MOVEMENTS).status_code == 403


def test_warehouses_are_kept_by_administrators(org, main):
    admin = api_for(org["admin"])
    made = admin.post(
        "/api/v1/sales/warehouses/",
        {"code": "south", "name": "华南仓", "is_default": True},
        format="json",
    )
    assert made.status_code == 201 and made.json()["is_default"] is True
    main.refresh_from_db()
    assert main.is_default is False
    finance = api_for(org["finance"])
    assert finance.get("/api/v1/sales/warehouses/").status_code == 200
    assert (
        finance.post(
            "/api/v1/sales/warehouses/", {"code": "x", "name": "x"}, format="json"
        ).status_code
        == 403
    )


def test_stock_list_queries_do_not_grow(org, main):
    rep = api_for(org["rep_sh"])

    def grow(count):
        for product in ProductFactory.create_batch(count):
            StockLevel.objects.create(product=product, warehouse=main, on_hand=5)

    grow(2)
    rep.get(STOCK)
    with CaptureQueriesContext(connection) as few:
        rep.get(STOCK)
    grow(15)
    with CaptureQueriesContext(connection) as many:
        assert len(rep.get(STOCK).json()["results"]) == 17
    assert len(many) == len(few)
