"""Stock for orders: confirmation reserves (all lines or none), cancellation releases,
shipment takes the stock off hand and alerts the stock managers of low stock once; two
orders for the last item at the same moment: one wins."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from rapport.audit.models import AuditEvent
from rapport.core.notifications.models import Notification
from rapport.sales.config import get_settings
from rapport.sales.models import (
    MovementKind,
    Order,
    OrderLine,
    ReservationState,
    StockLevel,
    StockMovement,
    StockReservation,
    Warehouse,
)
from rapport.sales.services import inventory
from tests.factories import AccountFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db
D = Decimal


def _order(owner, lines, *, warehouse=None, account=None, number=None):
    account = account or AccountFactory(owner=owner)
    order = Order.objects.create(
        number=number or f"SO-T-{Order.objects.count() + 1}",
        owner=owner,
        account=account,
        warehouse=warehouse,
        order_date=date(2026, 11, 30),
    )
    for position, (product, quantity) in enumerate(lines):
        OrderLine.objects.create(
            order=order,
            position=position,
            product=product,
            description=product.name,
            quantity=D(quantity),
            unit_price=product.list_price,
        )
    return order


def _stock(product, warehouse, on_hand, reserved=0):
    level, _created = StockLevel.objects.update_or_create(
        product=product, warehouse=warehouse, defaults={"on_hand": on_hand, "reserved": reserved}
    )
    return level


def _level(product, warehouse):
    return StockLevel.objects.get(product=product, warehouse=warehouse)


@pytest.fixture
def main():
    return Warehouse.objects.get(code="main")


def test_the_main_warehouse_is_installed_as_the_default(main):
    assert main.is_default and main.name == "主仓库" and main.name_en == "Main warehouse"
    assert inventory.default_warehouse() == main


def test_confirming_reserves_each_tracked_line_in_the_default_warehouse(org, main):
    box, other = ProductFactory(), ProductFactory()
    service = ProductFactory(track_inventory=False)
    _stock(box, main, 10)
    _stock(other, main, 5)
    order = _order(org["rep_sh"], [(box, "3"), (service, "1"), (other, "2.5"), (box, "1")])
    with transaction.atomic():
        inventory.stock_reserve_order(actor=org["rep_sh"], order=order)
    assert _level(box, main).reserved == D("4")
    assert _level(other, main).reserved == D("2.5")
    assert not StockLevel.objects.filter(product=service).exists()
    reservations = StockReservation.objects.filter(order_line__order=order)
    assert sorted(r.quantity for r in reservations) == [D("1"), D("2.5"), D("3")]
    assert {r.state for r in reservations} == {ReservationState.ACTIVE}
    assert AuditEvent.objects.filter(
        action="stock.reserve", object_type="sales.order", object_id=str(order.pk)
    ).exists()
    # confirming again (a retry) reserves nothing twice
    inventory.stock_reserve_order(actor=org["rep_sh"], order=order)
    assert _level(box, main).reserved == D("4")


def test_a_short_line_refuses_the_whole_order_naming_the_line(org, main):
    box, other = ProductFactory(sku="BOX-1"), ProductFactory()
    _stock(box, main, 2, reserved=1)
    _stock(other, main, 10)
    order = _order(org["rep_sh"], [(other, "3"), (box, "2")])
    with pytest.raises(ValidationError) as refused:
        inventory.stock_reserve_order(actor=org["rep_sh"], order=order)
    errors = refused.value.error_dict
    assert list(errors) == ["lines.1.quantity"]
    error = errors["lines.1.quantity"][0]
    assert error.code == "insufficient_stock"
    assert "1" in error.message and "2" in error.message and "BOX-1" in error.message
    # nothing partial: the first line's stock is not reserved
    assert _level(other, main).reserved == 0
    assert _level(box, main).reserved == 1
    assert not StockReservation.objects.exists()


def test_two_lines_of_one_product_are_checked_together(org, main):
    box = ProductFactory()
    _stock(box, main, 3)
    order = _order(org["rep_sh"], [(box, "2"), (box, "2")])
    with pytest.raises(ValidationError) as refused:
        inventory.stock_reserve_order(actor=org["rep_sh"], order=order)
    assert list(refused.value.error_dict) == ["lines.1.quantity"]


def test_a_back_order_product_may_be_reserved_beyond_the_stock(org, main):
    box = ProductFactory(allow_backorder=True)
    _stock(box, main, 1)
    order = _order(org["rep_sh"], [(box, "5")])
    inventory.stock_reserve_order(actor=org["rep_sh"], order=order)
    assert _level(box, main).reserved == 5
    inventory.stock_ship_order(actor=org["finance"], order=order)
    level = _level(box, main)
    assert (level.on_hand, level.reserved) == (D("-4"), 0)


def test_the_company_may_allow_back_orders_for_every_product(org, main):
    settings_row = get_settings()
    settings_row.allow_backorders = True
    settings_row.save()
    box = ProductFactory()
    order = _order(org["rep_sh"], [(box, "2")])  # no stock row at all
    inventory.stock_reserve_order(actor=org["rep_sh"], order=order)
    assert _level(box, main).reserved == 2


def test_the_order_warehouse_is_used_when_given(org, main):
    south = WarehouseFactory(code="south")
    box = ProductFactory()
    _stock(box, main, 0)
    _stock(box, south, 4)
    order = _order(org["rep_sh"], [(box, "4")], warehouse=south)
    inventory.stock_reserve_order(actor=org["rep_sh"], order=order)
    assert _level(box, south).reserved == 4
    assert _level(box, main).reserved == 0


def test_without_any_default_warehouse_the_order_must_name_one(org, main):
    Warehouse.objects.filter(pk=main.pk).update(is_default=False)
    box = ProductFactory()
    order = _order(org["rep_sh"], [(box, "1")])
    with pytest.raises(ValidationError) as refused:
        inventory.stock_reserve_order(actor=org["rep_sh"], order=order)
    assert refused.value.error_dict["warehouse"][0].code == "required"


def test_cancelling_releases_the_reservations(org, main):
    box = ProductFactory()
    _stock(box, main, 5)
    order = _order(org["rep_sh"], [(box, "3")])
    inventory.stock_reserve_order(actor=org["rep_sh"], order=order)
    inventory.stock_release_order(actor=org["rep_sh"], order=order)
    level = _level(box, main)
    assert (level.on_hand, level.reserved) == (5, 0)
    assert StockReservation.objects.get().state == ReservationState.RELEASED
    assert StockReservation.objects.get().closed_at is not None
    assert not StockMovement.objects.exists()
    assert AuditEvent.objects.filter(action="stock.release", object_id=str(order.pk)).exists()


def test_shipping_takes_the_stock_off_hand_with_a_movement(org, main):
    box = ProductFactory()
    _stock(box, main, 10)
    order = _order(org["rep_sh"], [(box, "3")])
    inventory.stock_reserve_order(actor=org["rep_sh"], order=order)
    inventory.stock_ship_order(actor=org["finance"], order=order)
    level = _level(box, main)
    assert (level.on_hand, level.reserved) == (7, 0)
    movement = StockMovement.objects.get()
    assert movement.kind == MovementKind.SHIPMENT
    assert (movement.quantity, movement.on_hand_after) == (D("-3"), D("7"))
    assert movement.order == order and movement.created_by == org["finance"]
    assert StockReservation.objects.get().state == ReservationState.SHIPPED
    assert order.lines.get().quantity_shipped == 3
    assert AuditEvent.objects.filter(action="stock.ship", object_id=str(order.pk)).exists()


def test_falling_to_the_threshold_alerts_the_stock_managers_once(org, main):
    box = ProductFactory(low_stock_threshold=D("5"))
    _stock(box, main, 8)

    def ship(quantity):
        order = _order(org["rep_sh"], [(box, quantity)])
        inventory.stock_reserve_order(actor=org["rep_sh"], order=order)
        inventory.stock_ship_order(actor=org["finance"], order=order)

    ship("2")  # 6 left: above the threshold
    assert not Notification.objects.filter(kind="stock.low").exists()
    ship("1")  # 5 left: at the threshold
    alerts = Notification.objects.filter(kind="stock.low")
    assert [n.recipient for n in alerts] == [org["admin"]]  # administrators manage stock
    assert _level(box, main).low_stock_alerted_at is not None
    ship("1")  # still low: no second alert
    assert alerts.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_orders_for_the_last_item_at_once_one_is_refused(org):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's in-memory test database serialises writers; run on PostgreSQL")
    main = Warehouse.objects.get(code="main")
    box = ProductFactory()
    _stock(box, main, 1)
    orders = [_order(org["rep_sh"], [(box, "1")]) for _ in range(2)]
    start = threading.Barrier(2)
    outcomes: list[str] = []
    failures: list[BaseException] = []

    def worker(order) -> None:
        try:
            start.wait(timeout=10)
            with transaction.atomic():
                inventory.stock_reserve_order(actor=org["rep_sh"], order=order)
            outcomes.append("reserved")
        except ValidationError as error:
            outcomes.append(error.error_dict["lines.0.quantity"][0].code)
        except BaseException as error:  # noqa: BLE001  (reported below)
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures
    assert sorted(outcomes) == ["insufficient_stock", "reserved"]
    level = _level(box, main)
    assert (level.on_hand, level.reserved) == (1, 1)
    assert StockReservation.objects.count() == 1
