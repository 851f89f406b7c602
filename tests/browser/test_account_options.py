"""Tiers and lifecycle stages in a real browser: an administrator adds a stage on a phone-sized
screen, then an account moves to it from its edit form and shows it on the 360 page."""

from __future__ import annotations

import re

import pytest

from rapport.customers.models import Account, AccountOption
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login
from tests.factories import AccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LABELS = {
    "zh-hans": {"title": "客户等级与阶段", "shown": "赢单"},
    "en": {"title": "Tiers and stages", "shown": "Won"},
}


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_admin_adds_a_stage_and_an_account_takes_it(org, new_page, language, width):
    admin = org["admin"]
    admin.language = language
    admin.save()
    account = AccountFactory(owner=admin, name="赢单测试有限公司")
    page = new_page(language=language, width=width)
    _login(page, admin.username)
    page.wait_for_url(re.compile(r"/$"))
    page.goto("/admin/account-options/")
    assert LABELS[language]["title"] in page.locator("h2.page-title").inner_text()
    form = page.get_by_test_id("option-create-lifecycle_stage")
    form.locator("input[name='lifecycle_stage-code']").fill("won")
    form.locator("input[name='lifecycle_stage-label']").fill("赢单")
    form.locator("input[name='lifecycle_stage-label_en']").fill("Won")
    form.locator("label.form-colorinput[title]").nth(9).click()  # green
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    row = page.locator("[data-option-row=won]")
    assert row.is_visible()
    assert LABELS[language]["shown"] in row.inner_text()
    screenshot(page, f"account-options-{language}-{width}")
    won = AccountOption.objects.get(field="lifecycle_stage", code="won")
    assert (won.label, won.label_en, won.colour, won.is_active) == ("赢单", "Won", "green", True)

    page.goto(f"/customers/accounts/{account.pk}/edit/")
    page.locator("select[name=lifecycle_stage]").select_option("won")
    with page.expect_navigation():
        page.locator("form button[type=submit].btn-primary").first.click()
    assert Account.objects.get(pk=account.pk).lifecycle_stage == "won"
    page.goto(f"/customers/accounts/{account.pk}/")
    assert LABELS[language]["shown"] in page.get_by_test_id("stage").inner_text()
