"""The data-quality dashboard in a real browser: in both languages, on a phone (390 px) and
a desktop, nothing wider than the screen, the weakest record one click away."""

from __future__ import annotations

import pytest

from rapport.customers import services
from rapport.dataops import quality
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280), ("en", 390)])
def test_dashboard_on_phone_and_desktop(org, new_page, language, width):
    user = org["sales_manager"]
    user.language = language
    user.save()
    weak = services.account_create(actor=org["rep_east"], name="上海弱数据有限公司")
    services.account_create(
        actor=org["rep_sh"],
        name="上海数据齐全科技有限公司",
        province="上海",
        city="上海",
        phone="021-65521234",
        address="浦东新区世纪大道 100 号",
        website="example.com",
    )
    quality.compute_run(quality.compute_start(actor=org["admin"]))
    page = new_page(language=language, width=width, height=900)
    _login(page, user.username)
    page.goto("/data/quality/")
    page.get_by_test_id("quality-worst").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, f"quality-dashboard-{language}-{width}")
    assert page.locator("html").get_attribute("lang") == language
    assert page.get_by_test_id("quality-distribution").is_visible()
    with page.expect_navigation():
        page.get_by_test_id("quality-record").first.click()
    assert page.url.endswith(f"/customers/accounts/{weak.pk}/")
    # The record's own page says what lowers its score.
    card = page.get_by_test_id("record-quality")
    card.wait_for()
    assert page.get_by_test_id("record-quality-reasons").locator("li").count() >= 3
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, f"quality-record-{language}-{width}")


@pytest.mark.parametrize(("language", "width"), [("en", 390), ("zh-hans", 1280)])
def test_administrator_changes_a_rule(org, new_page, language, width):
    admin = org["admin"]
    admin.language = language
    admin.save()
    page = new_page(language=language, width=width, height=900)
    _login(page, admin.username)
    page.goto("/data/quality/")
    with page.expect_navigation():
        page.get_by_test_id("quality-rules-link").click()
    form = page.get_by_test_id("quality-rule-account")
    form.locator("input[name=field_website]").fill("5")
    form.locator("input[name=freshness_days]").fill("90")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, f"quality-rules-{language}-{width}")
    with page.expect_navigation():
        form.get_by_test_id("quality-rule-save").click()
    assert page.locator(".alert-success").is_visible()
    rule = quality.rule_for(quality.ACCOUNT)
    assert rule.fields["website"] == 5 and rule.freshness_days == 90
