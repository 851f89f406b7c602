"""`rapport product` and `rapport stock` from the shell: the same services and grants."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rapport.sales.models import PriceList, PriceListItem, Product, StockLevel, StockMovement

pytestmark = pytest.mark.django_db


def run(command, *args) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_products_created_and_listed(org):
    run(
        "product",
        "create",
        "BOX-1",
        "纸箱",
        "--price",
        "12.50",
        "--low-stock",
        "5",
        "--as",
        "admin",
    )
    run("product", "create", "BOX-1-L", "纸箱 大", "--variant-of", "box-1", "--as", "admin")
    box = Product.objects.get(sku="BOX-1")
    assert box.list_price == Decimal("12.50") and box.low_stock_threshold == 5
    assert Product.objects.get(sku="BOX-1-L").parent == box
    listing = run("product", "list", "--as", "rep_sh")
    assert "BOX-1" in listing and "BOX-1-L" in listing
    with pytest.raises(CommandError, match="sku"):
        run("product", "create", "box-1", "重复", "--as", "admin")
    with pytest.raises(CommandError, match="rep_sh"):
        run("product", "create", "NEW", "新", "--as", "rep_sh")


def test_prices_imported_all_or_nothing(org, tmp_path):
    run("product", "create", "BOX-1", "纸箱", "--as", "admin")
    price_list = PriceList.objects.create(name="A级", tier="A")
    good = tmp_path / "prices.csv"
    good.write_text("sku,unit_price,min_quantity\nbox-1,10\nBOX-1,9,100\n", encoding="utf-8")
    assert "2" in run("product", "import-prices", "A级", str(good), "--as", "admin")
    assert PriceListItem.objects.filter(price_list=price_list).count() == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("BOX-1,8,10\nNOPE,1\n", encoding="utf-8")
    with pytest.raises(CommandError, match="line 2"):
        run("product", "import-prices", "A级", str(bad), "--as", "admin")
    assert not PriceListItem.objects.filter(min_quantity=10).exists()


def test_stock_received_counted_transferred_and_listed(org):
    run("product", "create", "BOX-1", "纸箱", "--low-stock", "5", "--as", "admin")
    run("stock", "receive", "BOX-1", "10", "--as", "finance")
    out = run("stock", "adjust", "BOX-1", "8", "--note", "盘点", "--as", "finance")
    assert "8" in out
    call_command("stock", "list", "--as", "rep_sh", stdout=StringIO())
    from rapport.sales.services.inventory import warehouse_create

    warehouse_create(actor=org["admin"], code="south", name="华南仓")
    run("stock", "transfer", "BOX-1", "4", "--from", "main", "--to", "south", "--as", "finance")
    levels = {
        level.warehouse.code: level.on_hand
        for level in StockLevel.objects.select_related("warehouse")
    }
    assert levels == {"main": 4, "south": 4}
    assert StockMovement.objects.count() == 4
    low = run("stock", "list", "--low", "--as", "rep_sh")
    assert "main" in low and "south" in low
    with pytest.raises(CommandError, match="quantity"):
        run("stock", "receive", "BOX-1", "-1", "--as", "finance")
    with pytest.raises(CommandError, match="rep_sh"):
        run("stock", "receive", "BOX-1", "1", "--as", "rep_sh")
