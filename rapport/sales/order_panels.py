"""The "Orders and invoices" and "Contracts" cards of the account 360 page: the account's
latest orders, its open invoices and what they still owe, its contracts — only what the
reader may see (restricted like every read) — and "New order" / "New contract"."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from rapport.identity import policy
from rapport.identity.models import Action

from .invoice_selectors import open_invoices, with_balance
from .models import Contract, ContractStatus, Invoice, Order

SHOWN = 5


def render_orders(request: HttpRequest, record: Any) -> str:
    return _render_orders(
        request,
        orders_of={"account": record},
        invoices_of={"account": record},
        new_query=f"account={record.pk}",
    )


def render_opportunity_orders(request: HttpRequest, opportunity: Any) -> str:
    """The opportunity page's card: the orders made for it and their open invoices."""
    body = _render_orders(
        request,
        orders_of={"opportunity": opportunity},
        invoices_of={"order__opportunity": opportunity},
        new_query=f"account={opportunity.account_id}&opportunity={opportunity.pk}",
    )
    if not body:
        return ""
    return render_to_string(
        "sales/opportunities/_document_card.html",
        {"title": _("Orders and invoices"), "body": body, "key": "orders"},
        request=request,
    )


def _render_orders(
    request: HttpRequest,
    *,
    orders_of: dict[str, Any],
    invoices_of: dict[str, Any],
    new_query: str,
) -> str:
    user = request.user
    sees_orders = policy.has_grant(user, Order.security_type, Action.VIEW)
    sees_invoices = policy.has_grant(user, Invoice.security_type, Action.VIEW)
    if not (sees_orders or sees_invoices):
        return ""
    orders = (
        list(
            Order.objects.restrict(user, Action.VIEW)
            .filter(**orders_of)
            .order_by("-id")
            .only("pk", "number", "status", "currency", "total", "order_date")[:SHOWN]
        )
        if sees_orders
        else []
    )
    invoices: list[Invoice] = []
    owed: dict[str, Decimal] = {}
    if sees_invoices:
        open_ones = with_balance(open_invoices(user).filter(**invoices_of))
        invoices = list(
            open_ones.order_by("due_date", "id").only(
                "pk", "number", "status", "currency", "total", "paid_total", "due_date"
            )[:SHOWN]
        )
        owed = {
            row["currency"]: row["owed_sum"]
            for row in open_ones.order_by()
            .values("currency")
            .annotate(owed_sum=Sum("owed"))
            .order_by("currency")
        }
    can_add = policy.has_grant(user, Order.security_type, Action.ADD)
    if not orders and not invoices and not can_add:
        return ""
    return render_to_string(
        "sales/orders/_panel.html",
        {
            "orders": orders,
            "invoices": invoices,
            "owed": owed,
            "can_add": can_add,
            "new_query": new_query,
        },
        request=request,
    )


def render_contracts(request: HttpRequest, record: Any) -> str:
    user = request.user
    if not policy.has_grant(user, Contract.security_type, Action.VIEW):
        return ""
    contracts = Contract.objects.restrict(user, Action.VIEW).filter(account=record)
    latest = list(
        contracts.order_by("-id").only(
            "pk", "number", "title", "status", "start_date", "end_date", "currency", "value"
        )[:SHOWN]
    )
    can_add = policy.has_grant(user, Contract.security_type, Action.ADD)
    if not latest and not can_add:
        return ""
    return render_to_string(
        "sales/contracts/_panel.html",
        {
            "contracts": latest,
            "active_count": contracts.filter(status=ContractStatus.ACTIVE).count(),
            "can_add": can_add,
            "record": record,
        },
        request=request,
    )


def register() -> None:
    from rapport.customers.detail_views import Panel, register_panel
    from rapport.customers.models import Account

    from .opportunity_views import DETAIL_PANELS

    DETAIL_PANELS.append(render_opportunity_orders)
    register_panel(
        Account.security_type,
        Panel(key="orders", title=_("Orders and invoices"), render=render_orders, order=135),
    )
    register_panel(
        Account.security_type,
        Panel(key="contracts", title=_("Contracts"), render=render_contracts, order=137),
    )
