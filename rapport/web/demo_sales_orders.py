"""Demo orders, invoices, payments and contracts: about a dozen orders in every state —
drafts, confirmed (stock reserved), shipped, done and one cancelled — invoiced in one or two
parts, paid in full, in part or not at all (some overdue, so the receivables ageing has
something in every bucket), one credit note and one reversed payment; and contracts in
force, one ending soon (its owner is reminded), one expired and one renewed, made through
the order, invoice and contract services (so numbered, priced, audited, stock-checked).
Lines come from the catalogue's products when there are any (services first: they track no
stock), else are described services.

`generate_orders(users=…, rng=…)` is called by the demo command (wired by the lead).
Running it twice changes nothing the second time.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from rapport.customers.models import Account
from rapport.identity.models import Action, User
from rapport.sales.models import Order, Product
from rapport.sales.services import contracts as contract_services
from rapport.sales.services import invoices as invoice_services
from rapport.sales.services import orders as order_services

SERVICES = (
    ("CRM 实施服务（人天）", "人天", "2800.00", "6"),
    ("年度运维支持", "年", "36000.00", "6"),
    ("现场培训（每场）", "场", "6000.00", "6"),
    ("Data migration", "项", "45000.00", "6"),
)
# (final state, invoicing, paid share, days the invoice is overdue)
PLAN = (
    ("draft", None, None, 0),
    ("confirmed", None, None, 0),
    ("confirmed", "half", Decimal("0"), 0),
    ("shipped", "all", Decimal("1"), 0),
    ("shipped", "all", Decimal("0.5"), 20),
    ("done", "all", Decimal("1"), 0),
    ("done", "two", Decimal("0"), 45),
    ("done", "all", Decimal("0.3"), 75),
    ("done", "all", Decimal("0"), 120),
    ("shipped", "credit", Decimal("0"), 5),
    ("cancelled", None, None, 0),
    ("done", "reversed", Decimal("1"), 0),
)
CONTRACTS = (
    ("年度维保合同", "active", 365, 200),
    ("软件许可协议", "active", 365, 20),  # ends in 20 days: the owner is reminded
    ("Support agreement", "expired", 365, -10),
    ("服务外包合同", "renewed", 365, -5),
)


def _lines(rng: random.Random, products: list[Product]) -> list[dict]:
    if products:
        chosen = rng.sample(products, k=min(len(products), rng.randint(1, 3)))
        return [{"product": p, "quantity": str(rng.randint(1, 3))} for p in chosen]
    picked = rng.sample(SERVICES, k=2)
    return [
        {
            "description": name,
            "unit": unit,
            "unit_price": price,
            "tax_percent": tax,
            "quantity": str(rng.randint(1, 4)),
        }
        for name, unit, price, tax in picked
    ]


def _invoice(finance, order, how, paid_share, overdue_days, rng) -> None:
    lines = None
    if how in ("half", "two"):
        first = order.lines.order_by("position").first()
        half = (first.quantity / 2).quantize(Decimal("0.001"))
        lines = [{"order_line": first.pk, "quantity": str(half or first.quantity)}]
    issue_date = timezone.localdate() - timedelta(days=30 + overdue_days)
    invoice = invoice_services.invoice_issue(
        actor=finance,
        invoice=invoice_services.invoice_create_from_order(actor=finance, order=order, lines=lines),
        issue_date=issue_date if overdue_days else None,
    )
    if how == "two":
        invoice_services.invoice_issue(
            actor=finance,
            invoice=invoice_services.invoice_create_from_order(actor=finance, order=order),
        )
    if how == "credit":
        invoice_services.credit_note_create(
            actor=finance,
            invoice=invoice,
            reason="客户退回一件（包装破损）",
            amount=(invoice.total / 10).quantize(Decimal("0.01")),
        )
    if paid_share:
        amount = (invoice.total * paid_share).quantize(Decimal("0.01"))
        payment = invoice_services.payment_record(
            actor=finance,
            invoice=invoice,
            amount=amount,
            currency=invoice.currency,
            received_on=min(timezone.localdate(), issue_date + timedelta(days=rng.randint(3, 25))),
            method=rng.choice(["bank_transfer", "alipay", "wechat", "acceptance"]),
            reference=f"BANK{rng.randint(100000, 999999)}",
        )
        if how == "reversed":
            invoice_services.payment_reverse(
                actor=finance, payment=payment, reason="银行退票 / bounced"
            )


def generate_orders(*, users: dict[str, User], rng: random.Random) -> int:
    """About a dozen orders with their invoices and payments, and four contracts (once:
    nothing is added when orders exist); returns how many orders were made."""
    admin = users.get("admin")
    finance = users.get("finance") or admin
    reps = [u for key in ("sales_rep", "sales_rep_south") if (u := users.get(key)) is not None]
    if admin is None or not reps or Order.objects.exists():
        return 0
    products = list(
        Product.objects.filter(is_active=True, parent__isnull=True)
        .select_related("tax_rate")
        .order_by("track_inventory", "sku")[:12]
    )
    made = 0
    for index, (state, how, paid_share, overdue) in enumerate(PLAN):
        rep = reps[index % len(reps)]
        account = (
            Account.objects.restrict(rep, Action.VIEW)
            .filter(owner=rep)
            .order_by("id")[index:]
            .first()
            or Account.objects.restrict(rep, Action.VIEW).order_by("id").first()
        )
        if account is None:
            continue
        try:
            with transaction.atomic():
                order = order_services.order_create(
                    actor=rep,
                    account=account,
                    lines=_lines(rng, products),
                    discount_percent=rng.choice(["0", "0", "5"]),
                    customer_reference=f"PO-{rng.randint(10000, 99999)}",
                )
                if state != "draft":
                    if state == "cancelled":
                        order_services.order_cancel(actor=rep, order=order, reason="客户预算取消")
                        made += 1
                        continue
                    order = order_services.order_confirm(actor=rep, order=order)
                if state in ("shipped", "done"):
                    order = order_services.order_ship(actor=rep, order=order)
                if how:
                    _invoice(finance, order, how, paid_share, overdue, rng)
                if state == "done":
                    order_services.order_complete(actor=rep, order=order)
                made += 1
        except ValidationError:
            continue  # not enough stock for this order: the demo carries on without it
    today = timezone.localdate()
    for index, (title, state, length, ends_in) in enumerate(CONTRACTS):
        rep = reps[index % len(reps)]
        account = Account.objects.restrict(rep, Action.VIEW).order_by("id").first()
        if account is None:
            continue
        end = today + timedelta(days=ends_in)
        contract = contract_services.contract_create(
            actor=rep,
            account=account,
            title=title,
            start_date=end - timedelta(days=length - 1),
            end_date=end,
            value=str(rng.randint(5, 60) * 10000),
            renewal_notice_days=30,
        )
        contract = contract_services.contract_activate(
            actor=rep, contract=contract, signed_on=contract.start_date
        )
        if state == "renewed":
            contract_services.contract_renew(actor=rep, contract=contract)
    contract_services.contracts_daily(today=today)  # reminders and expiry, as the beat would
    return made


__all__ = ["generate_orders"]
