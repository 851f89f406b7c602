"""Invoicing an order in parts, issuing, cancelling drafts and crediting: never more than
the order (or the invoice) holds, each refusal naming its field, nothing stored."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from rapport.core.errors import PermissionDenied
from rapport.sales.models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, SalesSettings
from rapport.sales.services.invoices import (
    amount_due,
    credit_note_create,
    invoice_cancel,
    invoice_create_from_order,
    invoice_issue,
    payment_record,
)
from rapport.sales.services.orders import order_confirm
from tests.sales.test_order_setup import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(org):
    """Confirmed: 2 × 100.00 and 1 × 50.00 at 13 % VAT, total 282.50 (no tracked stock)."""
    rep = org["rep_sh"]
    return order_confirm(actor=rep, order=make_order(rep))


def _lines(order):
    return list(order.lines.order_by("position"))


def test_two_part_invoicing_adds_up_to_the_order_to_the_cent(org, order):
    finance = org["finance"]
    first_line, second_line = _lines(order)
    first = invoice_create_from_order(
        actor=finance, order=order, lines=[{"order_line": first_line.pk, "quantity": "1"}]
    )
    assert first.status == InvoiceStatus.DRAFT and first.number.startswith("INV")
    assert first.owner == order.owner and first.currency == order.currency
    assert first.total == Decimal("113.00")
    SalesSettings.objects.update_or_create(pk=1, defaults={"invoice_due_days": 45})
    first = invoice_issue(actor=finance, invoice=first)
    assert first.issue_date == timezone.localdate()
    assert first.due_date == first.issue_date + timedelta(days=45)
    order.refresh_from_db()
    assert order.invoiced_total == Decimal("113.00")
    first_line.refresh_from_db()
    assert first_line.quantity_invoiced == 1
    # the rest: everything not yet invoiced
    second = invoice_issue(
        actor=finance, invoice=invoice_create_from_order(actor=finance, order=order)
    )
    assert [(line.order_line_id, line.quantity) for line in second.lines.all()] == [
        (first_line.pk, Decimal(1)),
        (second_line.pk, Decimal(1)),
    ]
    order.refresh_from_db()
    assert first.total + second.total == order.total == order.invoiced_total
    with pytest.raises(ValidationError) as caught:
        invoice_create_from_order(actor=finance, order=order)
    assert caught.value.error_dict["lines"][0].code == "nothing_left"


def test_an_invoice_beyond_the_order_names_the_line_and_stores_nothing(org, order):
    finance = org["finance"]
    first_line, _second = _lines(order)
    with pytest.raises(ValidationError) as caught:
        invoice_create_from_order(
            actor=finance, order=order, lines=[{"order_line": first_line.pk, "quantity": "3"}]
        )
    assert caught.value.error_dict["lines.0.quantity"][0].code == "exceeds_remaining"
    assert not Invoice.objects.exists() and not InvoiceLine.objects.exists()


def test_a_draft_holds_its_quantity_until_cancelled(org, order):
    finance = org["finance"]
    first_line, _second = _lines(order)
    draft = invoice_create_from_order(
        actor=finance, order=order, lines=[{"order_line": first_line.pk, "quantity": "2"}]
    )
    with pytest.raises(ValidationError) as caught:
        invoice_create_from_order(
            actor=finance, order=order, lines=[{"order_line": first_line.pk, "quantity": "1"}]
        )
    assert "lines.0.quantity" in caught.value.error_dict
    invoice_cancel(actor=finance, invoice=draft)
    again = invoice_create_from_order(
        actor=finance, order=order, lines=[{"order_line": first_line.pk, "quantity": "1"}]
    )
    assert again.total == Decimal("113.00")
    issued = invoice_issue(actor=finance, invoice=again)
    with pytest.raises(ValidationError) as caught:
        invoice_cancel(actor=finance, invoice=issued)
    assert caught.value.error_dict["status"][0].code == "invalid_transition"


def test_bad_lines_are_named(org, order):
    finance = org["finance"]
    first_line, _second = _lines(order)
    with pytest.raises(ValidationError) as caught:
        invoice_create_from_order(
            actor=finance,
            order=order,
            lines=[
                {"order_line": 999999, "quantity": "1"},
                {"order_line": first_line.pk, "quantity": "-1"},
            ],
        )
    assert set(caught.value.error_dict) == {"lines.0.order_line", "lines.1.quantity"}
    assert not Invoice.objects.exists()


def test_a_draft_order_is_not_invoiced(org):
    rep, finance = org["rep_sh"], org["finance"]
    draft = make_order(rep)
    with pytest.raises(ValidationError) as caught:
        invoice_create_from_order(actor=finance, order=draft)
    assert caught.value.error_dict["order"][0].code == "not_invoiceable"


def test_a_rep_does_not_invoice(org, order):
    with pytest.raises(PermissionDenied):
        invoice_create_from_order(actor=org["rep_sh"], order=order)
    assert not Invoice.objects.exists()


def test_credit_notes_by_lines_and_amount_never_beyond_the_invoice(org, order):
    finance = org["finance"]
    invoice = invoice_issue(
        actor=finance, invoice=invoice_create_from_order(actor=finance, order=order)
    )
    first_invoice_line = invoice.lines.order_by("position").first()
    note = credit_note_create(
        actor=finance,
        invoice=invoice,
        reason="退货一台",
        lines=[{"invoice_line": first_invoice_line.pk, "quantity": "1"}],
    )
    assert note.kind == InvoiceKind.CREDIT_NOTE and note.number.startswith("CN")
    assert note.total == Decimal("113.00") and note.credited_invoice == invoice
    order.refresh_from_db()
    assert order.invoiced_total == Decimal("169.50")
    assert order.lines.get(pk=first_invoice_line.order_line_id).quantity_invoiced == 1
    assert amount_due(invoice) == Decimal("169.50")
    # the credited quantity can be invoiced again
    again = invoice_create_from_order(actor=finance, order=order)
    assert again.total == Decimal("113.00")
    invoice_cancel(actor=finance, invoice=again)
    # beyond what is left on the invoice: refused naming amount, nothing stored
    with pytest.raises(ValidationError) as caught:
        credit_note_create(actor=finance, invoice=invoice, reason="折让", amount="169.51")
    assert caught.value.error_dict["amount"][0].code == "exceeds_invoice"
    with pytest.raises(ValidationError) as caught:
        credit_note_create(
            actor=finance,
            invoice=invoice,
            reason="退货",
            lines=[{"invoice_line": first_invoice_line.pk, "quantity": "2"}],
        )
    assert caught.value.error_dict["lines.0.quantity"][0].code == "exceeds_remaining"
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1
    credit_note_create(actor=finance, invoice=invoice, reason="折让", amount="169.50")
    invoice.refresh_from_db()
    order.refresh_from_db()
    assert amount_due(invoice) == 0 and order.invoiced_total == 0
    # taken back in full before any payment: credited, not "paid", and nothing more to pay
    assert invoice.status == InvoiceStatus.CREDITED
    with pytest.raises(ValidationError):
        payment_record(
            actor=finance,
            invoice=invoice,
            amount="1.00",
            currency="CNY",
            received_on=date.today(),
            method="bank_transfer",
        )


def test_a_credit_note_needs_a_reason_and_one_of_lines_or_amount(org, order):
    finance = org["finance"]
    invoice = invoice_issue(
        actor=finance, invoice=invoice_create_from_order(actor=finance, order=order)
    )
    with pytest.raises(ValidationError) as caught:
        credit_note_create(actor=finance, invoice=invoice, reason="")
    assert set(caught.value.error_dict) == {"reason", "amount"}
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()


def test_a_paid_invoice_credited_in_part_stays_paid(org, order):
    finance = org["finance"]
    invoice = invoice_issue(
        actor=finance, invoice=invoice_create_from_order(actor=finance, order=order)
    )
    payment_record(
        actor=finance,
        invoice=invoice,
        amount="282.50",
        currency="CNY",
        received_on=date.today(),
        method="bank_transfer",
        reference="T1",
    )
    credit_note_create(actor=finance, invoice=invoice, reason="折让", amount="10")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
