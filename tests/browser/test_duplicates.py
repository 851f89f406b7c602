"""Duplicates in a real browser: the warning before creating an account that is already
there, then merging the two and undoing it — in both languages, on a desktop and a phone."""

from __future__ import annotations

import pytest

from rapport.customers import services
from rapport.customers.models import Account, MergeRecord
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {"warning": "This may already be here", "merged": "Merged", "undone": "Undone"},
    "zh-hans": {"warning": "可能已有此记录", "merged": "已合并", "undone": "撤销"},
}


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 1280), ("en", 390)])
def test_warned_then_merged_then_undone(org, new_page, language, width):
    user = org["sales_manager"]
    user.language = language
    user.save()
    first = services.account_create(
        actor=org["rep_east"], name="北京华信软件有限公司", phone="010-65521234"
    )
    page = new_page(language=language, width=width, height=1000)
    _login(page, user.username)

    page.goto("/customers/accounts/new/")
    page.locator("input[name=name]").fill("北京華信軟件有限責任公司")
    page.locator("input[name=city]").fill("北京")
    with page.expect_navigation():
        page.get_by_test_id("account-form").locator("button[type=submit]").click()
    warning = page.get_by_test_id("duplicates")
    assert TEXT[language]["warning"] in warning.inner_text()
    assert "北京华信软件有限公司" in warning.inner_text()
    screenshot(page, f"duplicate-warning-{language}-{width}")
    assert Account.objects.count() == 1
    with page.expect_navigation():
        page.get_by_test_id("create-anyway").click()
    second = Account.objects.exclude(pk=first.pk).get()
    assert second.city == "北京市"

    page.get_by_test_id("merge").click()
    page.wait_for_url(f"**/customers/accounts/{second.pk}/merge/")
    with page.expect_navigation():
        page.get_by_test_id("merge-candidates").locator("a").first.click()
    form = page.get_by_test_id("merge-form")
    form.locator("input[name=keep_name][value=other]").check()  # keep the first one's name
    screenshot(page, f"merge-compare-{language}-{width}")
    with page.expect_navigation():
        page.get_by_test_id("merge-submit").click()
    assert TEXT[language]["merged"] in page.locator(".alert-success").inner_text()
    second.refresh_from_db()
    assert second.name == "北京华信软件有限公司" and second.phone == "+861065521234"
    assert not Account.objects.get(pk=first.pk).is_active
    screenshot(page, f"merge-result-{language}-{width}")

    with page.expect_navigation():
        page.get_by_test_id("merge-undo").click()
    assert TEXT[language]["undone"] in page.get_by_test_id("merge-undone").inner_text()
    assert Account.objects.get(pk=first.pk).is_active
    assert MergeRecord.objects.get().undone_by == user


@pytest.mark.parametrize(("language", "width"), [("en", 1280), ("zh-hans", 390)])
def test_review_list_compare_and_merge(org, new_page, language, width):
    from rapport.dataops import scan

    user = org["sales_manager"]
    user.language = language
    user.save()
    rep = org["rep_east"]
    keep = services.account_create(actor=rep, name="深圳市华为技术有限公司", phone="0755-28780808")
    twin = services.account_create(actor=rep, name="华为技术（深圳）", phone="075528780808")
    services.account_create(actor=rep, name="上海银行股份有限公司")
    scan.scan_run(scan.scan_start(actor=org["admin"]))
    page = new_page(language=language, width=width, height=900)
    _login(page, user.username)
    page.goto("/customers/accounts/")
    with page.expect_navigation():
        page.get_by_test_id("duplicates-link").click()
    table = page.get_by_test_id("duplicate-pairs")
    assert "华为技术" in table.inner_text() and "上海银行" not in table.inner_text()
    screenshot(page, f"duplicate-review-{language}-{width}")
    with page.expect_navigation():
        table.get_by_test_id("compare").first.click()
    with page.expect_navigation():
        page.get_by_test_id("merge-submit").click()
    survivor, other = (keep, twin) if keep.pk < twin.pk else (twin, keep)
    other.refresh_from_db()
    assert not other.is_active
    assert Account.objects.get(pk=survivor.pk).is_active
    page.goto("/data/duplicates/")
    assert "华为技术" not in page.get_by_test_id("duplicate-pairs").inner_text()
