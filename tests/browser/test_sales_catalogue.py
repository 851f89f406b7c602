"""The catalogue and stock in a real browser: an administrator finds a product by pinyin,
opens it (variants, prices, stock per warehouse), sees the low-stock filter and is told
beside the field when a stock count has no reason — in Chinese on a phone, in English on a
desktop."""

from __future__ import annotations

import random
import re

import pytest

from rapport.core import search
from rapport.sales.models import Product
from rapport.web.demo_sales_catalogue import generate_catalogue
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_an_administrator_works_the_catalogue_and_stock(org, new_page, language, width):  # noqa: F811
    admin = org["admin"]
    admin.language = language
    admin.save()
    generate_catalogue(admin=admin, rng=random.Random(3))
    search.refresh("sales.product", list(Product.objects.values_list("pk", flat=True)))
    page = new_page(language=language, width=width)
    _login(page, admin.username)
    page.wait_for_url(re.compile(r"/$"))
    page.goto("/sales/products/?q=pingban")
    rows = page.locator("[data-product-row]")
    assert rows.count() >= 1
    screenshot(page, f"catalogue-products-{language}-{width}")
    with page.expect_navigation():
        page.get_by_role("link", name="TRM-PAD", exact=True).click()
    assert page.get_by_test_id("product-variants").locator("a").count() == 3
    assert page.locator('[data-testid="product-stock"] [data-warehouse="main"]').count() == 1
    screenshot(page, f"catalogue-product-{language}-{width}")
    page.goto("/sales/stock/?low=1")
    assert page.get_by_test_id("low-stock").count() >= 1
    screenshot(page, f"catalogue-stock-low-{language}-{width}")
    page.goto("/sales/stock/adjustment/")
    page.locator("select[name=product]").select_option(index=1)
    page.fill("input[name=counted]", "1")
    with page.expect_navigation():
        page.locator('[data-testid="stock-move-form"] button[type=submit]').click()
    assert page.locator('[data-field-error="note"]').count() == 1
    screenshot(page, f"catalogue-count-error-{language}-{width}")
    page.goto("/sales/price-lists/")
    screenshot(page, f"catalogue-price-lists-{language}-{width}")
    page.goto("/sales/stock/movements/")
    assert page.locator("[data-movement-row]").count() >= 10
    screenshot(page, f"catalogue-movements-{language}-{width}")
