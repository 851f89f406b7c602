"""Pages of stock: the overview per product and warehouse (low-stock filter), the movements
history, receipts, stock counts and transfers, and the warehouses (administration).
Reading needs `view` on `sales.inventory`, moving stock `change`, warehouses `manage`; every
write goes through `rapport.sales.services.inventory`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core import search
from rapport.core.paging import cursor_page
from rapport.identity import policy
from rapport.identity.models import Action
from rapport.identity.views._common import _call, _message_call, _require

from .catalogue_forms import StockMoveForm, WarehouseForm
from .models import MovementKind, Product, StockLevel, StockMovement, Warehouse
from .services import inventory as inventory_services

INVENTORY = Warehouse.security_type
PAGE_SIZE = 50
MOVES = {
    "receipt": (gettext_lazy("Receive goods"), inventory_services.stock_receive),
    "adjustment": (gettext_lazy("Stock count"), inventory_services.stock_adjust),
    "transfer": (gettext_lazy("Transfer between warehouses"), inventory_services.stock_transfer),
}


def _products_matching(q: str):
    return search.filter_queryset(Product.objects.all(), q, also=Q(sku__istartswith=q)).values("pk")


@login_required
def stock_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, INVENTORY, Action.VIEW)
    levels = StockLevel.objects.select_related("product", "warehouse")
    q = request.GET.get("q", "").strip()
    warehouses = list(Warehouse.objects.all())
    chosen = next((w for w in warehouses if str(w.pk) == request.GET.get("warehouse")), None)
    if chosen is not None:
        levels = levels.filter(warehouse=chosen)
    if request.GET.get("product", "").isdigit():
        levels = levels.filter(product_id=int(request.GET["product"]))
    low = request.GET.get("low") == "1"
    if low:
        levels = levels.filter(
            product__low_stock_threshold__isnull=False,
            on_hand__lte=F("product__low_stock_threshold"),
        )
    if q:
        levels = levels.filter(product__in=_products_matching(q))
    page = cursor_page(request, levels, ordering=["id"], page_size=PAGE_SIZE)
    return render(
        request,
        "sales/inventory/stock_list.html",
        {
            "page": page,
            "q": q,
            "low": low,
            "warehouses": warehouses,
            "chosen": chosen,
            "can_move": policy.has_grant(request.user, INVENTORY, Action.CHANGE),
        },
    )


@login_required
def movement_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, INVENTORY, Action.VIEW)
    movements = StockMovement.objects.select_related("product", "warehouse", "created_by", "order")
    q = request.GET.get("q", "").strip()
    warehouses = list(Warehouse.objects.all())
    chosen = next((w for w in warehouses if str(w.pk) == request.GET.get("warehouse")), None)
    if chosen is not None:
        movements = movements.filter(warehouse=chosen)
    kind = request.GET.get("kind", "")
    if kind in MovementKind.values:
        movements = movements.filter(kind=kind)
    if request.GET.get("product", "").isdigit():
        movements = movements.filter(product_id=int(request.GET["product"]))
    if q:
        movements = movements.filter(product__in=_products_matching(q))
    page = cursor_page(request, movements, ordering=["-id"], page_size=PAGE_SIZE)
    return render(
        request,
        "sales/inventory/movement_list.html",
        {
            "page": page,
            "q": q,
            "kind": kind,
            "kinds": MovementKind.choices,
            "warehouses": warehouses,
            "chosen": chosen,
        },
    )


@login_required
def stock_move(request: HttpRequest, kind: str) -> HttpResponse:
    _require(request.user, INVENTORY, Action.CHANGE)
    if kind not in MOVES:
        raise Http404
    title, service = MOVES[kind]
    initial = {}
    if request.GET.get("product"):
        initial["product"] = request.GET["product"]
    default = inventory_services.default_warehouse()
    if default is not None:
        initial["warehouse"] = str(default.pk)
    form = StockMoveForm(request.POST or None, kind=kind, initial=initial)
    if request.method == "POST" and form.is_valid():
        done = _call(form, service, actor=request.user, **form.service_values())
        if done is not None or (kind == "adjustment" and not form.errors):
            messages.success(request, _("Stock updated."))
            return redirect("sales:movement_list")
    return render(
        request,
        "sales/inventory/stock_move.html",
        {"form": form, "title": title, "kind": kind},
    )


@login_required
def warehouse_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, INVENTORY, Action.MANAGE)
    form = WarehouseForm(request.POST if request.POST.get("form") == "create" else None)
    if request.method == "POST":
        if request.POST.get("form") == "create" and form.is_valid():
            if _call(
                form,
                inventory_services.warehouse_create,
                actor=request.user,
                **form.cleaned_data,
            ):
                messages.success(request, _("Saved."))
                return redirect("sales:warehouse_list")
        elif request.POST.get("default") or request.POST.get("toggle"):
            warehouse = get_object_or_404(
                Warehouse, pk=request.POST.get("default") or request.POST.get("toggle")
            )
            changes = (
                {"is_default": True}
                if request.POST.get("default")
                else {"is_active": not warehouse.is_active}
            )
            _message_call(
                request,
                inventory_services.warehouse_update,
                actor=request.user,
                warehouse=warehouse,
                **changes,
            )
            return redirect("sales:warehouse_list")
    return render(
        request,
        "sales/inventory/warehouse_list.html",
        {"warehouses": Warehouse.objects.all(), "form": form},
    )
