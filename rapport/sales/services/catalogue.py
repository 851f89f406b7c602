"""Every write to the catalogue: product categories (a tree), products and their variants,
tax rates and price lists with their items. Needs `manage` on `sales.product`; each write
validates the whole change (one ValidationError naming every bad field, nothing stored),
is audited in its transaction and announces itself after commit (search index, rules).

A product that was ever used (quoted, ordered, stocked, varied) is deactivated, never
deleted, so its documents keep it. Two active price lists for the same tier, province and
currency may not be in force on the same day: the price lookup (`rapport.sales.prices`)
must always have one answer.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, Q, RestrictedError
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.models import Action, User

from ..config import get_settings
from ..models import (
    PriceList,
    PriceListItem,
    Product,
    ProductCategory,
    SalesSettings,
    TaxRate,
)

SECURITY_TYPE = Product.security_type
CATEGORY_FIELDS = ("name", "name_en", "parent", "position", "is_active")
PRODUCT_FIELDS = (
    "sku",
    "name",
    "name_en",
    "category",
    "parent",
    "variant_attributes",
    "unit",
    "description",
    "list_price",
    "currency",
    "tax_rate",
    "track_inventory",
    "allow_backorder",
    "low_stock_threshold",
    "is_active",
)
TAX_FIELDS = ("name", "name_en", "rate", "is_default", "is_active")
PRICE_LIST_FIELDS = (
    "name",
    "name_en",
    "currency",
    "tier",
    "province",
    "valid_from",
    "valid_until",
    "is_active",
)
MAX_PRICE = Decimal("1000000000000")
MAX_QUANTITY = Decimal("10000000000")
SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/\-]*$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
UNCHANGED: Any = object()

# China's VAT rates: goods 13 %, transport, construction and farm produce 9 %, services 6 %,
# exports and exempt supplies 0 %.
DEFAULT_TAX_RATES = (
    ("增值税 13%", "VAT 13%", Decimal("13"), True),
    ("增值税 9%", "VAT 9%", Decimal("9"), False),
    ("增值税 6%", "VAT 6%", Decimal("6"), False),
    ("零税率 0%", "Zero rate 0%", Decimal("0"), False),
)


def require_manage(actor: User) -> None:
    if not policy.has_grant(actor, SECURITY_TYPE, Action.MANAGE):
        raise PermissionDenied(
            _("You may not change the catalogue."), code="catalogue_manage_denied"
        )


def _given(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not UNCHANGED}


class _Errors(dict):
    def add(self, field: str, message: str, code: str) -> None:
        self.setdefault(field, []).append(ValidationError(message, code=code))

    def raise_any(self) -> None:
        if self:
            raise ValidationError(dict(self))


def _text(values, cleaned, errors: _Errors, name: str, *, limit: int, required=False) -> None:
    if name not in values:
        return
    text = " ".join(str(values[name] or "").split())
    if required and not text:
        errors.add(name, _("Enter a name."), "required")
    elif len(text) > limit:
        errors.add(name, _("At most %(n)d characters.") % {"n": limit}, "max_length")
    cleaned[name] = text


def decimal_value(
    value: Any,
    *,
    name: str,
    errors: _Errors,
    places: int,
    maximum: Decimal,
    minimum: Decimal = Decimal(0),
    above_minimum: bool = False,
    negative_message: str | None = None,
) -> Decimal | None:
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite():
        errors.add(name, _("Enter a number."), "invalid")
        return None
    if number < minimum or (above_minimum and number == minimum) or number > maximum:
        errors.add(
            name, negative_message or _("Enter a number in the allowed range."), "out_of_range"
        )
        return None
    if number != number.quantize(Decimal(1).scaleb(-places)):
        errors.add(name, _("Use at most %(n)d decimal places.") % {"n": places}, "too_precise")
        return None
    return number


def _currency(values, cleaned, errors: _Errors) -> None:
    if "currency" in values:
        currency = str(values["currency"] or "").strip().upper()
        if not CURRENCY_PATTERN.match(currency):
            errors.add("currency", _("Enter a three-letter currency code (CNY)."), "invalid")
        cleaned["currency"] = currency


def _announce(topic: str, record, **extra: Any) -> None:
    events.emit(topic, {"type": record.security_type, "id": record.pk, **extra})


def _write(actor: User, record, fields, before: dict | None, *, action: str | None = None):
    """Save `record`, audit the change and announce it. Returns the changes (empty: nothing
    was written)."""
    after = trail.snapshot(record, fields) if record.pk else None
    if before is None:
        record.save()
        changes = trail.diff({}, trail.snapshot(record, fields))
        trail.record(actor=actor, action=action or "create", target=record, changes=changes)
        if isinstance(record, Product):
            _announce("record.created", record)
        return changes
    changes = trail.diff(before, after or {})
    if changes:
        record.save()
        trail.record(actor=actor, action=action or "update", target=record, changes=changes)
        if isinstance(record, Product):
            _announce("record.updated", record, fields=sorted(changes))
    return changes


# --- categories ------------------------------------------------------------------------------


def _category_path(category: ProductCategory) -> str:
    parent_path = category.parent.path if category.parent_id else "/"
    return f"{parent_path}{category.pk}/"


def _clean_category(category: ProductCategory | None, values: dict[str, Any]) -> dict[str, Any]:
    errors = _Errors()
    cleaned: dict[str, Any] = {}
    _text(values, cleaned, errors, "name", limit=100, required=True)
    _text(values, cleaned, errors, "name_en", limit=100)
    if "parent" in values:
        parent = values["parent"]
        if parent is not None and not isinstance(parent, ProductCategory):
            errors.add("parent", _("Choose a category."), "invalid")
        elif (
            parent is not None
            and category is not None
            and category.pk
            and (parent.pk == category.pk or parent.path.startswith(category.path))
        ):
            errors.add("parent", _("A category cannot sit under itself or below it."), "cycle")
        cleaned["parent"] = parent
    if "position" in values:
        try:
            cleaned["position"] = max(0, int(values["position"]))
        except (TypeError, ValueError):
            errors.add("position", _("Enter a whole number."), "invalid")
    if "is_active" in values:
        cleaned["is_active"] = bool(values["is_active"])
    name = cleaned.get("name", category.name if category else "")
    parent = cleaned.get("parent", category.parent if category else None)
    if name and "name" not in errors:
        siblings = ProductCategory.objects.filter(name=name, parent=parent)
        if category is not None and category.pk:
            siblings = siblings.exclude(pk=category.pk)
        if siblings.exists():
            errors.add("name", _("There is already a category with this name here."), "duplicate")
    errors.raise_any()
    return cleaned


def category_create(
    *,
    actor: User,
    name: str,
    name_en: str = "",
    parent: ProductCategory | None = None,
    position: int = 0,
) -> ProductCategory:
    """A category at the top of the tree or under `parent`."""
    require_manage(actor)
    cleaned = _clean_category(
        None, {"name": name, "name_en": name_en, "parent": parent, "position": position}
    )
    with transaction.atomic():
        category = ProductCategory(**cleaned)
        category.save()
        category.path = _category_path(category)
        category.save(update_fields=["path"])
        trail.record(
            actor=actor,
            action="create",
            target=category,
            changes=trail.diff({}, trail.snapshot(category, CATEGORY_FIELDS)),
        )
    return category


def category_update(
    *,
    actor: User,
    category: ProductCategory,
    name: str = UNCHANGED,
    name_en: str = UNCHANGED,
    parent: ProductCategory | None = UNCHANGED,
    position: int = UNCHANGED,
    is_active: bool = UNCHANGED,
) -> ProductCategory:
    """Rename, move (the paths of the whole subtree follow; never under itself), reorder,
    retire or offer again."""
    require_manage(actor)
    given = _given(
        name=name, name_en=name_en, parent=parent, position=position, is_active=is_active
    )
    with transaction.atomic():
        category = ProductCategory.objects.select_for_update().get(pk=category.pk)
        if given.get("parent") is not None:
            given["parent"] = ProductCategory.objects.get(pk=given["parent"].pk)
        cleaned = _clean_category(category, given)
        before = trail.snapshot(category, CATEGORY_FIELDS)
        for key, value in cleaned.items():
            setattr(category, key, value)
        changes = trail.diff(before, trail.snapshot(category, CATEGORY_FIELDS))
        if not changes:
            return category
        old_path = category.path
        category.path = _category_path(category)
        category.save()
        if category.path != old_path:
            below = ProductCategory.objects.filter(path__startswith=old_path).exclude(
                pk=category.pk
            )
            for child in below.select_for_update():
                child.path = category.path + child.path[len(old_path) :]
                child.save(update_fields=["path"])
        trail.record(actor=actor, action="update", target=category, changes=changes)
    return category


# --- tax rates -------------------------------------------------------------------------------


def ensure_default_tax_rates(sender=None, using: str = "default", **kwargs) -> bool:
    """After `migrate`: China's VAT rates (13 % the default) when there is no tax rate at
    all. Returns whether they were created."""
    if TaxRate.objects.using(using).exists():
        return False
    TaxRate.objects.using(using).bulk_create(
        [
            TaxRate(name=name, name_en=name_en, rate=rate, is_default=is_default)
            for name, name_en, rate, is_default in DEFAULT_TAX_RATES
        ]
    )
    return True


def default_tax_rate() -> TaxRate | None:
    return TaxRate.objects.filter(is_default=True, is_active=True).first()


def _clean_tax_rate(tax_rate: TaxRate | None, values: dict[str, Any]) -> dict[str, Any]:
    errors = _Errors()
    cleaned: dict[str, Any] = {}
    _text(values, cleaned, errors, "name", limit=100, required=True)
    _text(values, cleaned, errors, "name_en", limit=100)
    if "rate" in values:
        rate = decimal_value(
            values["rate"],
            name="rate",
            errors=errors,
            places=2,
            maximum=Decimal(100),
            negative_message=_("Enter a percentage from 0 to 100."),
        )
        if rate is not None:
            cleaned["rate"] = rate
    for flag in ("is_default", "is_active"):
        if flag in values:
            cleaned[flag] = bool(values[flag])
    if cleaned.get("is_default") and cleaned.get("is_active") is False:
        errors.add("is_default", _("The default rate must be active."), "inactive_default")
    name = cleaned.get("name")
    if name and "name" not in errors:
        clash = TaxRate.objects.filter(name=name)
        if tax_rate is not None:
            clash = clash.exclude(pk=tax_rate.pk)
        if clash.exists():
            errors.add("name", _("There is already a tax rate with this name."), "duplicate")
    errors.raise_any()
    return cleaned


def _take_default(actor: User, tax_rate: TaxRate) -> None:
    for other in (
        TaxRate.objects.select_for_update().filter(is_default=True).exclude(pk=tax_rate.pk)
    ):
        other.is_default = False
        other.save(update_fields=["is_default", "updated_at"])
        trail.record(
            actor=actor, action="update", target=other, changes={"is_default": [True, False]}
        )


def tax_rate_create(
    *, actor: User, name: str, rate, name_en: str = "", is_default: bool = False
) -> TaxRate:
    """A tax rate; made the default, it takes over from the previous default."""
    require_manage(actor)
    cleaned = _clean_tax_rate(
        None, {"name": name, "name_en": name_en, "rate": rate, "is_default": is_default}
    )
    with transaction.atomic():
        tax_rate = TaxRate(**cleaned)
        if tax_rate.is_default:
            tax_rate.is_default = False
            tax_rate.save()
            _take_default(actor, tax_rate)
            tax_rate.is_default = True
        _write(actor, tax_rate, TAX_FIELDS, None)
    return tax_rate


def tax_rate_update(
    *,
    actor: User,
    tax_rate: TaxRate,
    name: str = UNCHANGED,
    name_en: str = UNCHANGED,
    rate=UNCHANGED,
    is_default: bool = UNCHANGED,
    is_active: bool = UNCHANGED,
) -> TaxRate:
    """Change a rate (lines already priced keep theirs), make it the default, retire it."""
    require_manage(actor)
    given = _given(
        name=name, name_en=name_en, rate=rate, is_default=is_default, is_active=is_active
    )
    with transaction.atomic():
        tax_rate = TaxRate.objects.select_for_update().get(pk=tax_rate.pk)
        cleaned = _clean_tax_rate(tax_rate, given)
        if tax_rate.is_default and (
            cleaned.get("is_active") is False or cleaned.get("is_default") is False
        ):
            field = "is_active" if cleaned.get("is_active") is False else "is_default"
            raise ValidationError(
                {
                    field: ValidationError(
                        _("Make another rate the default first: one rate is the default."),
                        code="default_required",
                    )
                }
            )
        before = trail.snapshot(tax_rate, TAX_FIELDS)
        if cleaned.get("is_default") and not tax_rate.is_default:
            _take_default(actor, tax_rate)
        for key, value in cleaned.items():
            setattr(tax_rate, key, value)
        _write(actor, tax_rate, TAX_FIELDS, before)
    return tax_rate


# --- products --------------------------------------------------------------------------------


def _clean_product(product: Product | None, values: dict[str, Any]) -> dict[str, Any]:
    errors = _Errors()
    cleaned: dict[str, Any] = {}
    if "sku" in values:
        sku = str(values["sku"] or "").strip()
        if not sku:
            errors.add("sku", _("Enter the SKU."), "required")
        elif len(sku) > 60:
            errors.add("sku", _("At most %(n)d characters.") % {"n": 60}, "max_length")
        elif not SKU_PATTERN.match(sku):
            errors.add(
                "sku",
                _("Use letters, digits and . _ / - only, starting with a letter or digit."),
                "invalid",
            )
        else:
            clash = Product.objects.filter(sku__iexact=sku)
            if product is not None and product.pk:
                clash = clash.exclude(pk=product.pk)
            other = clash.first()
            if other is not None:
                errors.add(
                    "sku",
                    _("SKU %(sku)s is already used by %(product)s.")
                    % {"sku": other.sku, "product": other.display_name},
                    "duplicate",
                )
        cleaned["sku"] = sku
    _text(values, cleaned, errors, "name", limit=200, required=True)
    _text(values, cleaned, errors, "name_en", limit=200)
    _text(values, cleaned, errors, "unit", limit=20)
    if "unit" in cleaned and not cleaned["unit"]:
        cleaned["unit"] = "个"
    if "description" in values:
        cleaned["description"] = str(values["description"] or "").strip()[:5000]
    if "category" in values:
        category = values["category"]
        if category is not None and not isinstance(category, ProductCategory):
            errors.add("category", _("Choose a category."), "invalid")
        elif (
            category is not None
            and not category.is_active
            and (product is None or product.category_id != category.pk)
        ):
            errors.add("category", _("This category is retired."), "inactive")
        cleaned["category"] = category
    if "parent" in values:
        parent = values["parent"]
        if parent is not None:
            if not isinstance(parent, Product):
                errors.add("parent", _("Choose a product."), "invalid")
            elif product is not None and parent.pk == product.pk:
                errors.add("parent", _("A product cannot be a variant of itself."), "cycle")
            elif parent.parent_id is not None:
                errors.add(
                    "parent",
                    _("%(product)s is itself a variant; choose the product it varies.")
                    % {"product": parent.sku},
                    "nested_variant",
                )
            elif product is not None and product.pk and product.variants.exists():
                errors.add(
                    "parent",
                    _("This product has variants of its own and cannot be a variant."),
                    "nested_variant",
                )
        cleaned["parent"] = parent
    if "variant_attributes" in values:
        attributes = values["variant_attributes"] or {}
        if not isinstance(attributes, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, int, float)) for k, v in attributes.items()
        ):
            errors.add(
                "variant_attributes",
                _("Give the variant's attributes as names and values (颜色: 红)."),
                "invalid",
            )
        else:
            cleaned["variant_attributes"] = {
                str(k).strip()[:40]: str(v).strip()[:100] for k, v in attributes.items()
            }
    if "list_price" in values:
        price = decimal_value(
            values["list_price"],
            name="list_price",
            errors=errors,
            places=2,
            maximum=MAX_PRICE,
            negative_message=_("The price cannot be negative."),
        )
        if price is not None:
            cleaned["list_price"] = price
    _currency(values, cleaned, errors)
    if "tax_rate" in values:
        tax_rate = values["tax_rate"]
        if tax_rate is not None and not isinstance(tax_rate, TaxRate):
            errors.add("tax_rate", _("Choose a tax rate."), "invalid")
        cleaned["tax_rate"] = tax_rate
    for flag in ("track_inventory", "allow_backorder", "is_active"):
        if flag in values:
            cleaned[flag] = bool(values[flag])
    if "low_stock_threshold" in values:
        threshold = values["low_stock_threshold"]
        if threshold in (None, ""):
            cleaned["low_stock_threshold"] = None
        else:
            threshold = decimal_value(
                threshold,
                name="low_stock_threshold",
                errors=errors,
                places=3,
                maximum=MAX_QUANTITY,
                negative_message=_("The quantity cannot be negative."),
            )
            if threshold is not None:
                cleaned["low_stock_threshold"] = threshold
    errors.raise_any()
    return cleaned


def product_create(
    *,
    actor: User,
    sku: str,
    name: str,
    name_en: str = "",
    category: ProductCategory | None = None,
    parent: Product | None = None,
    variant_attributes: dict | None = None,
    unit: str = "个",
    description: str = "",
    list_price=Decimal(0),
    currency: str = "CNY",
    tax_rate: TaxRate | None = UNCHANGED,
    track_inventory: bool = True,
    allow_backorder: bool = False,
    low_stock_threshold=None,
) -> Product:
    """A product, or a variant of `parent` (which may not itself be a variant). SKUs are
    unique whatever their case; the price is not negative; the tax rate defaults to the
    default rate."""
    require_manage(actor)
    values = {
        "sku": sku,
        "name": name,
        "name_en": name_en,
        "category": category,
        "parent": parent,
        "variant_attributes": variant_attributes or {},
        "unit": unit,
        "description": description,
        "list_price": list_price,
        "currency": currency,
        "tax_rate": default_tax_rate() if tax_rate is UNCHANGED else tax_rate,
        "track_inventory": track_inventory,
        "allow_backorder": allow_backorder,
        "low_stock_threshold": low_stock_threshold,
    }
    cleaned = _clean_product(None, values)
    try:
        with transaction.atomic():
            product = Product(**cleaned)
            _write(actor, product, PRODUCT_FIELDS, None)
    except IntegrityError:  # the same SKU stored at the same moment
        raise ValidationError(
            {"sku": ValidationError(_("This SKU is already used."), code="duplicate")}
        ) from None
    return product


def product_update(*, actor: User, product: Product, **changes: Any) -> Product:
    """Change any of the product's fields (those of `product_create`, and `is_active`)."""
    require_manage(actor)
    unknown = set(changes) - set(PRODUCT_FIELDS)
    if unknown:
        raise TypeError(f"unknown product fields: {sorted(unknown)}")
    try:
        with transaction.atomic():
            product = Product.objects.select_for_update().get(pk=product.pk)
            cleaned = _clean_product(product, changes)
            before = trail.snapshot(product, PRODUCT_FIELDS)
            for key, value in cleaned.items():
                setattr(product, key, value)
            _write(actor, product, PRODUCT_FIELDS, before)
    except IntegrityError:
        raise ValidationError(
            {"sku": ValidationError(_("This SKU is already used."), code="duplicate")}
        ) from None
    return product


def product_delete(*, actor: User, product: Product) -> str:
    """Delete a product nobody used; one that was used (on a quote, an order, in stock, with
    variants) is deactivated instead so its documents keep it. Returns "deleted" or
    "deactivated"."""
    require_manage(actor)
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product.pk)
        snapshot = trail.snapshot(product, PRODUCT_FIELDS)
        pk = product.pk
        try:
            with transaction.atomic():
                product.prices.all().delete()
                product.delete()
        except (ProtectedError, RestrictedError, IntegrityError):
            product = Product.objects.get(pk=pk)
            before = trail.snapshot(product, PRODUCT_FIELDS)
            product.is_active = False
            _write(actor, product, PRODUCT_FIELDS, before, action="deactivate")
            return "deactivated"
        trail.record(
            actor=actor,
            action="delete",
            object_type="sales.product",
            object_id=pk,
            object_repr=f"{snapshot['sku']} {snapshot['name']}",
            changes={name: [value, None] for name, value in snapshot.items()},
        )
        events.emit("record.deleted", {"type": SECURITY_TYPE, "id": pk})
    return "deleted"


# --- price lists -----------------------------------------------------------------------------


def _clean_price_list(price_list: PriceList | None, values: dict[str, Any]) -> dict[str, Any]:
    errors = _Errors()
    cleaned: dict[str, Any] = {}
    _text(values, cleaned, errors, "name", limit=100, required=True)
    _text(values, cleaned, errors, "name_en", limit=100)
    _text(values, cleaned, errors, "tier", limit=20)
    _text(values, cleaned, errors, "province", limit=30)
    _currency(values, cleaned, errors)
    for name in ("valid_from", "valid_until"):
        if name in values:
            value = values[name]
            if value in (None, ""):
                cleaned[name] = None
            elif hasattr(value, "isoformat") and not hasattr(value, "hour"):
                cleaned[name] = value
            else:
                from django.utils.dateparse import parse_date

                try:
                    parsed = parse_date(str(value))
                except ValueError:
                    parsed = None
                if parsed is None:
                    errors.add(name, _("Enter a date (2026-01-31)."), "invalid")
                else:
                    cleaned[name] = parsed
    if "is_active" in values:
        cleaned["is_active"] = bool(values["is_active"])

    def current(field):
        return cleaned.get(field, getattr(price_list, field) if price_list else None)

    if "name" in cleaned and cleaned["name"] and "name" not in errors:
        clash = PriceList.objects.filter(name=cleaned["name"])
        if price_list is not None:
            clash = clash.exclude(pk=price_list.pk)
        if clash.exists():
            errors.add("name", _("There is already a price list with this name."), "duplicate")
    valid_from, valid_until = current("valid_from"), current("valid_until")
    if valid_from and valid_until and valid_until < valid_from:
        errors.add("valid_until", _("The end cannot be before the start."), "before_start")
    if not errors and (current("is_active") if price_list else cleaned.get("is_active", True)):
        overlapping = PriceList.objects.filter(
            is_active=True,
            tier=current("tier") or "",
            province=current("province") or "",
            currency=current("currency") or "CNY",
        )
        if price_list is not None:
            overlapping = overlapping.exclude(pk=price_list.pk)
        if valid_from:
            overlapping = overlapping.filter(
                Q(valid_until__isnull=True) | Q(valid_until__gte=valid_from)
            )
        if valid_until:
            overlapping = overlapping.filter(
                Q(valid_from__isnull=True) | Q(valid_from__lte=valid_until)
            )
        other = overlapping.order_by("pk").first()
        if other is not None:
            message = _(
                "Price list %(other)s for the same customers and currency is in force on "
                "some of these days; change the validity dates."
            ) % {"other": other.display_name}
            errors.add("valid_from", message, "overlap")
            errors.add("valid_until", message, "overlap")
    errors.raise_any()
    return cleaned


def _one_price_list_writer() -> None:
    """One writer of price lists at a time (until the transaction ends): the overlap check
    must see every other list, also one being created at the same instant. The lock is on
    the sales settings' single row, which always exists (SQLite serialises writers anyway)."""
    current = get_settings()
    list(SalesSettings.objects.select_for_update().filter(pk=current.pk).values_list("pk"))


def price_list_create(
    *,
    actor: User,
    name: str,
    name_en: str = "",
    currency: str = "CNY",
    tier: str = "",
    province: str = "",
    valid_from=None,
    valid_until=None,
    is_active: bool = True,
) -> PriceList:
    """A price list for the customers of `tier` and/or `province` (blank: all), valid
    between the dates (blank: open-ended); refused when another active list for the same
    customers and currency is in force on any of its days."""
    require_manage(actor)
    values = {
        "name": name,
        "name_en": name_en,
        "currency": currency,
        "tier": tier,
        "province": province,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "is_active": is_active,
    }
    with transaction.atomic():
        _one_price_list_writer()
        cleaned = _clean_price_list(None, values)
        price_list = PriceList(**cleaned)
        _write(actor, price_list, PRICE_LIST_FIELDS, None)
    return price_list


def price_list_update(*, actor: User, price_list: PriceList, **changes: Any) -> PriceList:
    require_manage(actor)
    unknown = set(changes) - set(PRICE_LIST_FIELDS)
    if unknown:
        raise TypeError(f"unknown price list fields: {sorted(unknown)}")
    with transaction.atomic():
        _one_price_list_writer()
        price_list = PriceList.objects.select_for_update().get(pk=price_list.pk)
        cleaned = _clean_price_list(price_list, changes)
        before = trail.snapshot(price_list, PRICE_LIST_FIELDS)
        for key, value in cleaned.items():
            setattr(price_list, key, value)
        _write(actor, price_list, PRICE_LIST_FIELDS, before)
    return price_list


def price_list_item_set(
    *,
    actor: User,
    price_list: PriceList,
    product: Product,
    unit_price,
    min_quantity=Decimal(1),
) -> PriceListItem:
    """The price of `product` in `price_list` from `min_quantity` up (created or changed)."""
    require_manage(actor)
    errors = _Errors()
    price = decimal_value(
        unit_price,
        name="unit_price",
        errors=errors,
        places=2,
        maximum=MAX_PRICE,
        negative_message=_("The price cannot be negative."),
    )
    quantity = decimal_value(
        min_quantity,
        name="min_quantity",
        errors=errors,
        places=3,
        maximum=MAX_QUANTITY,
        above_minimum=True,
        negative_message=_("The quantity must be more than zero."),
    )
    if not isinstance(product, Product):
        errors.add("product", _("Choose a product."), "invalid")
    errors.raise_any()
    with transaction.atomic():
        item = (
            PriceListItem.objects.select_for_update()
            .filter(price_list=price_list, product=product, min_quantity=quantity)
            .first()
        )
        before = None if item is None else str(item.unit_price)
        if item is None:
            item = PriceListItem.objects.create(
                price_list=price_list, product=product, min_quantity=quantity, unit_price=price
            )
        elif item.unit_price != price:
            item.unit_price = price
            item.save(update_fields=["unit_price"])
        else:
            return item
        trail.record(
            actor=actor,
            action="price.set",
            target=price_list,
            changes={
                f"{product.sku}≥{quantity.normalize():f}": [before, str(price)],
            },
        )
    return item


def price_list_item_delete(*, actor: User, item: PriceListItem) -> None:
    require_manage(actor)
    with transaction.atomic():
        price_list = item.price_list
        key = f"{item.product.sku}≥{item.min_quantity.normalize():f}"
        before = str(item.unit_price)
        item.delete()
        trail.record(
            actor=actor, action="price.remove", target=price_list, changes={key: [before, None]}
        )
