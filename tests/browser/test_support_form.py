"""The public support form in a real browser: a customer asks for help without signing in —
in Chinese on a phone, in English on a desktop — and gets the ticket's number."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from rapport.identity.models import Team
from rapport.service.models import Ticket
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_a_customer_asks_for_help(org, new_page, language, width):
    cache.clear()
    Team.objects.create(name="华南客服").members.add(org["agent"])
    page = new_page(language=language, width=width)
    page.goto("/help/")
    with page.expect_navigation():
        page.get_by_test_id("help-contact").click()
    with page.expect_navigation():
        page.get_by_test_id("support-submit").click()  # empty: every field says why
    assert page.locator("[data-error-for=email]").is_visible()
    screenshot(page, f"support-errors-{language}-{width}")
    page.fill("#support-name", "李娜")
    page.fill("#support-email", "li.na@newcorp.example")
    page.fill("#support-subject", "无法导出报表" if language == "zh-hans" else "Export fails")
    page.fill("#support-description", "点击导出后没有反应。")
    with page.expect_navigation():
        page.get_by_test_id("support-submit").click()
    ticket = Ticket.objects.get()
    assert page.get_by_test_id("support-number").inner_text() == ticket.number
    assert ticket.language == language
    screenshot(page, f"support-done-{language}-{width}")
