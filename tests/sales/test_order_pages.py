"""The order, invoice, receivables and contract pages: they render in both languages, their
forms show errors beside the field with nothing stored, the account card shows orders and
contracts, and list and detail pages take the same queries however many rows."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.sales.models import ContractAttachment, Order, OrderStatus, Payment
from rapport.sales.services.contracts import contract_create, contract_files_add
from rapport.sales.services.invoices import (
    invoice_create_from_order,
    invoice_issue,
    payment_record,
)
from rapport.sales.services.orders import order_confirm
from tests.sales.test_order_setup import make_account, make_order, make_product

pytestmark = pytest.mark.django_db


def signed_in(user, language="en") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def _invoiced(org):
    rep, finance = org["rep_sh"], org["finance"]
    order = order_confirm(actor=rep, order=make_order(rep))
    invoice = invoice_issue(
        actor=finance, invoice=invoice_create_from_order(actor=finance, order=order)
    )
    return order, invoice


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_page_renders(org, language):
    order, invoice = _invoiced(org)
    contract = contract_create(
        actor=org["rep_sh"],
        account=order.account,
        title="维保合同",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
    )
    rep, finance = signed_in(org["rep_sh"], language), signed_in(org["finance"], language)
    for client, url in (
        (rep, reverse("sales:order_list")),
        (rep, reverse("sales:order_create")),
        (rep, reverse("sales:order_detail", args=[order.pk])),
        (rep, reverse("sales:contract_list")),
        (rep, reverse("sales:contract_create")),
        (rep, reverse("sales:contract_detail", args=[contract.pk])),
        (rep, reverse("sales:contract_edit", args=[contract.pk])),
        (rep, reverse("customers:account_detail", args=[order.account.pk])),
        (finance, reverse("sales:invoice_list")),
        (finance, reverse("sales:invoice_detail", args=[invoice.pk])),
        (finance, reverse("sales:receivables")),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    card = rep.get(reverse("customers:account_detail", args=[order.account.pk])).content.decode()
    assert f'data-order-row="{order.pk}"' in card
    assert f'data-contract-row="{contract.pk}"' in card
    detail = finance.get(reverse("sales:invoice_detail", args=[invoice.pk])).content.decode()
    assert 'data-testid="payment-form"' in detail and 'data-testid="credit-form"' in detail


def test_creating_an_order_shows_line_errors_beside_the_line_and_stores_nothing(org):
    rep = org["rep_sh"]
    account = make_account(rep)
    client = signed_in(rep)
    url = reverse("sales:order_create")
    bad = client.post(
        url,
        {
            "account": f"{account.pk} · {account.name}",
            "line-description": ["服务器"],
            "line-quantity": ["-1"],
            "line-unit_price": ["100"],
        },
    )
    assert bad.status_code == 200
    assert "is-invalid" in bad.content.decode()
    assert not Order.objects.exists()
    product = make_product()
    good = client.post(
        url,
        {
            "account": f"{account.pk} · {account.name}",
            "line-product": [str(product.pk)],
            "line-quantity": ["2"],
        },
    )
    assert good.status_code == 302
    order = Order.objects.get()
    assert order.account == account and order.lines.get().quantity == 2


def test_order_actions_and_invoicing_from_the_page(org):
    rep, finance = org["rep_sh"], org["finance"]
    order = make_order(rep)
    client = signed_in(rep)
    client.post(reverse("sales:order_confirm", args=[order.pk]))
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    first_line = order.lines.order_by("position").first()
    page = signed_in(finance)
    response = page.post(
        reverse("sales:order_invoice", args=[order.pk]),
        {f"quantity-{line.pk}": "1" if line == first_line else "0" for line in order.lines.all()},
    )
    assert response.status_code == 302
    invoice = order.invoices.get()
    assert invoice.total == first_line.total_amount / 2
    page.post(reverse("sales:invoice_issue", args=[invoice.pk]))
    wrong = page.post(
        reverse("sales:invoice_pay", args=[invoice.pk]),
        {
            "amount": "10",
            "currency": "USD",
            "received_on": date.today().isoformat(),
            "method": "bank_transfer",
        },
    )
    assert wrong.status_code == 400 and "is-invalid" in wrong.content.decode()
    assert not Payment.objects.exists()


def test_a_rep_does_not_see_another_reps_order_or_contract_file(org, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    order = make_order(org["rep_south"])
    other = signed_in(org["rep_sh"])
    assert other.get(reverse("sales:order_detail", args=[order.pk])).status_code == 404
    contract = contract_create(
        actor=org["rep_south"],
        account=order.account,
        title="合同",
        start_date=date(2026, 1, 1),
    )
    (stored,) = contract_files_add(
        actor=org["rep_south"],
        contract=contract,
        uploads=[SimpleUploadedFile("a.pdf", b"%PDF-1.4 x", content_type="application/pdf")],
    )
    url = reverse("sales:contract_file", args=[stored.pk])
    assert other.get(url).status_code == 404
    owner = signed_in(org["rep_south"])
    response = owner.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 x"
    assert ContractAttachment.objects.count() == 1


def test_lists_and_details_take_the_same_queries_however_many_rows(org):
    rep, finance = org["rep_sh"], org["finance"]
    order, invoice = _invoiced(org)
    payment_record(
        actor=finance,
        invoice=invoice,
        amount="1.00",
        currency="CNY",
        received_on=date.today(),
        method="cash",
        reference="",
    )
    rep_client, finance_client = signed_in(rep), signed_in(finance)
    pages = [
        (rep_client, reverse("sales:order_list")),
        (rep_client, reverse("sales:order_detail", args=[order.pk])),
        (finance_client, reverse("sales:invoice_list")),
        (finance_client, reverse("sales:invoice_detail", args=[invoice.pk])),
        (finance_client, reverse("sales:receivables")),
        (rep_client, reverse("sales:contract_list")),
    ]

    def queries(client, url) -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    before = [queries(client, url) for client, url in pages]
    for n in range(4):
        more, more_invoice = _invoiced(org)
        payment_record(
            actor=finance,
            invoice=invoice,
            amount="1.00",
            currency="CNY",
            received_on=date.today(),
            method="cash",
            reference=f"r{n}",
        )
        contract_create(
            actor=rep, account=more.account, title=f"合同{n}", start_date=date(2026, 1, 1)
        )
    assert [queries(client, url) for client, url in pages] == before
