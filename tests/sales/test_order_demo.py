"""The demo's orders, invoices, payments and contracts: made through the services, every
state present, the ageing filled, and a second run adds nothing."""

from __future__ import annotations

import random

import pytest

from rapport.sales.invoice_selectors import receivables_ageing
from rapport.sales.models import Contract, Invoice, InvoiceKind, Order, Payment
from rapport.web.demo_sales_orders import generate_orders
from tests.sales.test_order_setup import make_account

pytestmark = pytest.mark.django_db


def test_demo_orders_cover_every_state_once(org):
    users = {
        "admin": org["admin"],
        "finance": org["finance"],
        "sales_rep": org["rep_sh"],
        "sales_rep_south": org["rep_south"],
    }
    for rep in (org["rep_sh"], org["rep_south"]):
        make_account(rep)
        make_account(rep)
    made = generate_orders(users=users, rng=random.Random(7))
    assert made == 12
    statuses = set(Order.objects.values_list("status", flat=True))
    assert statuses == {"draft", "confirmed", "shipped", "done", "cancelled"}
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1
    assert Payment.objects.filter(reversed_at__isnull=False).count() == 1
    assert {"active", "expired", "renewed"} <= set(
        Contract.objects.values_list("status", flat=True)
    )
    assert Contract.objects.filter(renewal_reminded_at__isnull=False).exists()
    rows, _totals = receivables_ageing(org["finance"])
    buckets = {key for row in rows for key, amount in row.buckets.items() if amount}
    assert {"current", "days_1_30", "days_31_60", "days_61_90", "days_over_90"} <= buckets
    assert generate_orders(users=users, rng=random.Random(7)) == 0
    assert Order.objects.count() == 12
