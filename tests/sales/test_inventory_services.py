"""Stock by hand: receipts, stock counts (reason required, never below what orders hold),
transfers (two movements, one transaction), warehouses (one default). Every movement says
what is on hand after it; only those with `change` on stock move it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.sales.models import MovementKind, StockLevel, StockMovement, Warehouse
from rapport.sales.services import inventory
from tests.factories import ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db
D = Decimal


def _codes(refused, field):
    return [error.code for error in refused.value.error_dict[field]]


@pytest.fixture
def main():
    return Warehouse.objects.get(code="main")


def _level(product, warehouse):
    return StockLevel.objects.get(product=product, warehouse=warehouse)


def test_a_receipt_raises_on_hand_with_a_movement(org, main):
    box = ProductFactory()
    inventory.stock_receive(actor=org["finance"], warehouse=main, product=box, quantity="10")
    movement = inventory.stock_receive(
        actor=org["finance"], warehouse=main, product=box, quantity="2.5", note="补货"
    )
    assert _level(box, main).on_hand == D("12.5")
    assert (movement.kind, movement.quantity, movement.on_hand_after) == (
        MovementKind.RECEIPT,
        D("2.5"),
        D("12.5"),
    )
    assert movement.created_by == org["finance"] and movement.note == "补货"
    assert AuditEvent.objects.filter(action="stock.receive").count() == 2


@pytest.mark.parametrize(
    ("quantity", "code"), [("0", "out_of_range"), ("-3", "out_of_range"), ("x", "invalid")]
)
def test_a_bad_receipt_quantity_is_refused(org, main, quantity, code):
    box = ProductFactory()
    with pytest.raises(ValidationError) as refused:
        inventory.stock_receive(actor=org["admin"], warehouse=main, product=box, quantity=quantity)
    assert _codes(refused, "quantity") == [code]
    assert not StockMovement.objects.exists()


def test_services_do_not_touch_stock(org, main):
    service = ProductFactory(track_inventory=False)
    with pytest.raises(ValidationError) as refused:
        inventory.stock_receive(actor=org["admin"], warehouse=main, product=service, quantity=1)
    assert _codes(refused, "product") == ["untracked"]


def test_reps_read_stock_but_do_not_move_it(org, main):
    with pytest.raises(PermissionDenied):
        inventory.stock_receive(
            actor=org["rep_sh"], warehouse=main, product=ProductFactory(), quantity=1
        )


def test_a_stock_count_sets_on_hand_and_records_the_difference(org, main):
    box = ProductFactory()
    inventory.stock_receive(actor=org["admin"], warehouse=main, product=box, quantity="10")
    movement = inventory.stock_adjust(
        actor=org["admin"], warehouse=main, product=box, counted="7", note="盘点：破损3件"
    )
    assert (movement.kind, movement.quantity, movement.on_hand_after) == (
        MovementKind.ADJUSTMENT,
        D("-3"),
        D("7"),
    )
    assert _level(box, main).on_hand == 7
    assert (
        inventory.stock_adjust(
            actor=org["admin"], warehouse=main, product=box, counted="7", note="复盘"
        )
        is None
    )


def test_a_stock_count_needs_a_reason_and_no_negative_count(org, main):
    box = ProductFactory()
    with pytest.raises(ValidationError) as refused:
        inventory.stock_adjust(
            actor=org["admin"], warehouse=main, product=box, counted="-1", note=""
        )
    assert _codes(refused, "note") == ["required"]
    assert _codes(refused, "counted") == ["out_of_range"]


def test_a_count_below_what_orders_hold_is_refused_unless_back_ordered(org, main):
    box = ProductFactory()
    StockLevel.objects.create(product=box, warehouse=main, on_hand=10, reserved=6)
    with pytest.raises(ValidationError) as refused:
        inventory.stock_adjust(
            actor=org["admin"], warehouse=main, product=box, counted="5", note="盘点"
        )
    assert _codes(refused, "counted") == ["below_reserved"]
    assert _level(box, main).on_hand == 10
    backorder = ProductFactory(allow_backorder=True)
    StockLevel.objects.create(product=backorder, warehouse=main, on_hand=10, reserved=6)
    inventory.stock_adjust(
        actor=org["admin"], warehouse=main, product=backorder, counted="5", note="盘点"
    )
    assert _level(backorder, main).on_hand == 5


def test_a_transfer_is_two_movements(org, main):
    south = WarehouseFactory(code="south")
    box = ProductFactory()
    inventory.stock_receive(actor=org["admin"], warehouse=main, product=box, quantity="10")
    leaving, arriving = inventory.stock_transfer(
        actor=org["admin"], product=box, source=main, destination=south, quantity="4"
    )
    assert (leaving.kind, leaving.quantity, leaving.on_hand_after) == (
        MovementKind.TRANSFER_OUT,
        D("-4"),
        D("6"),
    )
    assert (arriving.kind, arriving.quantity, arriving.on_hand_after) == (
        MovementKind.TRANSFER_IN,
        D("4"),
        D("4"),
    )
    assert (_level(box, main).on_hand, _level(box, south).on_hand) == (6, 4)


def test_a_transfer_cannot_take_more_than_is_available(org, main):
    south = WarehouseFactory(code="south")
    box = ProductFactory(allow_backorder=True)
    StockLevel.objects.create(product=box, warehouse=main, on_hand=5, reserved=3)
    with pytest.raises(ValidationError) as refused:
        inventory.stock_transfer(
            actor=org["admin"], product=box, source=main, destination=south, quantity="3"
        )
    assert _codes(refused, "quantity") == ["insufficient_stock"]
    assert not StockMovement.objects.exists()
    assert not StockLevel.objects.filter(warehouse=south, on_hand__gt=0).exists()
    with pytest.raises(ValidationError) as refused:
        inventory.stock_transfer(
            actor=org["admin"], product=box, source=main, destination=main, quantity="1"
        )
    assert _codes(refused, "destination") == ["same"]


def test_replenishing_above_the_threshold_rearms_the_alert(org, main):
    box = ProductFactory(low_stock_threshold=D("5"))
    inventory.stock_receive(actor=org["admin"], warehouse=main, product=box, quantity="4")
    assert _level(box, main).low_stock_alerted_at is not None
    inventory.stock_receive(actor=org["admin"], warehouse=main, product=box, quantity="10")
    assert _level(box, main).low_stock_alerted_at is None
    inventory.stock_adjust(
        actor=org["admin"], warehouse=main, product=box, counted="1", note="盘点"
    )
    assert _level(box, main).low_stock_alerted_at is not None
    from rapport.core.notifications.models import Notification

    assert Notification.objects.filter(kind="stock.low", recipient=org["admin"]).count() == 2


def test_one_default_warehouse(org, main):
    admin = org["admin"]
    south = inventory.warehouse_create(
        actor=admin, code="South", name="华南仓", name_en="South China", is_default=True
    )
    assert south.code == "south"
    assert list(Warehouse.objects.filter(is_default=True)) == [south]
    with pytest.raises(ValidationError) as refused:
        inventory.warehouse_update(actor=admin, warehouse=south, is_default=False)
    assert _codes(refused, "is_default") == ["default_required"]
    with pytest.raises(ValidationError) as refused:
        inventory.warehouse_create(actor=admin, code="MAIN", name="重复")
    assert _codes(refused, "code") == ["duplicate"]
    with pytest.raises(PermissionDenied):
        inventory.warehouse_create(actor=org["finance"], code="x", name="x")


def test_a_warehouse_holding_stock_cannot_be_retired(org, main):
    south = WarehouseFactory(code="south")
    inventory.stock_receive(
        actor=org["admin"], warehouse=south, product=ProductFactory(), quantity=1
    )
    with pytest.raises(ValidationError) as refused:
        inventory.warehouse_update(actor=org["admin"], warehouse=south, is_active=False)
    assert _codes(refused, "is_active") == ["has_stock"]
