"""An order's moves: draft → confirmed (stock reserved) → shipped (stock falls) → done, or
cancelled (reservations released); each move checked, audited and announced."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from rapport.audit.models import AuditEvent
from rapport.core.models import OutboxMessage
from rapport.sales.models import (
    Order,
    OrderStatus,
    ReservationState,
    SalesSettings,
    StockLevel,
    StockReservation,
)
from rapport.sales.services.invoices import invoice_create_from_order, invoice_issue
from rapport.sales.services.orders import (
    order_cancel,
    order_complete,
    order_confirm,
    order_ship,
    order_update,
)
from tests.sales.test_order_setup import make_order, make_product, make_warehouse, put_stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(org):
    warehouse = make_warehouse()
    product = make_product(list_price=100)
    put_stock(warehouse, product, 5)
    return warehouse, product


def _order_of(rep, product, quantity):
    return make_order(
        rep, lines=[{"product": product, "quantity": str(quantity), "unit_price": "100"}]
    )


def test_confirm_reserves_ship_takes_off_hand_and_complete_finishes(org, stocked):
    warehouse, product = stocked
    rep = org["rep_sh"]
    order = _order_of(rep, product, 3)
    order = order_confirm(actor=rep, order=order)
    assert order.status == OrderStatus.CONFIRMED and order.confirmed_at
    level = StockLevel.objects.get(warehouse=warehouse, product=product)
    assert (level.on_hand, level.reserved) == (Decimal(5), Decimal(3))
    order = order_ship(actor=rep, order=order)
    level.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert (level.on_hand, level.reserved) == (Decimal(2), Decimal(0))
    order = order_complete(actor=rep, order=order)
    assert order.status == OrderStatus.DONE and order.done_at
    actions = set(
        AuditEvent.objects.filter(object_type="sales.order", object_id=str(order.pk)).values_list(
            "action", flat=True
        )
    )
    assert {"create", "confirmed", "shipped", "done"} <= actions
    topics = set(OutboxMessage.objects.values_list("topic", flat=True))
    assert {"order.confirmed", "order.shipped", "order.done"} <= topics


def test_an_order_beyond_the_stock_stays_a_draft_naming_the_line(org, stocked):
    warehouse, product = stocked
    rep = org["rep_sh"]
    order = _order_of(rep, product, 6)
    with pytest.raises(ValidationError) as caught:
        order_confirm(actor=rep, order=order)
    assert caught.value.error_dict["lines.0.quantity"][0].code == "insufficient_stock"
    order.refresh_from_db()
    assert order.status == OrderStatus.DRAFT and order.confirmed_at is None
    assert not StockReservation.objects.exists()
    assert StockLevel.objects.get(warehouse=warehouse, product=product).reserved == 0


def test_back_orders_let_the_order_go_beyond_the_stock(org, stocked):
    _warehouse, product = stocked
    SalesSettings.objects.update_or_create(pk=1, defaults={"allow_backorders": True})
    rep = org["rep_sh"]
    order = order_confirm(actor=rep, order=_order_of(rep, product, 6))
    assert order.status == OrderStatus.CONFIRMED


@pytest.mark.parametrize(
    ("moves", "refused"),
    [
        ([], order_ship),
        ([], order_complete),
        ([order_confirm], order_confirm),
        ([order_confirm], order_complete),
        ([order_confirm, order_ship], order_confirm),
    ],
)
def test_moves_out_of_order_are_refused_naming_status(org, stocked, moves, refused):
    _warehouse, product = stocked
    rep = org["rep_sh"]
    order = _order_of(rep, product, 1)
    for move in moves:
        order = move(actor=rep, order=order)
    status = order.status
    with pytest.raises(ValidationError) as caught:
        refused(actor=rep, order=order)
    assert caught.value.error_dict["status"][0].code == "invalid_transition"
    order.refresh_from_db()
    assert order.status == status


def test_cancel_a_confirmed_order_releases_its_stock(org, stocked):
    warehouse, product = stocked
    rep = org["rep_sh"]
    order = order_confirm(actor=rep, order=_order_of(rep, product, 4))
    order = order_cancel(actor=rep, order=order, reason="客户取消")
    assert order.status == OrderStatus.CANCELLED and order.cancel_reason == "客户取消"
    assert StockLevel.objects.get(warehouse=warehouse, product=product).reserved == 0
    assert StockReservation.objects.get().state == ReservationState.RELEASED
    with pytest.raises(ValidationError) as caught:
        order_cancel(actor=rep, order=order, reason="again")
    assert caught.value.error_dict["status"][0].code == "invalid_transition"


def test_cancel_needs_a_reason_and_a_shipped_order_is_not_cancelled(org, stocked):
    _warehouse, product = stocked
    rep = org["rep_sh"]
    order = _order_of(rep, product, 1)
    with pytest.raises(ValidationError) as caught:
        order_cancel(actor=rep, order=order, reason="  ")
    assert "reason" in caught.value.error_dict
    order = order_ship(actor=rep, order=order_confirm(actor=rep, order=order))
    with pytest.raises(ValidationError) as caught:
        order_cancel(actor=rep, order=order, reason="late")
    assert caught.value.error_dict["status"][0].code == "invalid_transition"


def test_an_invoiced_order_is_not_cancelled(org, stocked):
    _warehouse, product = stocked
    rep, finance = org["rep_sh"], org["finance"]
    order = order_confirm(actor=rep, order=_order_of(rep, product, 1))
    invoice_issue(actor=finance, invoice=invoice_create_from_order(actor=finance, order=order))
    with pytest.raises(ValidationError) as caught:
        order_cancel(actor=rep, order=order, reason="客户取消")
    assert caught.value.error_dict["status"][0].code == "invoiced"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CONFIRMED


def test_update_a_draft_reprices_it_and_a_confirmed_order_is_not_edited(org, stocked):
    _warehouse, product = stocked
    rep = org["rep_sh"]
    order = _order_of(rep, product, 1)
    order = order_update(
        actor=rep,
        order=order,
        notes="加急",
        lines=[{"product": product, "quantity": "2", "unit_price": "80"}],
    )
    assert order.notes == "加急"
    assert order.subtotal == Decimal("160.00")
    assert order.lines.get().quantity == 2
    order = order_update(actor=rep, order=order, discount_percent="50")
    assert order.subtotal == Decimal("160.00") and order.total == Decimal("90.40")
    assert order.lines.get().net_amount == Decimal("80.00")
    order = order_confirm(actor=rep, order=order)
    with pytest.raises(ValidationError) as caught:
        order_update(actor=rep, order=order, notes="late")
    assert caught.value.error_dict["status"][0].code == "invalid_transition"
    assert Order.objects.get(pk=order.pk).notes == "加急"


def test_another_rep_cannot_move_my_order(org, stocked):
    from rapport.core.errors import PermissionDenied

    _warehouse, product = stocked
    order = _order_of(org["rep_sh"], product, 1)
    with pytest.raises(PermissionDenied):
        order_confirm(actor=org["rep_south"], order=order)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.DRAFT
