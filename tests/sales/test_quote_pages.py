"""The quote pages: the list and its filters, the editor with its lines and live totals, the
quote with its approval and actions, the account's Quotes card, the sales settings page, and
query counts that do not grow with the rows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from rapport.automation import approvals
from rapport.automation.models import ApprovalRequest
from rapport.sales.config import get_settings
from rapport.sales.models import Quote, QuoteStatus
from rapport.sales.services import quotes
from tests.query_counts import assert_flat
from tests.sales.test_quote_services import deal, make  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def signed_in(user, language="en") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def editor_post(setup, **overrides) -> dict:
    data = {
        "account": f"{setup['account'].pk} · {setup['account'].name}",
        "contact": f"{setup['contact'].pk} · {setup['contact'].name}",
        "title": "机床报价",
        "language": "zh-hans",
        "discount_percent": "0",
        "line-product": [str(setup["product"].pk), ""],
        "line-description": ["", "安装调试"],
        "line-quantity": ["2", "1"],
        "line-unit_price": ["", "500"],
        "line-discount_percent": ["", ""],
        "line-tax_percent": ["", "6"],
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_quote_from_the_editor_to_approval_and_sending(deal, language):  # noqa: F811
    rep = signed_in(deal["rep"], language)
    assert rep.get("/sales/quotes/new/", {"account": deal["account"].pk}).status_code == 200
    saved = rep.post("/sales/quotes/new/", editor_post(deal, discount_percent="15"))
    assert saved.status_code == 302
    quote = Quote.objects.get()
    assert quote.lines.count() == 2
    # 2 × 1,000 + 500, less 15 % = 2,125 net; VAT 13 % of 1,700 + 6 % of 425
    assert quote.total == Decimal("2125.00") + Decimal("221.00") + Decimal("25.50")
    page = rep.get(f"/sales/quotes/{quote.pk}/").content.decode()
    assert 'data-testid="quote-submit"' in page and "2371.50" in page
    rep.post(f"/sales/quotes/{quote.pk}/submit/")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.PENDING_APPROVAL
    page = rep.get(f"/sales/quotes/{quote.pk}/").content.decode()
    assert 'data-approval-state="pending"' in page and 'data-testid="quote-submit"' not in page
    task = ApprovalRequest.objects.get(object_id=quote.pk).tasks.get()
    approvals.approval_decide(actor=deal["manager"], task=task, approve=True)
    page = rep.get(f"/sales/quotes/{quote.pk}/").content.decode()
    assert 'data-testid="quote-send"' in page
    rep.post(f"/sales/quotes/{quote.pk}/send/", {"message": "请查收"})
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT


def test_editor_errors_land_beside_the_line_and_field(deal):  # noqa: F811
    rep = signed_in(deal["rep"])
    response = rep.post(
        "/sales/quotes/new/",
        editor_post(deal, discount_percent="120", **{"line-quantity": ["0", "1"]}),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-field-error="discount_percent"' in page
    assert page.count("is-invalid") >= 2  # the overall discount and line 1's quantity
    assert not Quote.objects.exists()


def test_the_editor_computes_totals_and_fills_a_products_price(deal):  # noqa: F811
    rep = signed_in(deal["rep"])
    totals = rep.post("/sales/quotes/totals/", editor_post(deal, discount_percent="20"))
    assert totals.status_code == 200
    body = totals.content.decode()
    assert 'data-total="total"' in body and "quote-needs-approval" in body
    row = rep.get(
        "/sales/quotes/line/",
        {
            "line-product": deal["product"].pk,
            "line-quantity": "3",
            "account": deal["account"].pk,
            "language": "zh-hans",
        },
    ).content.decode()
    assert 'value="1000.00"' in row and 'value="13"' in row and "数控机床" in row
    # the price list chosen on the quote prices the line
    from rapport.sales.models import PriceList, PriceListItem

    project = PriceList.objects.create(name="项目价", currency="CNY")
    PriceListItem.objects.create(price_list=project, product=deal["product"], unit_price="888")
    row = rep.get(
        "/sales/quotes/line/",
        {"line-product": deal["product"].pk, "line-quantity": "1", "price_list": project.pk},
    ).content.decode()
    assert 'value="888.00"' in row
    editor = rep.get("/sales/quotes/new/").content.decode()
    assert f'<option value="{project.pk}">项目价 · CNY</option>' in editor


def test_only_drafts_open_in_the_editor(deal):  # noqa: F811
    quote = quotes.quote_submit(actor=deal["rep"], quote=make(deal))
    rep = signed_in(deal["rep"])
    response = rep.get(f"/sales/quotes/{quote.pk}/edit/")
    assert response.status_code == 302 and response["Location"].endswith(f"/{quote.pk}/")


def test_a_rejected_quote_shows_the_comment(deal):  # noqa: F811
    quote = quotes.quote_submit(actor=deal["rep"], quote=make(deal, discount="40"))
    task = ApprovalRequest.objects.get(object_id=quote.pk).tasks.get()
    approvals.approval_decide(actor=deal["manager"], task=task, approve=False, comment="太低了")
    page = signed_in(deal["rep"]).get(f"/sales/quotes/{quote.pk}/").content.decode()
    assert 'data-testid="quote-rejected"' in page and "太低了" in page


def test_list_filters_and_other_reps_quotes_are_hidden(org, deal):  # noqa: F811
    mine = make(deal, title="甲方案")
    quotes.quote_submit(actor=deal["rep"], quote=make(deal, title="乙方案"))
    rep = signed_in(deal["rep"])
    page = rep.get("/sales/quotes/", {"status": "draft"}).content.decode()
    assert f'data-quote-row="{mine.pk}"' in page and "乙方案" not in page
    assert "甲方案" in rep.get("/sales/quotes/", {"q": "甲"}).content.decode()
    other = signed_in(org["rep_south"])
    assert f'data-quote-row="{mine.pk}"' not in other.get("/sales/quotes/").content.decode()
    assert other.get(f"/sales/quotes/{mine.pk}/").status_code == 404
    assert other.get(f"/sales/quotes/{mine.pk}/pdf/").status_code == 404


def test_the_list_does_not_query_per_row(deal):  # noqa: F811
    rep = signed_in(deal["rep"])

    def grow(count):
        for _ in range(count):
            make(deal)

    assert_flat(rep, "/sales/quotes/", grow, few=2, many=8)


def test_the_account_page_has_a_quotes_card(deal):  # noqa: F811
    quote = make(deal, title="账户报价")
    page = signed_in(deal["rep"]).get(f"/customers/accounts/{deal['account'].pk}/")
    body = page.content.decode()
    assert 'data-testid="quote-panel"' in body and f'data-quote-row="{quote.pk}"' in body


def test_the_pdf_page(deal):  # noqa: F811
    quote = make(deal)
    response = signed_in(deal["rep"]).get(f"/sales/quotes/{quote.pk}/pdf/")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_sales_settings_page(org, deal, language):  # noqa: F811
    admin = signed_in(org["admin"], language)
    assert admin.get("/sales/settings/").status_code == 200
    saved = admin.post(
        "/sales/settings/",
        {
            "company_name": "杭州融达科技有限公司",
            "default_currency": "CNY",
            "quote_valid_days": "45",
            "discount_approval_percent": "8",
            "invoice_due_days": "30",
            "quote_terms": "款到发货。",
        },
    )
    assert saved.status_code == 302
    current = get_settings()
    assert current.quote_valid_days == 45 and current.discount_approval_percent == Decimal("8")
    bad = admin.post("/sales/settings/", {"discount_approval_percent": "300"})
    assert 'data-field-error="discount_approval_percent"' in bad.content.decode()
    assert signed_in(deal["rep"]).get("/sales/settings/").status_code == 403


def test_the_editor_posts_the_pickers_label_and_shows_it_again(deal):  # noqa: F811
    rep = signed_in(deal["rep"], "zh-hans")
    product = deal["product"]
    label = f"{product.pk} · {product.sku} {product.name}"
    line_products = [label, ""]
    saved = rep.post("/sales/quotes/new/", editor_post(deal, **{"line-product": line_products}))
    assert saved.status_code == 302
    quote = Quote.objects.get()
    assert quote.lines.filter(product=product).count() == 1
    editor = rep.get(f"/sales/quotes/{quote.pk}/edit/").content.decode()
    assert f'value="{label}"' in editor and 'list="line-product-options"' in editor
    typed = rep.post("/sales/quotes/new/", editor_post(deal, **{"line-product": ["车床", ""]}))
    assert typed.status_code == 200  # typed, not chosen: refused beside the line
    assert 'value="车床"' in typed.content.decode()
    assert Quote.objects.count() == 1
