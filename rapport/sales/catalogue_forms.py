"""Forms of the catalogue and stock pages: parse only; the services validate and name the
field that is wrong (shown beside it)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.forms import TablerForm

from .models import PriceList, Product, ProductCategory, TaxRate, Warehouse


def _choices(rows, empty: str | None = None) -> list[tuple[str, str]]:
    choices = [("", empty)] if empty is not None else []
    return choices + [(str(row.pk), str(row)) for row in rows]


def _get(model, pk):
    return model.objects.filter(pk=pk).first() if pk else None


def category_choices(exclude: ProductCategory | None = None) -> list[tuple[str, str]]:
    rows = ProductCategory.objects.all()
    if exclude is not None:
        rows = rows.exclude(path__startswith=exclude.path)
    return [("", _("None (top level)"))] + [
        (str(row.pk), "— " * row.depth + row.display_name) for row in rows
    ]


class CategoryForm(TablerForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    name_en = forms.CharField(label=gettext_lazy("English name"), max_length=200, required=False)
    parent = forms.ChoiceField(label=gettext_lazy("Parent category"), required=False)
    position = forms.IntegerField(label=gettext_lazy("Position"), required=False, min_value=0)

    def __init__(self, *args, category: ProductCategory | None = None, **kwargs):
        if category is not None and not kwargs.get("data") and not args:
            kwargs["initial"] = {
                "name": category.name,
                "name_en": category.name_en,
                "parent": str(category.parent_id or ""),
                "position": category.position,
            }
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = category_choices(exclude=category)

    def service_values(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "name_en": data["name_en"],
            "parent": _get(ProductCategory, data.get("parent")),
            "position": data.get("position") or 0,
        }


class ProductForm(TablerForm):
    sku = forms.CharField(label=gettext_lazy("SKU"), max_length=100, required=False)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=300, required=False)
    name_en = forms.CharField(label=gettext_lazy("English name"), max_length=300, required=False)
    category = forms.ChoiceField(label=gettext_lazy("Category"), required=False)
    parent = forms.ChoiceField(label=gettext_lazy("Variant of"), required=False)
    variant_attributes = forms.CharField(
        label=gettext_lazy("Variant attributes"),
        required=False,
        help_text=gettext_lazy("One per line: 颜色=红"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    list_price = forms.CharField(label=gettext_lazy("List price"), max_length=30, required=False)
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=10, initial="CNY")
    unit = forms.CharField(label=gettext_lazy("Unit"), max_length=40, required=False, initial="个")
    tax_rate = forms.ChoiceField(label=gettext_lazy("Tax rate"), required=False)
    track_inventory = forms.BooleanField(
        label=gettext_lazy("Track stock"), required=False, initial=True
    )
    allow_backorder = forms.BooleanField(
        label=gettext_lazy("May be ordered beyond the stock"), required=False
    )
    low_stock_threshold = forms.CharField(
        label=gettext_lazy("Low-stock alert at"), max_length=30, required=False
    )
    description = forms.CharField(
        label=gettext_lazy("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, product: Product | None = None, **kwargs):
        if product is not None and not args and not kwargs.get("data"):
            kwargs["initial"] = {
                "sku": product.sku,
                "name": product.name,
                "name_en": product.name_en,
                "category": str(product.category_id or ""),
                "parent": str(product.parent_id or ""),
                "variant_attributes": "\n".join(
                    f"{key}={value}" for key, value in product.variant_attributes.items()
                ),
                "list_price": product.list_price,
                "currency": product.currency,
                "unit": product.unit,
                "tax_rate": str(product.tax_rate_id or ""),
                "track_inventory": product.track_inventory,
                "allow_backorder": product.allow_backorder,
                "low_stock_threshold": product.low_stock_threshold,
                "description": product.description,
            }
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices()
        self.fields["category"].choices[0] = ("", _("None"))
        bases = Product.objects.filter(parent__isnull=True, is_active=True).order_by("sku")
        if product is not None:
            bases = bases.exclude(pk=product.pk)
        self.fields["parent"].choices = _choices(bases[:500], _("Not a variant"))
        default = TaxRate.objects.filter(is_default=True).first()
        self.fields["tax_rate"].choices = _choices(
            TaxRate.objects.filter(is_active=True), _("None")
        )
        if product is None and default is not None:
            self.fields["tax_rate"].initial = str(default.pk)

    def service_values(self) -> dict:
        data = self.cleaned_data
        attributes: dict[str, str] = {}
        for line in (data.get("variant_attributes") or "").splitlines():
            key, _sep, value = line.partition("=")
            if key.strip():
                attributes[key.strip()] = value.strip()
        return {
            "sku": data["sku"],
            "name": data["name"],
            "name_en": data["name_en"],
            "category": _get(ProductCategory, data.get("category")),
            "parent": _get(Product, data.get("parent")),
            "variant_attributes": attributes,
            "list_price": data["list_price"] or "0",
            "currency": data["currency"],
            "unit": data["unit"],
            "tax_rate": _get(TaxRate, data.get("tax_rate")),
            "track_inventory": data["track_inventory"],
            "allow_backorder": data["allow_backorder"],
            "low_stock_threshold": data["low_stock_threshold"] or None,
            "description": data["description"],
        }


class TaxRateForm(TablerForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    name_en = forms.CharField(label=gettext_lazy("English name"), max_length=200, required=False)
    rate = forms.CharField(label=gettext_lazy("Rate (%)"), max_length=20, required=False)
    is_default = forms.BooleanField(label=gettext_lazy("Default"), required=False)


class PriceListForm(TablerForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    name_en = forms.CharField(label=gettext_lazy("English name"), max_length=200, required=False)
    tier = forms.CharField(
        label=gettext_lazy("Customer tier"),
        max_length=40,
        required=False,
        help_text=gettext_lazy("Blank: every tier."),
    )
    province = forms.CharField(
        label=gettext_lazy("Province"),
        max_length=60,
        required=False,
        help_text=gettext_lazy("Blank: everywhere."),
    )
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=10, initial="CNY")
    valid_from = forms.CharField(
        label=gettext_lazy("Valid from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    valid_until = forms.CharField(
        label=gettext_lazy("Valid until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args, price_list: PriceList | None = None, **kwargs):
        if price_list is not None and not args and not kwargs.get("data"):
            kwargs["initial"] = {
                "name": price_list.name,
                "name_en": price_list.name_en,
                "tier": price_list.tier,
                "province": price_list.province,
                "currency": price_list.currency,
                "valid_from": price_list.valid_from.isoformat() if price_list.valid_from else "",
                "valid_until": price_list.valid_until.isoformat() if price_list.valid_until else "",
                "is_active": price_list.is_active,
            }
        super().__init__(*args, **kwargs)


class PriceItemForm(TablerForm):
    product = forms.ChoiceField(label=gettext_lazy("Product"), required=False)
    min_quantity = forms.CharField(
        label=gettext_lazy("From quantity"), max_length=30, required=False, initial="1"
    )
    unit_price = forms.CharField(label=gettext_lazy("Unit price"), max_length=30, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        products = Product.objects.filter(is_active=True).order_by("sku")[:1000]
        self.fields["product"].choices = _choices(products, _("Choose a product"))

    def service_values(self) -> dict:
        data = self.cleaned_data
        return {
            "product": _get(Product, data.get("product")),
            "min_quantity": data["min_quantity"] or "1",
            "unit_price": data["unit_price"],
        }


class WarehouseForm(TablerForm):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=60, required=False)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    name_en = forms.CharField(label=gettext_lazy("English name"), max_length=200, required=False)
    address = forms.CharField(label=gettext_lazy("Address"), max_length=600, required=False)
    is_default = forms.BooleanField(label=gettext_lazy("Default"), required=False)


class StockMoveForm(TablerForm):
    """Receipt (quantity), stock count (counted, note) or transfer (quantity, destination)."""

    product = forms.ChoiceField(label=gettext_lazy("Product"), required=False)
    warehouse = forms.ChoiceField(label=gettext_lazy("Warehouse"), required=False)
    quantity = forms.CharField(label=gettext_lazy("Quantity"), max_length=30, required=False)
    counted = forms.CharField(label=gettext_lazy("Quantity counted"), max_length=30, required=False)
    destination = forms.ChoiceField(label=gettext_lazy("To warehouse"), required=False)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=600, required=False)

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        products = Product.objects.filter(is_active=True, track_inventory=True).order_by("sku")
        self.fields["product"].choices = _choices(products[:1000], _("Choose a product"))
        warehouses = list(Warehouse.objects.filter(is_active=True))
        self.fields["warehouse"].choices = _choices(warehouses)
        self.fields["destination"].choices = _choices(warehouses, _("Choose a warehouse"))
        if kind == "transfer":
            self.fields["warehouse"].label = gettext_lazy("From warehouse")
        if kind != "adjustment":
            del self.fields["counted"]
        else:
            del self.fields["quantity"]
            self.fields["note"].label = gettext_lazy("Reason")
        if kind != "transfer":
            del self.fields["destination"]

    def service_values(self) -> dict:
        data = self.cleaned_data
        values = {
            "product": _get(Product, data.get("product")),
            "note": data.get("note", ""),
        }
        warehouse = _get(Warehouse, data.get("warehouse"))
        if self.kind == "receipt":
            values.update(warehouse=warehouse, quantity=data["quantity"])
        elif self.kind == "adjustment":
            values.update(warehouse=warehouse, counted=data["counted"])
        else:
            values.update(
                source=warehouse,
                destination=_get(Warehouse, data.get("destination")),
                quantity=data["quantity"],
            )
        return values
