"""The quote API, the quote PDF and the sales settings: what each caller sees, the workflow
through the endpoints, errors naming the field, and the PDF's text in both languages."""

from __future__ import annotations

import subprocess
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from rapport.audit.models import AuditEvent
from rapport.identity.services import token_create
from rapport.sales.config import get_settings
from rapport.sales.models import Order, Quote
from rapport.sales.quote_pdf import render_quote_pdf
from rapport.sales.services import quotes
from tests.sales.test_quote_services import deal, make  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db
URL = "/api/v1/sales/quotes/"
SETTINGS_URL = "/api/v1/sales/settings/"


def api_for(user, language="en") -> APIClient:
    user.language = language
    user.save(update_fields=["language"])
    _token, secret = token_create(actor=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + secret)
    return client


def pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "quote.pdf"
    path.write_bytes(content)
    return subprocess.run(
        ["/usr/bin/pdftotext", "-layout", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_a_rep_works_a_quote_through_the_api(deal):  # noqa: F811
    client = api_for(deal["rep"])
    created = client.post(
        URL,
        {
            "account": deal["account"].pk,
            "contact": deal["contact"].pk,
            "title": "机床报价",
            "lines": [{"product": deal["product"].pk, "quantity": "2"}],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "draft" and body["total"] == "2260.00"
    assert [line["unit_price"] for line in body["lines"]] == ["1000.00"]
    detail = f"{URL}{body['id']}/"
    changed = client.patch(detail, {"discount_percent": "20"}, format="json")
    assert changed.json()["effective_discount_percent"] == "20.00"
    submitted = client.post(f"{detail}submit/").json()
    assert submitted["status"] == "pending_approval"
    assert submitted["approval"]["state"] == "pending"
    assert submitted["approval"]["tasks"][0]["approver"] == str(deal["manager"])
    assert client.post(f"{detail}send/", {}, format="json").status_code == 400
    listed = client.get(URL, {"status": "pending_approval", "q": "机床"}).json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]


def test_send_accept_decline_and_versions_through_the_api(deal):  # noqa: F811
    client = api_for(deal["rep"])
    quote = quotes.quote_submit(actor=deal["rep"], quote=make(deal))
    detail = f"{URL}{quote.pk}/"
    sent = client.post(f"{detail}send/", {"message": "请查收"}, format="json")
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    copy = client.post(f"{detail}new-version/")
    assert copy.status_code == 201 and copy.json()["version"] == 2
    accepted = client.post(f"{detail}accept/")
    assert accepted.json()["status"] == "accepted"
    assert client.post(f"{detail}accept/").status_code == 200
    assert Order.objects.filter(quote=quote).count() == 1
    other = quotes.quote_submit(actor=deal["rep"], quote=make(deal))
    refused = client.post(f"{URL}{other.pk}/decline/", {"reason": ""}, format="json")
    assert refused.status_code == 400
    assert "reason" in refused.json()["error"]["fields"]


def test_errors_name_the_field(deal):  # noqa: F811
    client = api_for(deal["rep"], "zh-hans")
    bad = client.post(
        URL,
        {
            "account": deal["account"].pk,
            "discount_percent": "150",
            "lines": [{"description": "安装", "quantity": "-1", "unit_price": "100"}],
        },
        format="json",
    )
    assert bad.status_code == 400
    fields = bad.json()["error"]["fields"]
    assert {"discount_percent", "lines.0.quantity"} <= set(fields)
    assert not Quote.objects.exists()
    quote = quotes.quote_submit(actor=deal["rep"], quote=make(deal))
    locked = client.patch(f"{URL}{quote.pk}/", {"title": "改"}, format="json")
    assert locked.status_code == 400 and "status" in locked.json()["error"]["fields"]


def test_a_rep_does_not_see_another_reps_quotes(org, deal):  # noqa: F811
    quote = make(deal)
    other = api_for(org["rep_south"])
    assert other.get(f"{URL}{quote.pk}/").status_code == 404
    assert other.get(f"{URL}{quote.pk}/pdf/").status_code == 404
    assert other.post(f"{URL}{quote.pk}/submit/").status_code == 404
    assert other.get(URL).json()["results"] == []
    manager = api_for(deal["manager"])
    assert [row["id"] for row in manager.get(URL).json()["results"]] == [quote.pk]
    assert api_for(org["agent"]).get(URL).status_code == 403


def test_the_pdf_in_chinese_has_the_letterhead_number_and_total(deal, tmp_path):  # noqa: F811
    current = get_settings()
    current.tax_number = "91330100MA2XXXXX1X"
    current.quote_terms = "款到发货，质保一年。"
    current.save()
    quote = make(deal)
    text = pdf_text(render_quote_pdf(quote), tmp_path)
    assert "杭州融达科技有限公司" in text
    assert quote.number in text and "2,260.00" in text
    assert "款到发货" in text and "数控机床" in text and "91330100MA2XXXXX1X" in text


def test_the_pdf_in_english_uses_the_english_letterhead(deal, tmp_path):  # noqa: F811
    quote = make(deal, language="en", discount="10")
    text = pdf_text(render_quote_pdf(quote), tmp_path)
    assert "Hangzhou Rongda Technology Co., Ltd." in text
    assert quote.number in text and "2,034.00" in text  # 2,000 less 10 % + 13 % VAT
    assert "Quotation" in text and "Valid until" in text


def test_the_pdf_download_is_audited(deal, tmp_path):  # noqa: F811
    quote = make(deal)
    response = api_for(deal["rep"]).get(f"{URL}{quote.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert quote.number in pdf_text(response.content, tmp_path)
    assert AuditEvent.objects.filter(action="quote.pdf", object_id=str(quote.pk)).exists()


def test_sales_settings_are_read_by_reps_and_changed_by_administrators(org, deal):  # noqa: F811
    rep = api_for(deal["rep"])
    assert rep.get(SETTINGS_URL).json()["company_name"] == "杭州融达科技有限公司"
    assert rep.patch(SETTINGS_URL, {"quote_valid_days": "10"}, format="json").status_code == 403
    admin = api_for(org["admin"])
    changed = admin.patch(
        SETTINGS_URL,
        {"quote_valid_days": "15", "discount_approval_percent": "12.5", "default_currency": "usd"},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["quote_valid_days"] == 15
    assert changed.json()["default_currency"] == "USD"
    current = get_settings()
    assert current.discount_approval_percent == Decimal("12.50")
    bad = admin.patch(
        SETTINGS_URL,
        {"discount_approval_percent": "101", "quote_valid_days": "0", "email": "x"},
        format="json",
    )
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {
        "discount_approval_percent",
        "quote_valid_days",
        "email",
    }
    assert get_settings().quote_valid_days == 15
    assert AuditEvent.objects.filter(object_type="sales.salessettings").exists()
