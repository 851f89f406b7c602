"""Demo catalogue: a bilingual category tree (软件 / Software, 硬件 / Hardware, 服务 /
Services and their sub-categories), about forty products — licences and subscriptions,
servers, network gear and terminals with size or colour variants, services that track no
stock — a price list for tier-A customers (with volume breaks) and one for customers in
Guangdong (华南), a second warehouse in Shenzhen, and stock received into both warehouses
with a few stock counts, one transfer and a product already low. Made through the catalogue
and inventory services, so validated and audited.

`generate_catalogue(admin=…, rng=…)` returns a summary; the demo command calls it (wired by
the lead). Running it twice changes nothing the second time.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from rapport.identity.models import User
from rapport.sales.models import PriceList, Product, ProductCategory, TaxRate, Warehouse
from rapport.sales.services import catalogue, inventory

D = Decimal

# (name, English name, children)
TREE = (
    ("软件", "Software", (("CRM 套件", "CRM suites"), ("办公软件", "Office software"))),
    (
        "硬件",
        "Hardware",
        (("服务器", "Servers"), ("网络设备", "Network equipment"), ("终端", "Terminals")),
    ),
    ("服务", "Services", (("实施服务", "Implementation"), ("运维支持", "Support"))),
)

# (category, sku, name, English name, unit, list price, tax %, tracked, variants)
# variants: (suffix, attributes, extra price)
PRODUCTS: tuple[tuple[Any, ...], ...] = (
    ("CRM 套件", "CRM-STD", "客户管理系统标准版", "CRM Standard", "套", "9800", 13, False, ()),
    ("CRM 套件", "CRM-PRO", "客户管理系统专业版", "CRM Professional", "套", "19800", 13, False, ()),
    ("CRM 套件", "CRM-ENT", "客户管理系统企业版", "CRM Enterprise", "套", "49800", 13, False, ()),
    ("CRM 套件", "CRM-SEAT", "CRM 用户许可（年）", "CRM seat (yearly)", "个", "1200", 6, False, ()),
    ("CRM 套件", "CRM-MOB", "移动销售插件", "Mobile sales add-on", "套", "3600", 13, False, ()),
    ("办公软件", "OFF-SUITE", "协同办公套件", "Office suite", "套", "2400", 13, False, ()),
    ("办公软件", "OFF-MAIL", "企业邮箱（年）", "Business mail (yearly)", "个", "300", 6, False, ()),
    ("办公软件", "OFF-DOC", "电子合同签署包", "E-signature pack", "包", "1500", 6, False, ()),
    (
        "服务器",
        "SRV-R2",
        "机架式服务器 R2",
        "Rack server R2",
        "台",
        "26800",
        13,
        True,
        (("32G", {"内存": "32GB"}, "0"), ("64G", {"内存": "64GB"}, "3200")),
    ),
    (
        "服务器",
        "SRV-T1",
        "塔式服务器 T1",
        "Tower server T1",
        "台",
        "15800",
        13,
        True,
        (),
    ),
    ("服务器", "SRV-DISK", "企业级硬盘 4TB", "Enterprise disk 4TB", "块", "1680", 13, True, ()),
    (
        "网络设备",
        "NET-SW24",
        "千兆交换机 24 口",
        "Gigabit switch, 24 ports",
        "台",
        "2980",
        13,
        True,
        (),
    ),
    (
        "网络设备",
        "NET-RT",
        "企业路由器",
        "Business router",
        "台",
        "4580",
        13,
        True,
        (),
    ),
    ("网络设备", "NET-AP", "无线接入点", "Wireless access point", "个", "890", 13, True, ()),
    ("网络设备", "NET-FW", "下一代防火墙", "Next-generation firewall", "台", "12800", 13, True, ()),
    (
        "终端",
        "TRM-PAD",
        "销售平板",
        "Sales tablet",
        "台",
        "3299",
        13,
        True,
        (
            ("GR", {"颜色": "灰"}, "0"),
            ("SL", {"颜色": "银"}, "0"),
            ("GD", {"颜色": "金"}, "100"),
        ),
    ),
    (
        "终端",
        "TRM-SCAN",
        "扫码枪",
        "Barcode scanner",
        "把",
        "460",
        13,
        True,
        (("USB", {"接口": "USB"}, "0"), ("BT", {"接口": "蓝牙"}, "120")),
    ),
    (
        "终端",
        "TRM-POS",
        "收银一体机",
        "POS terminal",
        "台",
        "4200",
        13,
        True,
        (("15", {"尺寸": "15 英寸"}, "0"), ("17", {"尺寸": "17 英寸"}, "500")),
    ),
    ("终端", "TRM-PRN", "票据打印机", "Receipt printer", "台", "780", 13, True, ()),
    ("终端", "TRM-HEAD", "客服耳麦", "Headset", "副", "260", 13, True, ()),
    (
        "实施服务",
        "SVC-IMPL",
        "实施服务（人天）",
        "Implementation (person-day)",
        "人天",
        "2800",
        6,
        False,
        (),
    ),
    ("实施服务", "SVC-MIGR", "数据迁移", "Data migration", "项", "45000", 6, False, ()),
    (
        "实施服务",
        "SVC-TRAIN",
        "现场培训（每场）",
        "On-site training (session)",
        "场",
        "6000",
        6,
        False,
        (),
    ),
    ("实施服务", "SVC-INTG", "系统集成", "System integration", "项", "68000", 6, False, ()),
    (
        "运维支持",
        "SUP-STD",
        "标准运维支持（年）",
        "Standard support (yearly)",
        "年",
        "36000",
        6,
        False,
        (),
    ),
    (
        "运维支持",
        "SUP-PREM",
        "尊享运维支持（年）",
        "Premium support (yearly)",
        "年",
        "72000",
        6,
        False,
        (),
    ),
    (
        "运维支持",
        "SUP-ONS",
        "驻场运维（月）",
        "On-site support (monthly)",
        "月",
        "18000",
        6,
        False,
        (),
    ),
    (
        "运维支持",
        "SUP-HW",
        "硬件延保（年）",
        "Hardware warranty extension",
        "年",
        "1200",
        6,
        False,
        (),
    ),
)


def _category(admin: User, name: str, name_en: str, parent=None) -> ProductCategory:
    found = ProductCategory.objects.filter(name=name, parent=parent).first()
    if found is not None:
        return found
    return catalogue.category_create(actor=admin, name=name, name_en=name_en, parent=parent)


def _tax(rate: int) -> TaxRate | None:
    return TaxRate.objects.filter(rate=rate, is_active=True).order_by("-is_default", "id").first()


def _product(admin: User, **values: Any) -> Product:
    found = Product.objects.filter(sku__iexact=values["sku"]).first()
    if found is not None:
        return found
    return catalogue.product_create(actor=admin, **values)


def generate_catalogue(*, admin: User, rng: random.Random) -> dict[str, int]:
    """The demo catalogue, price lists and stock (see the module's docstring)."""
    created_before = Product.objects.count()
    with transaction.atomic():
        categories: dict[str, ProductCategory] = {}
        for name, name_en, children in TREE:
            top = _category(admin, name, name_en)
            categories[name] = top
            for child, child_en in children:
                categories[child] = _category(admin, child, child_en, parent=top)
        products: list[Product] = []
        for (
            category,
            sku,
            name,
            name_en,
            unit,
            price,
            tax,
            tracked,
            variants,
        ) in PRODUCTS:
            base = _product(
                admin,
                sku=sku,
                name=name,
                name_en=name_en,
                category=categories[category],
                unit=unit,
                list_price=D(price),
                tax_rate=_tax(tax),
                track_inventory=tracked,
                low_stock_threshold=D(rng.choice([3, 5, 10])) if tracked else None,
                allow_backorder=sku == "SRV-R2",
            )
            products.append(base)
            for suffix, attributes, extra in variants:
                products.append(
                    _product(
                        admin,
                        sku=f"{sku}-{suffix}",
                        name=f"{name} {' '.join(attributes.values())}",
                        name_en=f"{name_en} {suffix}",
                        category=categories[category],
                        parent=base,
                        variant_attributes=attributes,
                        unit=unit,
                        list_price=D(price) + D(extra),
                        tax_rate=_tax(tax),
                        track_inventory=tracked,
                        low_stock_threshold=base.low_stock_threshold,
                    )
                )
        _price_lists(admin, products, rng)
        _stock(admin, products, rng)
    return {
        "categories": ProductCategory.objects.count(),
        "products": Product.objects.count(),
        "products_created": Product.objects.count() - created_before,
        "price_lists": PriceList.objects.count(),
    }


def _price_lists(admin: User, products: list[Product], rng: random.Random) -> None:
    year = date.today().year
    tier_a = PriceList.objects.filter(name="A 级客户价").first() or catalogue.price_list_create(
        actor=admin,
        name="A 级客户价",
        name_en="Tier A prices",
        tier="A",
        valid_from=date(year, 1, 1),
        valid_until=date(year, 12, 31),
    )
    south = PriceList.objects.filter(name="华南区域价").first() or catalogue.price_list_create(
        actor=admin,
        name="华南区域价",
        name_en="South China prices",
        province="广东",
        valid_from=date(year, 1, 1),
    )
    if tier_a.items.exists():
        return
    for product in products:
        if product.parent_id is not None:
            continue
        discount = D(rng.choice([88, 90, 92])) / 100
        catalogue.price_list_item_set(
            actor=admin,
            price_list=tier_a,
            product=product,
            unit_price=(product.list_price * discount).quantize(D("0.01")),
        )
        if product.track_inventory:
            catalogue.price_list_item_set(
                actor=admin,
                price_list=tier_a,
                product=product,
                unit_price=(product.list_price * (discount - D("0.05"))).quantize(D("0.01")),
                min_quantity=D(10),
            )
        if product.category and product.category.name in {"终端", "网络设备"}:
            catalogue.price_list_item_set(
                actor=admin,
                price_list=south,
                product=product,
                unit_price=(product.list_price * D("0.95")).quantize(D("0.01")),
            )


def _stock(admin: User, products: list[Product], rng: random.Random) -> None:
    main = inventory.default_warehouse() or Warehouse.objects.order_by("pk").first()
    shenzhen = Warehouse.objects.filter(code="shenzhen").first() or inventory.warehouse_create(
        actor=admin,
        code="shenzhen",
        name="深圳仓",
        name_en="Shenzhen warehouse",
        address="广东省深圳市南山区科技园",
    )
    if main is None or main.stock.exists():
        return
    tracked = [product for product in products if product.track_inventory]
    for product in tracked:
        inventory.stock_receive(
            actor=admin,
            warehouse=main,
            product=product,
            quantity=D(rng.randint(20, 120)),
            note="期初入库",
        )
        if rng.random() < 0.6:
            inventory.stock_receive(
                actor=admin,
                warehouse=shenzhen,
                product=product,
                quantity=D(rng.randint(5, 40)),
                note="期初入库",
            )
    for product in rng.sample(tracked, k=min(3, len(tracked))):
        level = main.stock.get(product=product)
        inventory.stock_adjust(
            actor=admin,
            warehouse=main,
            product=product,
            counted=level.on_hand - rng.randint(1, 3),
            note="月末盘点：破损",
        )
    first = tracked[0]
    inventory.stock_transfer(
        actor=admin,
        product=first,
        source=main,
        destination=shenzhen,
        quantity=D(5),
        note="华南补货",
    )
    # one product already low, so the low-stock filter and alert show something
    low = tracked[-1]
    inventory.stock_adjust(
        actor=admin,
        warehouse=main,
        product=low,
        counted=D(1),
        note="盘点：库存不足",
    )
