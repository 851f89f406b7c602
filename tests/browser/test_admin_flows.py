"""Administration in a real browser: offboarding a leaver, and a role's grant matrix."""

from __future__ import annotations

import re

import pytest

from rapport.customers.models import Account
from rapport.identity.models import ApiToken, Grant
from rapport.identity.services import token_create
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login
from tests.factories import AccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_offboard_a_leaver(org, new_page, language, width):
    admin, leaver, successor = org["admin"], org["rep_sh"], org["rep_east"]
    admin.language = language
    admin.save()
    accounts = [AccountFactory(owner=leaver) for _ in range(3)]
    token_create(actor=leaver, name="laptop")
    page = new_page(language=language, width=width)
    _login(page, admin.username)
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"/admin/users/{leaver.pk}/")
    with page.expect_navigation():  # the assertions below read the new page
        page.get_by_test_id("offboard").click()
    form = page.get_by_test_id("offboard-form")
    form.locator("select[name=successor]").select_option(str(successor.pk))
    form.locator("input[name=reason]").fill("离职 / leaving")
    screenshot(page, f"offboard-{language}-{width}")
    with page.expect_navigation():  # the assertions below read the new page
        form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    result = page.get_by_test_id("offboard-result")
    assert result.is_visible()
    assert result.get_by_test_id("moved-count").all_inner_texts() == ["3"]  # 3 accounts moved
    leaver.refresh_from_db()
    assert not leaver.is_active and leaver.successor == successor
    assert set(
        Account.objects.filter(pk__in=[a.pk for a in accounts]).values_list("owner", flat=True)
    ) == {successor.pk}
    assert not ApiToken.objects.filter(user=leaver, revoked_at__isnull=True).exists()


def test_grant_matrix_changes_what_a_role_sees(org, new_page):
    admin = org["admin"]
    admin.language = "zh-hans"
    admin.save()
    page = new_page(language="zh-hans")
    _login(page, admin.username)
    page.wait_for_url(re.compile(r"/$"))
    role = org["finance"].roles.get()
    page.goto(f"/admin/roles/{role.pk}/")
    cell = page.locator("select[name='grant:customers.contact:view']")
    assert cell.count() == 1, "the matrix names its cells grant:<type>:<action>"
    cell.select_option("")
    with page.expect_navigation():  # the assertions below read the new page
        page.locator("form", has=cell).locator("button[type=submit]").first.click()
    page.wait_for_load_state()
    assert not Grant.objects.filter(
        role=role, object_type="customers.contact", action="view"
    ).exists()
    screenshot(page, "grant-matrix-zh")
