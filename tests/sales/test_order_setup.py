"""Shared set-up for the order, invoice, payment and contract tests (no tests here)."""

from __future__ import annotations

from decimal import Decimal

from rapport.sales.models import Quote, QuoteLine, StockLevel
from rapport.sales.services.orders import order_create
from tests.factories import AccountFactory, ProductFactory, WarehouseFactory


def make_account(owner, **values):
    return AccountFactory(owner=owner, **values)


def make_product(**values):
    return ProductFactory(**values)


def make_warehouse(**values):
    """The default warehouse (a fresh install has one), or a new one with `values`."""
    from rapport.sales.models import Warehouse

    if not values:
        default = Warehouse.objects.filter(is_default=True).first()
        if default is not None:
            return default
        values["is_default"] = True
    return WarehouseFactory(**values)


def put_stock(warehouse, product, on_hand) -> StockLevel:
    level, _created = StockLevel.objects.update_or_create(
        warehouse=warehouse, product=product, defaults={"on_hand": Decimal(on_hand)}
    )
    return level


def make_order(actor, *, account=None, lines=None, **values):
    """A draft order of two lines: 2 × 100.00 and 1 × 50.00, 13 % VAT (total 282.50)."""
    account = account or make_account(actor)
    lines = lines or [
        {"description": "服务器", "quantity": "2", "unit_price": "100.00", "tax_percent": "13"},
        {"description": "安装", "quantity": "1", "unit_price": "50.00", "tax_percent": "13"},
    ]
    return order_create(actor=actor, account=account, lines=lines, **values)


def make_quote(owner, *, account=None, status="accepted") -> Quote:
    account = account or make_account(owner)
    quote = Quote.objects.create(
        number="Q2026-000001",
        owner=owner,
        account=account,
        status=status,
        currency="CNY",
        discount_percent=Decimal("10"),
        subtotal=Decimal("300.00"),
        discount_total=Decimal("30.00"),
        effective_discount_percent=Decimal("10"),
        tax_total=Decimal("35.10"),
        total=Decimal("305.10"),
    )
    QuoteLine.objects.create(
        quote=quote,
        position=1,
        description="软件许可",
        quantity=Decimal("3"),
        unit="套",
        unit_price=Decimal("100.00"),
        tax_percent=Decimal("13"),
        net_amount=Decimal("270.00"),
        tax_amount=Decimal("35.10"),
        total_amount=Decimal("305.10"),
    )
    return quote
