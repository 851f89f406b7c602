"""A quote in a real browser: a rep adds lines in the editor (the product's price filled in,
the totals computed on the server as they type), saves, and makes it ready to send — in
Chinese on a phone, in English on a desktop."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from rapport.automation.sales_quotes import install_default_process
from rapport.core import search
from rapport.customers import services as customer_services
from rapport.sales.models import Quote, QuoteStatus
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login
from tests.factories import ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def pick_product(page, row, typed: str, product) -> None:
    """Type into a line's product picker, wait for the matching options, choose `product`'s
    (as choosing from the <datalist> does: the box gets the option's text)."""
    box = row.locator("input[name=line-product]")
    with page.expect_response(re.compile(r"/sales/products/lookup/")):
        box.press_sequentially(typed)
    option = page.locator(f"#line-product-options option[value^='{product.pk} · ']")
    expect(option).to_have_count(1)
    with page.expect_response(re.compile(r"/sales/quotes/line/")):
        box.fill(option.get_attribute("value"))


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_a_rep_writes_a_quote_in_the_editor(org, new_page, language, width):  # noqa: F811
    rep = org["rep_east"]
    rep.language = language
    rep.manager = org["sales_manager"]
    rep.save()
    install_default_process()
    account = customer_services.account_create(actor=rep, name="上海浦江机械有限公司")
    contact = customer_services.contact_create(
        actor=rep, name="李娜", accounts=[account], emails=["lina@pujiang.example.cn"]
    )
    product = ProductFactory(name="数控机床", name_en="CNC lathe", list_price="1000.00")
    search.index_records({"sales.product": [product]})  # the factory writes no document

    page = new_page(language=language, width=width)
    _login(page, rep.username)
    page.goto(f"/sales/quotes/new/?account={account.pk}")
    page.fill("#id_contact", f"{contact.pk} · {contact.name}")
    page.fill("#id_title", "机床报价")
    row = page.locator("[data-testid=quote-line]").first
    pick_product(page, row, "机床" if language == "zh-hans" else "cnc", product)
    row = page.locator("[data-testid=quote-line]").first
    # the response is in; htmx swaps the row right after it
    expect(row.locator("input[name=line-unit_price]")).to_have_value("1000.00")
    with page.expect_response(re.compile(r"/sales/quotes/totals/")):
        row.locator("input[name=line-quantity]").fill("2")
    page.locator("[data-total=total]").filter(has_text="2260").wait_for()
    with page.expect_response(re.compile(r"/sales/quotes/line/")):
        page.click("[data-testid=quote-line-add]")
    second = page.locator("[data-testid=quote-line]").nth(1)
    second.locator("input[name=line-description]").fill("安装调试")
    second.locator("input[name=line-unit_price]").fill("500")
    with page.expect_response(re.compile(r"/sales/quotes/totals/")):
        second.locator("input[name=line-quantity]").fill("1")
    page.locator("[data-total=total]").filter(has_text="2760").wait_for()
    screenshot(page, f"quote-editor-{language}-{width}")
    with page.expect_navigation():
        page.click("[data-testid=quote-save]")
    quote = Quote.objects.get()
    assert quote.lines.count() == 2 and str(quote.total) == "2760.00"
    with page.expect_navigation():
        page.click("[data-testid=quote-submit]")
    page.locator("[data-testid=quote-send]").wait_for()
    screenshot(page, f"quote-detail-{language}-{width}")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED
    page.goto("/sales/quotes/")
    page.locator(f"[data-quote-row='{quote.pk}']").wait_for()
    screenshot(page, f"quote-list-{language}-{width}")
