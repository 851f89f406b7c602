"""The sales part of the small demo: the catalogue and stock, leads in the pool and with reps,
opportunities across the pipeline, quotes, orders with invoices and payments, targets — each
area's generator going through its services, in the order the records depend on each other.
Every generator adds nothing when its records exist already, so `rapport demo` run twice
does not double them."""

from __future__ import annotations

import random

from rapport.customers.models import Account
from rapport.identity.models import User

from . import (
    demo_sales_catalogue,
    demo_sales_leads,
    demo_sales_orders,
    demo_sales_pipeline,
    demo_sales_quotes,
    demo_sales_targets,
)


def generate_sales(*, users: dict[str, User], rng: random.Random, accounts: int = 300) -> dict:
    demo_sales_catalogue.generate_catalogue(admin=users["admin"], rng=rng)
    customers = list(Account.objects.filter(is_active=True).order_by("pk")[: max(20, accounts)])
    # before the leads: converted demo leads bring their own opportunities, and the pipeline
    # generator adds nothing once opportunities exist
    opportunities = demo_sales_pipeline.generate_opportunities(
        users=users, accounts=customers, count=max(40, accounts // 3), rng=rng
    )
    leads = demo_sales_leads.generate_leads(users=users, rng=rng)
    # orders before quotes, for the same reason: an accepted demo quote makes its order
    orders = demo_sales_orders.generate_orders(users=users, rng=rng)
    quotes = demo_sales_quotes.generate_quotes(users=users, rng=rng)
    targets = demo_sales_targets.generate_targets(users=users, rng=rng)
    return {
        "leads": leads,
        "opportunities": opportunities,
        "quotes": quotes,
        "orders": orders,
        "targets": targets,
    }
