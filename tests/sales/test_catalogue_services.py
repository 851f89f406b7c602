"""The catalogue's rules: the category tree never loops and keeps its paths on a move; SKUs
are unique whatever their case; prices are never negative; a variant's parent is not a
variant; used products are deactivated, not deleted; one default VAT rate; active price
lists for the same customers may not overlap. Only catalogue managers write; all audited."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.sales.models import PriceList, PriceListItem, Product, ProductCategory, TaxRate
from rapport.sales.services import catalogue, inventory
from tests.factories import ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db
D = Decimal


def _codes(refused, field):
    return [error.code for error in refused.value.error_dict[field]]


# --- categories ------------------------------------------------------------------------------


def test_categories_form_a_tree_with_paths_that_follow_a_move(org):
    admin = org["admin"]
    software = catalogue.category_create(actor=admin, name="软件", name_en="Software")
    crm = catalogue.category_create(actor=admin, name="CRM", parent=software)
    cloud = catalogue.category_create(actor=admin, name="云服务", parent=crm)
    assert cloud.path == f"/{software.pk}/{crm.pk}/{cloud.pk}/"
    services = catalogue.category_create(actor=admin, name="服务", name_en="Services")
    catalogue.category_update(actor=admin, category=crm, parent=services)
    cloud.refresh_from_db()
    assert cloud.path == f"/{services.pk}/{crm.pk}/{cloud.pk}/"
    assert AuditEvent.objects.filter(
        object_type="sales.productcategory", object_id=str(crm.pk), action="update"
    ).exists()


def test_a_category_cannot_move_below_itself(org):
    admin = org["admin"]
    top = catalogue.category_create(actor=admin, name="硬件")
    child = catalogue.category_create(actor=admin, name="服务器", parent=top)
    for parent in (top, child):
        with pytest.raises(ValidationError) as refused:
            catalogue.category_update(actor=admin, category=top, parent=parent)
        assert _codes(refused, "parent") == ["cycle"]
    top.refresh_from_db()
    assert top.parent is None


def test_sibling_categories_have_distinct_names(org):
    catalogue.category_create(actor=org["admin"], name="硬件")
    with pytest.raises(ValidationError) as refused:
        catalogue.category_create(actor=org["admin"], name="硬件")
    assert _codes(refused, "name") == ["duplicate"]


def test_only_catalogue_managers_write(org):
    with pytest.raises(PermissionDenied):
        catalogue.category_create(actor=org["sales_manager"], name="软件")
    with pytest.raises(PermissionDenied):
        catalogue.product_create(actor=org["rep_sh"], sku="X-1", name="X")
    assert not ProductCategory.objects.exists()


# --- products --------------------------------------------------------------------------------


def test_a_product_gets_the_default_tax_rate_and_is_audited(org):
    product = catalogue.product_create(
        actor=org["admin"], sku="CRM-PRO", name="客户管理专业版", list_price="19800"
    )
    assert product.tax_rate == TaxRate.objects.get(is_default=True)
    assert product.tax_rate.rate == 13
    assert product.list_price == D("19800")
    event = AuditEvent.objects.get(object_type="sales.product", object_id=str(product.pk))
    assert event.action == "create" and event.changes["sku"] == [None, "CRM-PRO"]


def test_sku_clash_is_refused_whatever_the_case(org):
    catalogue.product_create(actor=org["admin"], sku="CRM-PRO", name="A")
    with pytest.raises(ValidationError) as refused:
        catalogue.product_create(actor=org["admin"], sku="crm-pro", name="B")
    assert _codes(refused, "sku") == ["duplicate"]
    assert Product.objects.count() == 1


@pytest.mark.parametrize(
    ("price", "code"), [("-1", "out_of_range"), ("abc", "invalid"), ("1.005", "too_precise")]
)
def test_a_bad_price_is_refused(org, price, code):
    with pytest.raises(ValidationError) as refused:
        catalogue.product_create(actor=org["admin"], sku="A-1", name="A", list_price=price)
    assert _codes(refused, "list_price") == [code]
    assert not Product.objects.exists()


def test_every_bad_field_is_named_at_once(org):
    with pytest.raises(ValidationError) as refused:
        catalogue.product_create(
            actor=org["admin"], sku="has space", name="", currency="yuan", list_price="-3"
        )
    assert set(refused.value.error_dict) == {"sku", "name", "currency", "list_price"}


def test_a_variant_of_a_variant_is_refused(org):
    admin = org["admin"]
    shirt = catalogue.product_create(actor=admin, sku="SHIRT", name="衬衫")
    red = catalogue.product_create(
        actor=admin, sku="SHIRT-R", name="衬衫 红", parent=shirt, variant_attributes={"颜色": "红"}
    )
    assert list(shirt.variants.all()) == [red]
    with pytest.raises(ValidationError) as refused:
        catalogue.product_create(actor=admin, sku="SHIRT-R-L", name="x", parent=red)
    assert _codes(refused, "parent") == ["nested_variant"]
    # nor may a product with variants become one
    other = catalogue.product_create(actor=admin, sku="OTHER", name="其他")
    with pytest.raises(ValidationError) as refused:
        catalogue.product_update(actor=admin, product=shirt, parent=other)
    assert _codes(refused, "parent") == ["nested_variant"]


def test_an_unused_product_is_deleted_a_used_one_deactivated(org):
    admin = org["admin"]
    unused = catalogue.product_create(actor=admin, sku="U-1", name="未用")
    assert catalogue.product_delete(actor=admin, product=unused) == "deleted"
    assert not Product.objects.filter(sku="U-1").exists()
    used = catalogue.product_create(actor=admin, sku="S-1", name="有库存")
    inventory.stock_receive(actor=admin, warehouse=WarehouseFactory(), product=used, quantity="3")
    assert catalogue.product_delete(actor=admin, product=used) == "deactivated"
    used.refresh_from_db()
    assert used.is_active is False


def test_updating_a_product_records_the_change(org):
    product = catalogue.product_create(actor=org["admin"], sku="A-1", name="甲", list_price="10")
    catalogue.product_update(actor=org["admin"], product=product, list_price="12.50")
    event = AuditEvent.objects.filter(object_id=str(product.pk), action="update").get()
    assert event.changes["list_price"] == ["10.00", "12.50"]


# --- tax rates -------------------------------------------------------------------------------


def test_china_vat_rates_are_installed_with_13_percent_the_default():
    rates = {rate.rate: rate.is_default for rate in TaxRate.objects.all()}
    assert rates == {D("13"): True, D("9"): False, D("6"): False, D("0"): False}


def test_one_default_tax_rate(org):
    special = catalogue.tax_rate_create(
        actor=org["admin"], name="征收率 3%", rate="3", is_default=True
    )
    assert list(TaxRate.objects.filter(is_default=True)) == [special]
    with pytest.raises(ValidationError) as refused:
        catalogue.tax_rate_update(actor=org["admin"], tax_rate=special, is_active=False)
    assert _codes(refused, "is_active") == ["default_required"]
    with pytest.raises(ValidationError) as refused:
        catalogue.tax_rate_create(actor=org["admin"], name="坏", rate="101")
    assert _codes(refused, "rate") == ["out_of_range"]


# --- price lists -----------------------------------------------------------------------------


def test_overlapping_price_lists_for_the_same_customers_are_refused(org):
    admin = org["admin"]
    first = catalogue.price_list_create(
        actor=admin,
        name="A级 2026上半年",
        tier="A",
        valid_from=date(2026, 1, 1),
        valid_until=date(2026, 6, 30),
    )
    with pytest.raises(ValidationError) as refused:
        catalogue.price_list_create(
            actor=admin, name="A级 年中", tier="A", valid_from=date(2026, 6, 30)
        )
    errors = refused.value.error_dict
    assert {e.code for e in errors["valid_from"]} == {"overlap"}
    assert {e.code for e in errors["valid_until"]} == {"overlap"}
    assert first.name in errors["valid_from"][0].message
    assert PriceList.objects.count() == 1
    # the day after, another tier, another currency, another province: all fine
    catalogue.price_list_create(actor=admin, name="A级 下半年", tier="A", valid_from="2026-07-01")
    catalogue.price_list_create(actor=admin, name="B级", tier="B")
    catalogue.price_list_create(actor=admin, name="A级 USD", tier="A", currency="usd")
    catalogue.price_list_create(actor=admin, name="A级 广东", tier="A", province="广东")
    # an open-ended list overlaps everything for the same customers
    with pytest.raises(ValidationError):
        catalogue.price_list_create(actor=admin, name="A级 永久", tier="A")
    # an inactive one does not count
    catalogue.price_list_create(actor=admin, name="A级 草稿", tier="A", is_active=False)


def test_reactivating_an_overlapping_list_is_refused(org):
    admin = org["admin"]
    catalogue.price_list_create(actor=admin, name="全部", valid_from="2026-01-01")
    draft = catalogue.price_list_create(actor=admin, name="草稿", is_active=False)
    with pytest.raises(ValidationError) as refused:
        catalogue.price_list_update(actor=admin, price_list=draft, is_active=True)
    assert _codes(refused, "valid_from") == ["overlap"]


def test_the_end_of_a_price_list_is_not_before_its_start(org):
    with pytest.raises(ValidationError) as refused:
        catalogue.price_list_create(
            actor=org["admin"], name="x", valid_from="2026-05-01", valid_until="2026-04-01"
        )
    assert _codes(refused, "valid_until") == ["before_start"]


def test_price_list_items_with_volume_breaks(org):
    admin = org["admin"]
    product = ProductFactory()
    price_list = catalogue.price_list_create(actor=admin, name="A级", tier="A")
    catalogue.price_list_item_set(
        actor=admin, price_list=price_list, product=product, unit_price="90"
    )
    catalogue.price_list_item_set(
        actor=admin, price_list=price_list, product=product, unit_price="80", min_quantity="10"
    )
    catalogue.price_list_item_set(
        actor=admin, price_list=price_list, product=product, unit_price="85", min_quantity="10"
    )
    assert [(i.min_quantity, i.unit_price) for i in PriceListItem.objects.all()] == [
        (D("1"), D("90")),
        (D("10"), D("85")),
    ]
    for price, quantity, field in (("-1", "1", "unit_price"), ("5", "0", "min_quantity")):
        with pytest.raises(ValidationError) as refused:
            catalogue.price_list_item_set(
                actor=admin,
                price_list=price_list,
                product=product,
                unit_price=price,
                min_quantity=quantity,
            )
        assert _codes(refused, field) == ["out_of_range"]
    assert AuditEvent.objects.filter(action="price.set", object_id=str(price_list.pk)).count() == 3
