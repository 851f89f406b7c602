"""Creating orders: by hand and from an accepted quote (one order per quote)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.sales.models import Order, OrderLine, OrderStatus
from rapport.sales.services.orders import order_create, order_create_from_quote
from tests.sales.test_order_setup import make_account, make_order, make_quote, make_warehouse

pytestmark = pytest.mark.django_db


def test_order_create_prices_numbers_and_audits(org):
    rep = org["rep_sh"]
    warehouse = make_warehouse()
    order = make_order(rep, discount_percent="10", customer_reference="PO-7")
    assert order.status == OrderStatus.DRAFT
    assert order.number.startswith("SO") and order.number.endswith("-000001")
    assert order.owner == rep and order.warehouse == warehouse
    assert order.subtotal == Decimal("250.00")
    assert order.discount_total == Decimal("25.00")
    assert order.tax_total == Decimal("29.25")
    assert order.total == Decimal("254.25")
    assert [line.position for line in order.lines.all()] == [1, 2]
    assert AuditEvent.objects.filter(
        object_type="sales.order", object_id=str(order.pk), action="create"
    ).exists()


def test_order_create_names_each_bad_line_and_stores_nothing(org):
    rep = org["rep_sh"]
    account = make_account(rep)
    with pytest.raises(ValidationError) as caught:
        order_create(
            actor=rep,
            account=account,
            currency="yuan",
            lines=[
                {"description": "好的", "quantity": "1", "unit_price": "10"},
                {"description": "坏的", "quantity": "-2", "unit_price": "10"},
            ],
        )
    assert set(caught.value.error_dict) == {"currency", "lines.1.quantity"}
    assert not Order.objects.exists() and not OrderLine.objects.exists()


def test_order_create_refuses_an_account_the_rep_cannot_see(org):
    other = make_account(org["rep_south"])
    with pytest.raises(ValidationError) as caught:
        make_order(org["rep_sh"], account=other)
    assert "account" in caught.value.error_dict
    assert not Order.objects.exists()


def test_service_agent_cannot_create_orders(org):
    with pytest.raises(PermissionDenied):
        make_order(org["agent"], account=make_account(org["admin"]))


def test_order_from_quote_copies_lines_and_amounts_exactly(org):
    rep = org["rep_sh"]
    quote = make_quote(rep)
    order = order_create_from_quote(actor=rep, quote=quote)
    assert order.quote == quote and order.account == quote.account and order.owner == rep
    for name in ("subtotal", "discount_total", "tax_total", "total", "discount_percent"):
        assert getattr(order, name) == getattr(quote, name)
    (line,) = order.lines.all()
    assert (line.quantity, line.unit, line.net_amount, line.total_amount) == (
        Decimal("3"),
        "套",
        Decimal("270.00"),
        Decimal("305.10"),
    )


def test_a_quote_gives_one_order_only(org):
    rep = org["rep_sh"]
    quote = make_quote(rep)
    order_create_from_quote(actor=rep, quote=quote)
    with pytest.raises(ValidationError) as caught:
        order_create_from_quote(actor=rep, quote=quote)
    assert caught.value.error_dict["quote"][0].code == "already_ordered"
    assert Order.objects.count() == 1


def test_a_declined_quote_gives_no_order(org):
    rep = org["rep_sh"]
    with pytest.raises(ValidationError) as caught:
        order_create_from_quote(actor=rep, quote=make_quote(rep, status="declined"))
    assert caught.value.error_dict["quote"][0].code == "not_orderable"
    assert not Order.objects.exists()
