"""The orders, invoices, payments, receivables and contracts API: the whole flow, errors
naming their field, who sees what, and list queries that do not grow with the rows."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from rapport.identity.services import token_create
from rapport.sales.models import Contract, Invoice, Payment
from rapport.sales.services.invoices import invoice_create_from_order, invoice_issue
from rapport.sales.services.orders import order_confirm
from tests.sales.test_order_setup import make_account, make_order

pytestmark = pytest.mark.django_db
ORDERS = "/api/v1/sales/orders/"
INVOICES = "/api/v1/sales/invoices/"


def api_for(user, language="en") -> APIClient:
    user.language = language
    user.save(update_fields=["language"])
    _token, secret = token_create(actor=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + secret)
    return client


def test_order_to_cash_through_the_api(org):
    rep, finance = api_for(org["rep_sh"]), api_for(org["finance"])
    account = make_account(org["rep_sh"])
    created = rep.post(
        ORDERS,
        {
            "account": account.pk,
            "lines": [
                {
                    "description": "服务器",
                    "quantity": "2",
                    "unit_price": "100.00",
                    "tax_percent": "13",
                }
            ],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    order = created.json()
    assert order["status"] == "draft" and order["total"] == "226.00"
    assert rep.post(f"{ORDERS}{order['id']}/confirm/").json()["status"] == "confirmed"
    line_id = order["lines"][0]["id"]
    part = finance.post(
        f"{ORDERS}{order['id']}/invoice/",
        {"lines": [{"order_line": line_id, "quantity": "1"}]},
        format="json",
    )
    assert part.status_code == 201, part.content
    invoice = part.json()
    assert invoice["total"] == "113.00" and invoice["status"] == "draft"
    too_much = finance.post(
        f"{ORDERS}{order['id']}/invoice/",
        {"lines": [{"order_line": line_id, "quantity": "2"}]},
        format="json",
    )
    assert too_much.status_code == 400
    assert "lines.0.quantity" in too_much.json()["error"]["fields"]
    issued = finance.post(f"{INVOICES}{invoice['id']}/issue/").json()
    assert issued["status"] == "issued" and issued["due_date"]
    pay = f"{INVOICES}{invoice['id']}/payments/"
    today = date.today().isoformat()
    wrong = finance.post(
        pay, {"amount": "10.00", "currency": "USD", "received_on": today}, format="json"
    )
    assert wrong.status_code == 400 and "currency" in wrong.json()["error"]["fields"]
    over = finance.post(
        pay, {"amount": "113.01", "currency": "CNY", "received_on": today}, format="json"
    )
    assert over.status_code == 400
    assert over.json()["error"]["fields"]["amount"][0]["code"] == "exceeds_balance"
    assert not Payment.objects.exists()
    first = finance.post(
        pay, {"amount": "13.00", "currency": "CNY", "received_on": today}, format="json"
    )
    assert first.status_code == 201
    finance.post(pay, {"amount": "100.00", "currency": "CNY", "received_on": today}, format="json")
    assert finance.get(f"{INVOICES}{invoice['id']}/").json()["status"] == "paid"
    reversed_ = finance.post(
        f"/api/v1/sales/payments/{first.json()['id']}/reverse/", {"reason": "退票"}, format="json"
    )
    assert reversed_.status_code == 200 and reversed_.json()["reversed_at"]
    detail = finance.get(f"{INVOICES}{invoice['id']}/").json()
    assert detail["status"] == "partially_paid" and detail["owed"] == "13.00"
    credit = finance.post(
        f"{INVOICES}{invoice['id']}/credit-note/",
        {"reason": "折让", "amount": "113.01"},
        format="json",
    )
    assert credit.status_code == 400 and "amount" in credit.json()["error"]["fields"]
    ageing = finance.get("/api/v1/sales/receivables/").json()
    (row,) = ageing["rows"]
    assert row["account"] == account.pk and row["current"] == "13.00"


def test_reps_see_their_own_orders_and_invoices_finance_sees_all(org):
    mine = order_confirm(actor=org["rep_sh"], order=make_order(org["rep_sh"]))
    theirs = order_confirm(actor=org["rep_south"], order=make_order(org["rep_south"]))
    finance = org["finance"]
    for order in (mine, theirs):
        invoice_issue(actor=finance, invoice=invoice_create_from_order(actor=finance, order=order))
    rep = api_for(org["rep_sh"])
    assert [o["id"] for o in rep.get(ORDERS).json()["results"]] == [mine.pk]
    assert rep.get(f"{ORDERS}{theirs.pk}/").status_code == 404
    invoices = rep.get(INVOICES).json()["results"]
    assert [i["order"] for i in invoices] == [mine.pk]
    their_invoice = Invoice.objects.get(order=theirs)
    assert rep.get(f"{INVOICES}{their_invoice.pk}/").status_code == 404
    refused = rep.post(
        f"{INVOICES}{invoice['id']}/payments/" if (invoice := invoices[0]) else "",
        {"amount": "1.00", "currency": "CNY", "received_on": date.today().isoformat()},
        format="json",
    )
    assert refused.status_code == 403
    seen = {i["order"] for i in api_for(finance).get(INVOICES).json()["results"]}
    assert seen == {mine.pk, theirs.pk}


def test_list_queries_do_not_grow_with_rows(org):
    finance_user = org["finance"]
    finance = api_for(finance_user)

    def grow(count):
        for _ in range(count):
            order = order_confirm(actor=org["rep_sh"], order=make_order(org["rep_sh"]))
            invoice_issue(
                actor=finance_user,
                invoice=invoice_create_from_order(actor=finance_user, order=order),
            )

    def queries(url):
        finance.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert finance.get(url).status_code == 200
        return len(captured)

    urls = (ORDERS, INVOICES, "/api/v1/sales/payments/", "/api/v1/sales/receivables/")
    grow(1)
    before = [queries(url) for url in urls]
    grow(4)
    assert [queries(url) for url in urls] == before


def test_contracts_through_the_api(org, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    rep = api_for(org["rep_sh"])
    account = make_account(org["rep_sh"])
    url = "/api/v1/sales/contracts/"
    bad = rep.post(
        url,
        {
            "account": account.pk,
            "title": "年度服务合同",
            "start_date": "2026-06-01",
            "end_date": "2026-05-01",
        },
        format="json",
    )
    assert bad.status_code == 400 and "end_date" in bad.json()["error"]["fields"]
    assert not Contract.objects.exists()
    made = rep.post(
        url,
        {
            "account": account.pk,
            "title": "年度服务合同",
            "start_date": "2026-01-01",
            "end_date": "2026-12-31",
            "value": "50000",
        },
        format="json",
    ).json()
    assert rep.post(f"{url}{made['id']}/activate/").json()["status"] == "active"
    upload = SimpleUploadedFile("scan.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    files = rep.post(f"{url}{made['id']}/files/", {"files": [upload]}, format="multipart")
    assert files.status_code == 201 and files.json()[0]["name"] == "scan.pdf"
    renewed = rep.post(f"{url}{made['id']}/renew/", {}, format="json")
    assert renewed.status_code == 201 and renewed.json()["renewal_of"] == made["id"]
    other = api_for(org["rep_south"])
    assert other.get(f"{url}{made['id']}/").status_code == 404
    assert other.post(f"{url}{made['id']}/terminate/", {"reason": "x"}).status_code == 404
