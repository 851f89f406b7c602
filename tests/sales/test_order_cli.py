"""`rapport order|invoice|contract` from the shell, as a user, through the services."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from rapport.sales.models import ContractStatus, InvoiceStatus, OrderStatus
from rapport.sales.services.contracts import contract_activate, contract_create
from tests.sales.test_order_setup import make_account, make_order

pytestmark = pytest.mark.django_db


def run(command, *args) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command(command, *args, stdout=out)
    return out.getvalue()


def test_order_to_payment_from_the_shell(org):
    order = make_order(org["rep_sh"])
    assert order.number in run("order", "list", "--as", "rep_sh")
    assert order.number not in run("order", "list", "--as", "rep_south")
    run("order", "confirm", order.number, "--as", "rep_sh")
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    with pytest.raises(CommandError):
        run("order", "confirm", order.number, "--as", "rep_sh")
    with pytest.raises(CommandError):
        run("invoice", "create", order.number, "--line", "1=5", "--as", "finance")
    assert "drafted" in run("invoice", "create", order.number, "--line", "1=1", "--as", "finance")
    invoice = order.invoices.get()
    assert "issued" in run("invoice", "issue", invoice.number, "--as", "finance")
    with pytest.raises(CommandError, match="currency"):
        run("invoice", "pay", invoice.number, "1", "--currency", "USD", "--as", "finance")
    run("invoice", "pay", invoice.number, str(invoice.total), "--as", "finance")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.number in run("invoice", "list", "--as", "rep_sh")
    run("order", "ship", str(order.pk), "--as", "rep_sh")
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED


def test_contract_list_and_remind(org):
    rep = org["rep_sh"]
    contract = contract_activate(
        actor=rep,
        contract=contract_create(
            actor=rep,
            account=make_account(rep),
            title="维保合同",
            start_date=date(2026, 1, 1),
            end_date=date(2026, 12, 31),
        ),
    )
    assert contract.number in run("contract", "list", "--as", "rep_sh")
    with pytest.raises(CommandError):
        run("contract", "remind", "--as", "rep_sh")
    assert "1 reminded" in run("contract", "remind", "--today", "2026-12-15", "--as", "admin")
    assert "0 reminded, 1 expired" in run(
        "contract", "remind", "--today", "2027-01-01", "--as", "admin"
    )
    contract.refresh_from_db()
    assert contract.status == ContractStatus.EXPIRED
