"""The order, invoice, receivables and contract pages in a real browser, in both languages,
at phone and desktop width: nothing wider than the screen, and a payment recorded from the
invoice page."""

from __future__ import annotations

from datetime import date

import pytest

from rapport.sales.services.contracts import contract_activate, contract_create
from rapport.sales.services.invoices import invoice_create_from_order, invoice_issue
from rapport.sales.services.orders import order_confirm
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login
from tests.sales.test_order_setup import make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("width", [390, 1280])
def test_order_pages_fit_the_screen_and_take_a_payment(org, new_page, language, width):  # noqa: F811
    rep, finance = org["rep_sh"], org["finance"]
    for user in (rep, finance):
        user.language = language
        user.save(update_fields=["language"])
    order = order_confirm(actor=rep, order=make_order(rep, customer_reference="PO-2026-88"))
    invoice = invoice_issue(
        actor=finance, invoice=invoice_create_from_order(actor=finance, order=order)
    )
    contract = contract_activate(
        actor=rep,
        contract=contract_create(
            actor=rep,
            account=order.account,
            title="年度维保合同",
            start_date=date(2026, 1, 1),
            end_date=date(2026, 12, 31),
            value="120000",
        ),
    )
    page = new_page(language=language, width=width, height=900)
    _login(page, finance.username)
    tag = f"{language}-{width}"
    for name, url in (
        ("order", f"/sales/orders/{order.pk}/"),
        ("orders", "/sales/orders/"),
        ("invoice", f"/sales/invoices/{invoice.pk}/"),
        ("receivables", "/sales/receivables/"),
        ("contract", f"/sales/contracts/{contract.pk}/"),
    ):
        page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        screenshot(page, f"sales-{name}-{tag}")
        assert overflow <= 1, f"{name} is {overflow}px wider than the screen"
    page.goto(f"/sales/invoices/{invoice.pk}/")
    page.fill("[data-testid=payment-form] input[name=amount]", "100.00")
    with page.expect_navigation():
        page.click("[data-testid=payment-save]")
    assert page.locator("[data-testid=invoice-status]").get_attribute("data-status") == (
        "partially_paid"
    )
    assert page.locator("[data-payment-row]").count() == 1
