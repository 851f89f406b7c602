"""Payments: partial and several, in the invoice's currency, never beyond what is owed,
reversed with a reason; concurrent payments cannot overpay (PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from rapport.core.errors import PermissionDenied
from rapport.sales.models import Invoice, InvoiceStatus, Payment
from rapport.sales.services.invoices import (
    invoice_create_from_order,
    invoice_issue,
    payment_record,
    payment_reverse,
)
from rapport.sales.services.orders import order_confirm
from tests.sales.test_order_setup import make_order


def _issued_invoice(org):
    rep, finance = org["rep_sh"], org["finance"]
    order = order_confirm(actor=rep, order=make_order(rep))
    return invoice_issue(
        actor=finance, invoice=invoice_create_from_order(actor=finance, order=order)
    )


def _pay(actor, invoice, amount, **values):
    values.setdefault("currency", "CNY")
    values.setdefault("received_on", date.today())
    values.setdefault("method", "bank_transfer")
    values.setdefault("reference", "")
    return payment_record(actor=actor, invoice=invoice, amount=amount, **values)


@pytest.mark.django_db
def test_several_payments_settle_the_invoice_and_a_reversal_reopens_it(org):
    finance = org["finance"]
    invoice = _issued_invoice(org)
    assert invoice.total == Decimal("282.50")
    _pay(finance, invoice, "100.00", reference="银行流水1")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID and invoice.paid_total == 100
    last = _pay(finance, invoice, "182.50", method="alipay")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.balance == 0
    payment_reverse(actor=finance, payment=last, reason="退票")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID and invoice.paid_total == 100
    last.refresh_from_db()
    assert last.reversed_at and last.reversed_reason == "退票"
    with pytest.raises(ValidationError) as caught:
        payment_reverse(actor=finance, payment=last, reason="again")
    assert caught.value.error_dict["payment"][0].code == "already_reversed"


@pytest.mark.django_db
def test_a_payment_in_another_currency_is_refused_naming_currency(org):
    invoice = _issued_invoice(org)
    with pytest.raises(ValidationError) as caught:
        _pay(org["finance"], invoice, "10.00", currency="USD")
    assert caught.value.error_dict["currency"][0].code == "currency_mismatch"
    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert invoice.paid_total == 0 and invoice.status == InvoiceStatus.ISSUED


@pytest.mark.django_db
def test_overpayment_is_refused_naming_amount(org):
    finance = org["finance"]
    invoice = _issued_invoice(org)
    _pay(finance, invoice, "200.00")
    with pytest.raises(ValidationError) as caught:
        _pay(finance, invoice, "82.51")
    assert caught.value.error_dict["amount"][0].code == "exceeds_balance"
    assert Payment.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.paid_total == Decimal("200.00")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "1", "method": "gold"}, "method"),
        ({"amount": "1", "received_on": date.today() + timedelta(days=2)}, "received_on"),
    ],
)
def test_bad_payments_name_their_field(org, values, field):
    invoice = _issued_invoice(org)
    amount = values.pop("amount")
    with pytest.raises(ValidationError) as caught:
        _pay(org["finance"], invoice, amount, **values)
    assert field in caught.value.error_dict
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_a_draft_invoice_takes_no_payment_and_a_rep_records_none(org):
    rep, finance = org["rep_sh"], org["finance"]
    order = order_confirm(actor=rep, order=make_order(rep))
    draft = invoice_create_from_order(actor=finance, order=order)
    with pytest.raises(ValidationError) as caught:
        _pay(finance, draft, "1.00")
    assert caught.value.error_dict["invoice"][0].code == "not_payable"
    invoice = invoice_issue(actor=finance, invoice=draft)
    with pytest.raises(PermissionDenied):
        _pay(rep, invoice, "1.00")
    assert not Payment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_cannot_overpay(org):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    finance = org["finance"]
    invoice = _issued_invoice(org)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def pay() -> None:
        try:
            barrier.wait()
            _pay(finance, Invoice.objects.get(pk=invoice.pk), "100.00")
            outcomes.append("paid")
        except ValidationError as error:
            outcomes.append(error.error_dict["amount"][0].code)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["exceeds_balance", "exceeds_balance", "paid", "paid"]
    invoice.refresh_from_db()
    assert invoice.paid_total == Decimal("200.00")
    assert Payment.objects.filter(invoice=invoice).count() == 2
