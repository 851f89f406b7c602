"""The order pages: the list (status, owner, account, `?q=`), the order (lines with their
stock and invoicing state, its invoices, and its actions: confirm, ship, complete, cancel,
invoice), and the editor with its lines (the quote editor's htmx line rows and totals).

Views parse, authorize and render: reads go through `Order.objects.restrict`, every write
through `rapport.sales.services.orders` / `invoices`, whose errors land beside their field
or line.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core.paging import cursor_page
from rapport.customers.models import Account
from rapport.identity import policy
from rapport.identity.models import Action
from rapport.identity.views._common import _call, _message_call

from .models import (
    Invoice,
    Order,
    OrderLine,
    OrderStatus,
    ReservationState,
    StockLevel,
    StockReservation,
)
from .order_forms import CancelForm, OrderForm
from .quote_forms import posted_lines
from .quote_views import _line_rows, _split_errors, _totals, editor_initial
from .services import invoices as invoice_services
from .services import orders as order_services

ORDER = Order.security_type
PAGE_SIZE = 50


def _require_grant(user, action: str) -> None:
    if not policy.has_grant(user, ORDER, action):
        raise PermissionDenied(_("You do not have permission to do this."))


def order_for(user, pk: int, action: str = Action.VIEW) -> Order:
    """The order, if the user may `action` it; else not found (its existence stays hidden)."""
    order = (
        Order.objects.restrict(user, action)
        .select_related("account", "contact", "opportunity", "quote", "warehouse", "owner")
        .filter(pk=pk)
        .first()
    )
    if order is None:
        raise Http404(_("No such order."))
    return order


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_grant(user, Action.VIEW)
    orders = Order.objects.restrict(user, Action.VIEW).select_related("account", "owner")
    status = request.GET.get("status") or ""
    if status in OrderStatus.values:
        orders = orders.filter(status=status)
    owner = request.GET.get("owner") or ""
    if owner == "me":
        orders = orders.filter(owner=user)
    account = request.GET.get("account") or ""
    account_record = None
    if account.isdigit():
        account_record = Account.objects.restrict(user, Action.VIEW).filter(pk=int(account)).first()
        orders = orders.filter(account_id=int(account))
    text = (request.GET.get("q") or "").strip()
    if text:
        orders = orders.filter(
            Q(number__icontains=text)
            | Q(customer_reference__icontains=text)
            | Q(account__name__icontains=text)
        )
    page = cursor_page(request, orders, ordering=["-id"], page_size=PAGE_SIZE)
    return render(
        request,
        "sales/orders/order_list.html",
        {
            "page": page,
            "status": status,
            "statuses": OrderStatus.choices,
            "owner": owner,
            "account": account_record,
            "q": text,
            "can_add": policy.has_grant(user, ORDER, Action.ADD),
        },
    )


def _order_lines_as_input(order: Order) -> list[dict[str, Any]]:
    return [
        {
            "product": str(line.product_id or ""),
            "description": line.description,
            "quantity": str(line.quantity.normalize()),
            "unit_price": str(line.unit_price),
            "discount_percent": str(line.discount_percent.normalize()),
            "tax_percent": str(line.tax_percent.normalize()),
        }
        for line in order.lines.order_by("position", "id")
    ]


def _editor(request: HttpRequest, order: Order | None) -> HttpResponse:
    user = request.user
    initial = editor_initial(request) if order is None else {}
    form = OrderForm(request.POST or None, user=user, order=order, initial=initial)
    if request.method == "POST":
        lines = posted_lines(request.POST)
    else:
        lines = _order_lines_as_input(order) if order is not None else [{"quantity": "1"}]
    line_errors: dict[str, list[str]] = {}
    if request.method == "POST" and form.is_valid():
        try:
            if order is None:
                saved = order_services.order_create(
                    actor=user, lines=lines, **form.service_values(creating=True)
                )
            else:
                saved = order_services.order_update(
                    actor=user, order=order, lines=lines, **form.service_values(creating=False)
                )
        except Exception as error:  # noqa: BLE001 (sorted and shown, or raised again)
            line_errors, rest = _split_errors(error)
            if rest is not None:
                _call(form, _raise, error=rest)
            if "lines" in line_errors:
                form.add_error(None, line_errors.pop("lines"))
        else:
            messages.success(request, _("Order %(order)s saved.") % {"order": saved})
            return redirect("sales:order_detail", saved.pk)
    return render(
        request,
        "sales/orders/order_form.html",
        {
            "form": form,
            "order": order,
            "rows": _line_rows(lines or [{"quantity": "1"}], line_errors),
            "totals": _totals(lines, form.data.get("discount_percent") if form.is_bound else None),
        },
    )


def _raise(*, error: Exception):
    raise error


@login_required
def order_create(request: HttpRequest) -> HttpResponse:
    _require_grant(request.user, Action.ADD)
    return _editor(request, None)


@login_required
def order_edit(request: HttpRequest, pk: int) -> HttpResponse:
    order = order_for(request.user, pk, Action.CHANGE)
    if order.status != OrderStatus.DRAFT:
        messages.error(request, _("Only a draft order can be changed."))
        return redirect("sales:order_detail", order.pk)
    return _editor(request, order)


def _stock_states(order: Order, lines: list[OrderLine]) -> dict[int, dict[str, Any]]:
    """Per line: what is reserved or shipped, and what the warehouse has available."""
    reservations: dict[int, dict[str, Decimal]] = {}
    for row in (
        StockReservation.objects.filter(order_line__order=order)
        .values("order_line_id", "state")
        .annotate(quantity=Sum("quantity"))
    ):
        reservations.setdefault(row["order_line_id"], {})[row["state"]] = row["quantity"]
    available: dict[int, Decimal] = {}
    if order.warehouse_id:
        product_ids = [line.product_id for line in lines if line.product_id]
        for level in StockLevel.objects.filter(
            warehouse_id=order.warehouse_id, product_id__in=product_ids
        ):
            available[level.product_id] = level.on_hand - level.reserved
    states = {}
    for line in lines:
        tracked = line.product_id is not None and line.product.track_inventory
        held = reservations.get(line.pk, {})
        states[line.pk] = {
            "tracked": tracked,
            "reserved": held.get(ReservationState.ACTIVE),
            "shipped": held.get(ReservationState.SHIPPED) or line.quantity_shipped or None,
            "available": available.get(line.product_id) if tracked else None,
            "short": tracked
            and order.status == OrderStatus.DRAFT
            and available.get(line.product_id, Decimal(0)) < line.quantity,
        }
    return states


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    order = order_for(user, pk)
    can_change = policy.can(user, Action.CHANGE, order)
    lines = list(order.lines.select_related("product").order_by("position", "id"))
    invoices = (
        list(
            Invoice.objects.restrict(user, Action.VIEW)
            .filter(order=order)
            .order_by("id")
            .only(
                "pk",
                "number",
                "kind",
                "status",
                "total",
                "paid_total",
                "currency",
                "issue_date",
                "due_date",
                "order_id",
            )
        )
        if policy.has_grant(user, Invoice.security_type, Action.VIEW)
        else []
    )
    status = order.status
    left = invoice_services.left_to_invoice(order) if status in invoice_services.INVOICEABLE else {}
    can_invoice = (
        policy.has_grant(user, Invoice.security_type, Action.ADD)
        and status in invoice_services.INVOICEABLE
        and any(quantity > 0 for quantity in left.values())
    )
    stock = _stock_states(order, lines)
    return render(
        request,
        "sales/orders/order_detail.html",
        {
            "order": order,
            "rows": [
                {"line": line, "stock": stock[line.pk], "left": left.get(line.pk)} for line in lines
            ],
            "invoices": invoices,
            "actions": {
                "edit": can_change and status == OrderStatus.DRAFT,
                "confirm": can_change and status == OrderStatus.DRAFT,
                "ship": can_change and status == OrderStatus.CONFIRMED,
                "complete": can_change and status == OrderStatus.SHIPPED,
                "cancel": can_change and status in (OrderStatus.DRAFT, OrderStatus.CONFIRMED),
                "invoice": can_invoice,
            },
            "cancel_form": CancelForm(),
        },
    )


def _action(request: HttpRequest, pk: int, service, done: str, **values) -> HttpResponse:
    user = request.user
    order = order_for(user, pk, Action.CHANGE)
    _result, ok = _message_call(request, service, actor=user, order=order, **values)
    if ok:
        messages.success(request, done)
    return redirect("sales:order_detail", order.pk)


@login_required
@require_POST
def order_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, order_services.order_confirm, _("Order confirmed: stock reserved."))


@login_required
@require_POST
def order_ship(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, order_services.order_ship, _("Order shipped."))


@login_required
@require_POST
def order_complete(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, order_services.order_complete, _("Order completed."))


@login_required
@require_POST
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        order_services.order_cancel,
        _("Order cancelled."),
        reason=request.POST.get("reason", ""),
    )


@login_required
@require_POST
def order_invoice(request: HttpRequest, pk: int) -> HttpResponse:
    """A draft invoice of the quantities posted per line (`quantity-<line id>`)."""
    user = request.user
    order = order_for(user, pk)
    lines = None
    posted = {
        key.removeprefix("quantity-"): value
        for key, value in request.POST.items()
        if key.startswith("quantity-")
    }
    if posted:
        lines = [
            {"order_line": int(line_id), "quantity": value or "0"}
            for line_id, value in posted.items()
            if line_id.isdigit()
        ]
    invoice, ok = _message_call(
        request, invoice_services.invoice_create_from_order, actor=user, order=order, lines=lines
    )
    if ok:
        messages.success(request, _("Invoice %(invoice)s drafted.") % {"invoice": invoice})
        return redirect("sales:invoice_detail", invoice.pk)
    return redirect("sales:order_detail", order.pk)
