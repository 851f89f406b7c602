"""The demo quotes: made through the services, in every state, once."""

from __future__ import annotations

import random

import pytest

from rapport.automation.sales_quotes import install_default_process
from rapport.customers import services as customer_services
from rapport.sales.config import get_settings
from rapport.sales.models import Order, Quote
from rapport.web.demo_sales_quotes import generate_quotes

pytestmark = pytest.mark.django_db


def test_demo_quotes_in_every_state(org, django_capture_on_commit_callbacks):
    rep, manager = org["rep_east"], org["sales_manager"]
    rep.manager = manager
    rep.save(update_fields=["manager"])
    install_default_process()
    for number in range(4):
        account = customer_services.account_create(actor=rep, name=f"演示客户{number}有限公司")
        customer_services.contact_create(
            actor=rep, name=f"联系人{number}", accounts=[account], emails=[f"c{number}@example.cn"]
        )
    users = {"admin": org["admin"], "sales_rep": rep, "sales_manager": manager}
    with django_capture_on_commit_callbacks(execute=True):
        made = generate_quotes(users=users, rng=random.Random(7))
    assert made >= 12
    statuses = set(Quote.objects.values_list("status", flat=True))
    assert {"draft", "approved", "pending_approval", "sent", "accepted", "declined"} <= statuses
    assert {"expired", "superseded"} <= statuses
    assert Order.objects.count() == 1
    assert get_settings().company_name == "上海融通信息技术有限公司"
    assert generate_quotes(users=users, rng=random.Random(7)) == 0
