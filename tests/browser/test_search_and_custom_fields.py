"""The "done when" flows of issue 4 in a real browser: find a customer again by pinyin
initials from the top bar, and add a custom field then fill it in — in both languages, on
a phone and on a desktop."""

from __future__ import annotations

import pytest

from rapport.customers import services
from rapport.customers.models import Account
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("language", "width"), [("en", 1280), ("zh-hans", 390)])
def test_find_a_customer_by_pinyin_initials(org, new_page, language, width):
    user = org["rep_sh"]
    user.language = language
    user.save()
    bank = services.account_create(actor=user, name="中国银行上海分行")
    services.account_create(actor=user, name="招商证券")
    page = new_page(language=language, width=width)
    _login(page, user.username)
    if width < 768:
        page.locator(".navbar-toggler").click()
    box = page.get_by_test_id("top-search").locator("input[name=q]")
    box.fill("zgyh")
    with page.expect_navigation():
        box.press("Enter")
    link = page.get_by_role("link", name="中国银行上海分行")
    assert link.first.is_visible()
    assert page.get_by_text("招商证券").count() == 0
    screenshot(page, f"search-zgyh-{language}-{width}")
    with page.expect_navigation():
        link.first.click()
    assert page.url.endswith(f"/customers/accounts/{bank.pk}/")


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 1280), ("en", 390)])
def test_add_a_custom_field_and_fill_it_in(org, new_page, language, width):
    admin = org["admin"]
    admin.language = language
    admin.save()
    page = new_page(language=language, width=width)
    _login(page, admin.username)
    page.goto("/admin/custom-fields/")
    form = page.get_by_test_id("custom-field-form")
    form.locator("select[name=object_type]").select_option("customers.account")
    form.locator("input[name=key]").fill("employees")
    form.locator("select[name=type]").select_option("number")
    form.locator("input[name=label]").fill("员工人数")
    form.locator("input[name=label_en]").fill("Employees")
    form.locator("input[name=minimum]").fill("1")
    form.locator("input[name=indexed]").check()
    with page.expect_navigation():
        page.get_by_test_id("custom-field-submit").click()
    assert page.locator("[data-custom-field=employees]").is_visible()
    screenshot(page, f"custom-fields-{language}-{width}")
    account = services.account_create(actor=admin, name="远望科技")
    page.goto(f"/customers/accounts/{account.pk}/edit/")
    page.locator("input[name='custom.employees']").fill("0")
    with page.expect_navigation():
        page.locator("form button[type=submit]").last.click()
    assert page.locator("[data-field-error='custom.employees']").is_visible()
    page.locator("input[name='custom.employees']").fill("480")
    with page.expect_navigation():
        page.locator("form button[type=submit]").last.click()
    assert Account.objects.get(pk=account.pk).custom == {"employees": 480}
    assert "480" in page.locator("[data-field='custom.employees']").inner_text()
