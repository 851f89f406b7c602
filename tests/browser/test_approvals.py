"""The approvals "done when" in a real browser: an administrator builds a two-step approval for
large (tier A) accounts in the designer, a rep submits an account from its 360 page, the
sales manager approves step one on a phone in Chinese, the finance approver rejects step two
with a comment in English; the request ends rejected and its trail shows both decisions."""

from __future__ import annotations

import re

import pytest

from rapport.automation.models import ApprovalProcess, ApprovalRequest, ApprovalState
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login
from tests.factories import AccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}


def _fits(page) -> bool:
    """No horizontal scrolling at this width."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _language(user, language: str) -> None:
    user.language = language
    user.save(update_fields=["language"])


def test_two_step_approval_for_large_accounts(org, new_page):
    admin, rep, manager, finance = (
        org["admin"],
        org["rep_east"],
        org["sales_manager"],
        org["finance"],
    )
    _language(admin, "en")
    _language(rep, "en")
    _language(manager, "zh-hans")
    _language(finance, "en")
    account = AccountFactory(owner=rep, tier="A", name="宁波港集团有限公司")

    # 1. The administrator builds the process in the designer.
    page = new_page(language="en")
    _login(page, admin.username)
    page.goto("/approvals/processes/new/?type=customers.account")
    form = page.get_by_test_id("process-form")
    form.locator("input[name=name]").fill("大客户审批")
    form.locator("input[name=name_en]").fill("Large accounts")
    page.locator("[data-filter-advanced] > summary").click()
    page.get_by_test_id("filter-text").fill("tier = A")
    first = page.locator("[data-steps] [data-step-form]").nth(0)
    first.locator("input[name$='-name']").fill("销售经理")
    first.locator("input[name$='-name_en']").fill("Sales manager")
    first.locator("select[name$='-user']").select_option(str(manager.pk))
    page.get_by_test_id("add-step").click()
    second = page.locator("[data-steps] [data-step-form]").nth(1)
    assert second.locator("input[name$='-number']").input_value() == "2"
    second.locator("input[name$='-name']").fill("财务")
    second.locator("input[name$='-name_en']").fill("Finance")
    second.locator("select[name$='-user']").select_option(str(finance.pk))
    with page.expect_navigation():
        page.get_by_test_id("process-save").click()
    assert page.url.endswith("/approvals/processes/")
    process = ApprovalProcess.objects.get(name_en="Large accounts")
    assert process.condition == {"field": "tier", "op": "=", "value": "A"}
    assert list(process.steps.values_list("number", "name_en")) == [
        (1, "Sales manager"),
        (2, "Finance"),
    ]

    # 2. The rep submits the account from its 360 page.
    page = new_page(language="en")
    _login(page, rep.username)
    page.goto(f"/customers/accounts/{account.pk}/")
    panel = page.get_by_test_id("approval-panel")
    panel.locator("textarea").fill("年度框架合同")
    with page.expect_navigation():
        panel.get_by_test_id("submit-for-approval").click()
    request = ApprovalRequest.objects.get(object_id=account.pk)
    assert request.state == ApprovalState.PENDING

    # 3. The sales manager approves step one on a phone, in Chinese.
    page = new_page(language="zh-hans", **PHONE)
    _login(page, manager.username)
    page.goto("/approvals/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    card = page.get_by_test_id("approval-task").filter(has_text="宁波港集团有限公司")
    assert card.is_visible()
    assert _fits(page)
    approve = card.get_by_test_id("approve")
    box = approve.bounding_box()
    assert box["height"] >= 40 and box["width"] >= 150  # a button a thumb finds
    screenshot(page, "approvals-inbox-zh-hans-375")
    with page.expect_navigation():
        approve.click()
    request.refresh_from_db()
    assert (request.state, request.current_number) == (ApprovalState.PENDING, 2)
    assert page.get_by_test_id("no-approvals").is_visible()

    # 4. The finance approver rejects step two with a comment, in English (on a phone too).
    page = new_page(language="en", **PHONE)
    _login(page, finance.username)
    page.goto("/approvals/")
    card = page.get_by_test_id("approval-task").filter(has_text="宁波港集团有限公司")
    assert "Step 2: Finance" in card.inner_text()
    card.get_by_test_id("reject").click()  # no comment: refused beside the box
    error = page.get_by_test_id("decide-error")
    error.wait_for()
    assert "Say why you reject" in error.inner_text()
    request.refresh_from_db()
    assert request.state == ApprovalState.PENDING
    card = page.get_by_test_id("approval-task").filter(has_text="宁波港集团有限公司")
    card.get_by_test_id("decide-comment").fill("Credit limit too high for this year.")
    with page.expect_navigation():
        card.get_by_test_id("reject").click()
    request.refresh_from_db()
    assert request.state == ApprovalState.REJECTED

    # 5. The request's page: rejected, and the trail shows both decisions.
    page.goto(f"/approvals/requests/{request.pk}/")
    assert _fits(page)
    assert page.get_by_test_id("request-state").inner_text().strip() == "Rejected"
    trail = page.get_by_test_id("request-trail")
    text = trail.inner_text()
    assert re.search(r"Manager\s+approved “Sales manager”", text)
    assert re.search(r"Finance\s+rejected “Finance”", text)
    assert "Credit limit too high for this year." in text
    screenshot(page, "approvals-request-en-375")

    # 6. The designer and the monitor fit a phone too; the monitor counts the rejection.
    page = new_page(language="zh-hans", **PHONE)
    _login(page, admin.username)
    page.goto(f"/approvals/processes/{process.pk}/")
    assert _fits(page)
    screenshot(page, "approvals-designer-zh-hans-375")
    page.goto("/approvals/monitor/")
    assert _fits(page)
    row = page.locator(f"[data-testid=monitor-figures] tr[data-process='{process.pk}']")
    assert row.locator("[data-count=rejected]").inner_text().strip() == "1"
    screenshot(page, "approvals-monitor-zh-hans-375")
