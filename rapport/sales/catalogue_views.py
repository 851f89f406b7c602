"""Pages of the catalogue: products (list with the category tree, detail with variants,
prices and stock, create and edit), categories, price lists with their items, tax rates.
Reading needs `view` on `sales.product`, writing `manage`; every write goes through
`rapport.sales.services.catalogue`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core import search
from rapport.core.paging import cursor_page
from rapport.identity import policy
from rapport.identity.models import Action
from rapport.identity.views._common import _call, _message_call, _require

from .catalogue_forms import (
    CategoryForm,
    PriceItemForm,
    PriceListForm,
    ProductForm,
    TaxRateForm,
)
from .models import PriceList, PriceListItem, Product, ProductCategory, StockLevel, TaxRate
from .services import catalogue as catalogue_services

PRODUCT = Product.security_type
PAGE_SIZE = 50


def _can_manage(user) -> bool:
    return policy.has_grant(user, PRODUCT, Action.MANAGE)


@login_required
def product_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, PRODUCT, Action.VIEW)
    products = Product.objects.restrict(request.user, Action.VIEW).select_related(
        "category", "tax_rate"
    )
    q = request.GET.get("q", "").strip()
    state = request.GET.get("state", "active")
    if state == "active":
        products = products.filter(is_active=True)
    elif state == "retired":
        products = products.filter(is_active=False)
    categories = list(ProductCategory.objects.filter(is_active=True))
    chosen = next((c for c in categories if str(c.pk) == request.GET.get("category")), None)
    if chosen is not None:
        products = products.filter(category__path__startswith=chosen.path)
    if request.GET.get("kind") == "goods":
        products = products.filter(track_inventory=True)
    elif request.GET.get("kind") == "services":
        products = products.filter(track_inventory=False)
    if q:
        products = search.filter_queryset(products, q, also=Q(sku__istartswith=q))
    page = cursor_page(request, products, ordering=["sku", "id"], page_size=PAGE_SIZE)
    return render(
        request,
        "sales/catalogue/product_list.html",
        {
            "page": page,
            "q": q,
            "state": state,
            "kind": request.GET.get("kind", ""),
            "categories": categories,
            "chosen": chosen,
            "can_manage": _can_manage(request.user),
        },
    )


LOOKUP_SHOWN = 20


def product_label(product: Product) -> str:
    """What the product picker shows and posts back: "id · SKU name" (`parse_record_id`)."""
    return f"{product.pk} · {product.sku} {product.display_name}"


@login_required
def product_lookup(request: HttpRequest) -> HttpResponse:
    """<option>s for the line editor's product picker (a <datalist>): active products whose
    SKU starts with, or whose name (Chinese, English, pinyin — the search index) matches,
    what was typed; the first 20 by SKU."""
    _require(request.user, PRODUCT, Action.VIEW)
    text = next((value for value in request.GET.values() if value.strip()), "").strip()
    products: list[Product] = []
    if text and " · " not in text:  # a chosen option needs no new list
        found = Product.objects.restrict(request.user, Action.VIEW).filter(is_active=True)
        found = search.filter_queryset(found, text, also=Q(sku__istartswith=text))
        products = list(found.order_by("sku", "id")[:LOOKUP_SHOWN])
    return render(
        request,
        "customers/_account_options.html",
        {"options": [product_label(product) for product in products]},
    )


def _product_for(user, pk: int) -> Product:
    return get_object_or_404(
        Product.objects.restrict(user, Action.VIEW).select_related(
            "category", "tax_rate", "parent"
        ),
        pk=pk,
    )


@login_required
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, PRODUCT, Action.VIEW)
    product = _product_for(request.user, pk)
    can_see_stock = policy.has_grant(request.user, "sales.inventory", Action.VIEW)
    return render(
        request,
        "sales/catalogue/product_detail.html",
        {
            "product": product,
            "variants": product.variants.order_by("sku"),
            "prices": PriceListItem.objects.filter(product=product)
            .select_related("price_list")
            .order_by("price_list__name", "min_quantity"),
            "levels": StockLevel.objects.filter(product=product).select_related("warehouse")
            if can_see_stock
            else None,
            "can_manage": _can_manage(request.user),
            "can_move_stock": policy.has_grant(request.user, "sales.inventory", Action.CHANGE),
        },
    )


@login_required
def product_create(request: HttpRequest) -> HttpResponse:
    _require(request.user, PRODUCT, Action.MANAGE)
    initial = {}
    if request.GET.get("variant_of"):
        base = Product.objects.filter(pk=request.GET["variant_of"]).first()
        if base is not None:
            initial = {
                "parent": str(base.pk),
                "category": str(base.category_id or ""),
                "list_price": base.list_price,
                "unit": base.unit,
                "tax_rate": str(base.tax_rate_id or ""),
                "sku": f"{base.sku}-",
                "name": base.name,
                "name_en": base.name_en,
            }
    form = ProductForm(request.POST or None, initial=initial or None)
    if request.method == "POST" and form.is_valid():
        product = _call(
            form, catalogue_services.product_create, actor=request.user, **form.service_values()
        )
        if product:
            messages.success(request, _("“%(name)s” added.") % {"name": product.display_name})
            return redirect("sales:product_detail", product.pk)
    return render(request, "sales/catalogue/product_form.html", {"form": form, "product": None})


@login_required
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, PRODUCT, Action.MANAGE)
    product = _product_for(request.user, pk)
    form = ProductForm(request.POST or None, product=product)
    if request.method == "POST" and form.is_valid():
        values = form.service_values()
        if _call(
            form,
            catalogue_services.product_update,
            actor=request.user,
            product=product,
            **values,
        ):
            messages.success(request, _("Saved."))
            return redirect("sales:product_detail", product.pk)
    return render(request, "sales/catalogue/product_form.html", {"form": form, "product": product})


@login_required
@require_POST
def product_retire(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, PRODUCT, Action.MANAGE)
    product = _product_for(request.user, pk)
    if request.POST.get("active") == "1":
        _message_call(
            request,
            catalogue_services.product_update,
            actor=request.user,
            product=product,
            is_active=True,
        )
        return redirect("sales:product_detail", product.pk)
    outcome, done = _message_call(
        request, catalogue_services.product_delete, actor=request.user, product=product
    )
    if done and outcome == "deleted":
        messages.success(request, _("Deleted."))
        return redirect("sales:product_list")
    if done:
        messages.info(request, _("The product was used, so it is retired instead of deleted."))
    return redirect("sales:product_detail", product.pk)


# --- categories ------------------------------------------------------------------------------


@login_required
def category_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, PRODUCT, Action.MANAGE)
    form = CategoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        category = _call(
            form, catalogue_services.category_create, actor=request.user, **form.service_values()
        )
        if category:
            messages.success(request, _("“%(name)s” added.") % {"name": category.display_name})
            return redirect("sales:product_category_list")
    return render(
        request,
        "sales/catalogue/category_list.html",
        {"categories": ProductCategory.objects.all(), "form": form},
    )


@login_required
def category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, PRODUCT, Action.MANAGE)
    category = get_object_or_404(ProductCategory, pk=pk)
    form = CategoryForm(request.POST or None, category=category)
    if request.method == "POST" and form.is_valid():
        values = form.service_values()
        values["is_active"] = request.POST.get("is_active") == "on"
        if _call(
            form,
            catalogue_services.category_update,
            actor=request.user,
            category=category,
            **values,
        ):
            messages.success(request, _("Saved."))
            return redirect("sales:product_category_list")
    return render(
        request, "sales/catalogue/category_edit.html", {"form": form, "category": category}
    )


# --- price lists -----------------------------------------------------------------------------


@login_required
def price_list_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, PRODUCT, Action.VIEW)
    can_manage = _can_manage(request.user)
    form = PriceListForm(request.POST or None)
    if request.method == "POST":
        _require(request.user, PRODUCT, Action.MANAGE)
        if form.is_valid():
            price_list = _call(
                form, catalogue_services.price_list_create, actor=request.user, **form.cleaned_data
            )
            if price_list:
                messages.success(request, _("“%(name)s” added.") % {"name": price_list})
                return redirect("sales:price_list_edit", price_list.pk)
    return render(
        request,
        "sales/catalogue/price_list_list.html",
        {"price_lists": PriceList.objects.all(), "form": form, "can_manage": can_manage},
    )


@login_required
def price_list_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, PRODUCT, Action.VIEW)
    price_list = get_object_or_404(PriceList, pk=pk)
    can_manage = _can_manage(request.user)
    form = PriceListForm(
        request.POST if request.POST.get("form") == "list" else None, price_list=price_list
    )
    item_form = PriceItemForm(request.POST if request.POST.get("form") == "item" else None)
    if request.method == "POST":
        _require(request.user, PRODUCT, Action.MANAGE)
        if request.POST.get("form") == "list" and form.is_valid():
            if _call(
                form,
                catalogue_services.price_list_update,
                actor=request.user,
                price_list=price_list,
                **form.cleaned_data,
            ):
                messages.success(request, _("Saved."))
                return redirect("sales:price_list_edit", price_list.pk)
        elif request.POST.get("form") == "item" and item_form.is_valid():
            if _call(
                item_form,
                catalogue_services.price_list_item_set,
                actor=request.user,
                price_list=price_list,
                **item_form.service_values(),
            ):
                messages.success(request, _("Price saved."))
                return redirect("sales:price_list_edit", price_list.pk)
        elif request.POST.get("remove"):
            item = get_object_or_404(
                PriceListItem, pk=request.POST["remove"], price_list=price_list
            )
            _message_call(
                request, catalogue_services.price_list_item_delete, actor=request.user, item=item
            )
            return redirect("sales:price_list_edit", price_list.pk)
    return render(
        request,
        "sales/catalogue/price_list_edit.html",
        {
            "price_list": price_list,
            "items": price_list.items.select_related("product").order_by(
                "product__sku", "min_quantity"
            ),
            "form": form,
            "item_form": item_form,
            "can_manage": can_manage,
        },
    )


# --- tax rates -------------------------------------------------------------------------------


@login_required
def tax_rate_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, PRODUCT, Action.MANAGE)
    form = TaxRateForm(request.POST if request.POST.get("form") == "create" else None)
    if request.method == "POST":
        if request.POST.get("form") == "create" and form.is_valid():
            if _call(
                form, catalogue_services.tax_rate_create, actor=request.user, **form.cleaned_data
            ):
                messages.success(request, _("Saved."))
                return redirect("sales:tax_rate_list")
        elif request.POST.get("default"):
            tax_rate = get_object_or_404(TaxRate, pk=request.POST["default"])
            _message_call(
                request,
                catalogue_services.tax_rate_update,
                actor=request.user,
                tax_rate=tax_rate,
                is_default=True,
            )
            return redirect("sales:tax_rate_list")
        elif request.POST.get("toggle"):
            tax_rate = get_object_or_404(TaxRate, pk=request.POST["toggle"])
            _message_call(
                request,
                catalogue_services.tax_rate_update,
                actor=request.user,
                tax_rate=tax_rate,
                is_active=not tax_rate.is_active,
            )
            return redirect("sales:tax_rate_list")
    return render(
        request,
        "sales/catalogue/tax_rate_list.html",
        {"tax_rates": TaxRate.objects.all(), "form": form},
    )
