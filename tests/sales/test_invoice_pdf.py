"""An invoice as a PDF, from its page, the API and the CLI: the letterhead, the lines, the
totals, what was paid and what is still owed, in the language asked for; only for those who
may see the invoice; every download audited."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command
from django.test import Client

from rapport.audit.models import AuditEvent
from rapport.sales.config import get_settings
from rapport.sales.services.invoices import (
    credit_note_create,
    invoice_create_from_order,
    invoice_issue,
    payment_record,
)
from rapport.sales.services.orders import order_confirm
from tests.sales.test_order_setup import make_order
from tests.sales.test_quote_api import api_for, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(org):
    current = get_settings()
    current.company_name = "杭州融达科技有限公司"
    current.company_name_en = "Hangzhou Rongda Technology Co., Ltd."
    current.bank_name = "招商银行杭州分行"
    current.bank_account = "5719 0000 1234"
    current.save()
    finance = org["finance"]
    order = order_confirm(actor=org["rep_sh"], order=make_order(org["rep_sh"]))
    issued = invoice_issue(
        actor=finance, invoice=invoice_create_from_order(actor=finance, order=order)
    )
    payment_record(
        actor=finance,
        invoice=issued,
        amount="100.00",
        currency="CNY",
        received_on=date.today(),
        method="bank_transfer",
    )
    return issued


def test_the_page_s_pdf_in_chinese_with_what_is_owed(org, invoice, tmp_path):
    client = Client()
    client.force_login(org["finance"])
    response = client.get(f"/sales/invoices/{invoice.pk}/pdf/", {"language": "zh-hans"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content, tmp_path)
    assert "杭州融达科技有限公司" in text and invoice.number in text
    assert "服务器" in text and "282.50" in text and "182.50" in text  # total, still owed
    assert "招商银行杭州分行" in text
    assert AuditEvent.objects.filter(action="invoice.pdf", object_id=str(invoice.pk)).exists()
    # a rep of another region may not see it
    other = Client()
    other.force_login(org["rep_south"])
    assert other.get(f"/sales/invoices/{invoice.pk}/pdf/").status_code == 404


def test_the_api_and_the_cli_in_english_and_a_credit_note(org, invoice, tmp_path):
    client = api_for(org["finance"])
    response = client.get(f"/api/v1/sales/invoices/{invoice.pk}/pdf/", {"language": "en"})
    assert response.status_code == 200
    text = pdf_text(response.content, tmp_path)
    assert "Hangzhou Rongda Technology" in text and "Invoice" in text and "Still owed" in text
    note = credit_note_create(actor=org["finance"], invoice=invoice, reason="折让", amount="10")
    out = tmp_path / "note.pdf"
    call_command(
        "invoice", "pdf", note.number, "-o", str(out), "--language", "en", "--as", "finance"
    )
    text = pdf_text(out.read_bytes(), tmp_path)
    assert "Credit note" in text and invoice.number in text and "Still owed" not in text
