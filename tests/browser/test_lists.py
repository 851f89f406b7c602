"""Lists that slice, in a real browser: build a filter with the builder (a condition and an
"or" group), apply it, save it as a view shared with a team, then reopen it from a fresh page —
in English on a desktop and in Chinese on a phone."""

from __future__ import annotations

import pytest

from rapport.identity.models import SavedView
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login
from tests.factories import AccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {"saved": "saved", "tier": "Tier", "province": "Province", "owner": "Owner"},
    "zh-hans": {"saved": "已保存", "tier": "客户等级", "province": "省份", "owner": "负责人"},
}


def _rows(page) -> set[str]:
    return {row.get_attribute("data-account") for row in page.locator("tr[data-account]").all()}


@pytest.mark.parametrize(("language", "width"), [("en", 1280), ("zh-hans", 390)])
def test_build_a_filter_save_it_as_a_view_and_reopen_it(org, new_page, language, width):
    user = org["cm"]  # leads the "Key accounts" team
    user.language = language
    user.save()
    wanted = AccountFactory(owner=user, name="上海甲级", tier="A", province="上海市")
    also = AccountFactory(owner=user, name="北京甲级", tier="A", province="北京市")
    AccountFactory(owner=user, name="江苏甲级", tier="A", province="江苏省")
    AccountFactory(owner=user, name="上海丙级", tier="C", province="上海市")
    page = new_page(language=language, width=width, height=1000)
    _login(page, user.username)
    page.goto("/customers/accounts/")
    builder = page.get_by_test_id("filter-builder")
    # JavaScript on: the builder replaces the text box, which folds away.
    assert not page.get_by_test_id("filter-text").is_visible()

    # tier = A and (province = 上海市 or province = 北京市)
    first = builder.locator("[data-condition]").first
    first.locator("[data-field-select]").select_option("tier")
    first.locator("[data-value]").select_option("A")
    builder.locator("[data-add-group]").click()
    group = builder.locator("[data-group]")
    assert group.locator("[data-join]").input_value() == "or"
    for index, province in enumerate(["上海市", "北京市"]):
        row = group.locator("[data-condition]").nth(index)
        row.locator("[data-field-select]").select_option("province")
        row.locator("[data-value]").fill(province)
    # The builder wrote the filter text.
    expected = "tier = A and (province = 上海市 or province = 北京市)"
    assert page.get_by_test_id("filter-text").input_value() == expected
    screenshot(page, f"list-builder-{language}-{width}")
    with page.expect_navigation():
        page.get_by_test_id("filter-apply").click()
    assert _rows(page) == {str(wanted.pk), str(also.pk)}

    # Only the tier and owner columns.
    page.get_by_test_id("column-chooser").locator("summary").click()
    chooser = page.get_by_test_id("column-chooser")
    for box in chooser.locator("input[type=checkbox]").all():
        box.set_checked(box.get_attribute("value") in ("tier", "owner"))
    with page.expect_navigation():
        page.get_by_test_id("filter-apply").click()
    headers = page.locator("#accounts-table thead th[data-column]").all_text_contents()
    assert headers == [TEXT[language]["tier"], TEXT[language]["owner"]]

    # Save as a view shared with the team.
    page.get_by_test_id("view-save-panel").locator("summary").click()
    form = page.get_by_test_id("view-save")
    form.locator("input[name=name]").fill(f"华东甲级 {language}")
    form.locator("select[name=team]").select_option(label="Key accounts")
    with page.expect_navigation():
        page.get_by_test_id("view-save-new").click()
    assert TEXT[language]["saved"] in page.locator(".alert-success").inner_text()
    view = SavedView.objects.get(owner=user)
    assert view.team is not None and view.columns == ["tier", "owner"]
    screenshot(page, f"list-view-saved-{language}-{width}")

    # Reopen it from a clean list.
    page.goto("/customers/accounts/")
    assert len(_rows(page)) == 4
    page.get_by_test_id("view-select").select_option(str(view.pk))
    with page.expect_navigation():
        page.get_by_test_id("view-open").click()
    assert _rows(page) == {str(wanted.pk), str(also.pk)}
    assert page.get_by_test_id("view-title").is_visible()
    # The builder shows the saved filter again.
    group = page.get_by_test_id("filter-builder").locator("[data-group]")
    assert group.locator("[data-condition]").count() == 2
    assert group.locator("[data-value]").first.input_value() == "上海市"
    headers = page.locator("#accounts-table thead th[data-column]").all_text_contents()
    assert headers == [TEXT[language]["tier"], TEXT[language]["owner"]]
    screenshot(page, f"list-view-reopened-{language}-{width}")


def test_without_javascript_the_text_box_is_the_filter(org, browser, live_server):
    user = org["cm"]
    kept = AccountFactory(owner=user, name="甲", tier="A")
    AccountFactory(owner=user, name="乙", tier="B")
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport={"width": 390, "height": 900}
    )
    try:
        page = context.new_page()
        _login(page, user.username)
        page.goto("/customers/accounts/")
        box = page.get_by_test_id("filter-text")
        assert box.is_visible()
        box.fill("tier = A")
        with page.expect_navigation():
            page.get_by_test_id("filter-apply").click()
        assert _rows(page) == {str(kept.pk)}
        screenshot(page, "list-no-js-en-390")
    finally:
        context.close()
