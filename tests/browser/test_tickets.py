"""Tickets in a real browser: an agent opens a ticket from a contact's 360 page, takes it,
answers the customer and resolves it — in Chinese on a phone, in English on a desktop."""

from __future__ import annotations

import re

import pytest

from rapport.customers import services as customer_services
from rapport.identity.models import Team
from rapport.service.models import Ticket, TicketStatus
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LABELS = {
    "zh-hans": {"resolved": "已解决", "reply": "回复客户"},
    "en": {"resolved": "Resolved", "reply": "Reply to the customer"},
}


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_an_agent_answers_and_resolves_a_ticket(org, new_page, language, width):
    agent = org["agent"]
    agent.language = language
    agent.save()
    Team.objects.create(name="华南客服").members.add(agent)
    account = customer_services.account_create(actor=org["admin"], name="北京华信软件有限公司")
    contact = customer_services.contact_create(actor=org["admin"], name="张伟", accounts=[account])
    page = new_page(language=language, width=width)
    _login(page, agent.username)
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"/customers/contacts/{contact.pk}/")
    with page.expect_navigation():
        page.get_by_test_id("ticket-panel-new").click()
    page.fill("input[name=subject]", "发票开错了")
    page.fill("textarea[name=description]", "抬头应为北京华信软件有限公司")
    page.select_option("select[name=priority]", "high")
    with page.expect_navigation():
        page.get_by_test_id("ticket-save").click()
    ticket = Ticket.objects.get()
    assert ticket.contact == contact and ticket.account == account
    with page.expect_navigation():
        page.get_by_test_id("ticket-take").click()
    form = page.get_by_test_id("ticket-message-form")
    form.locator("textarea[name=body]").fill("已重新开具，请查收。")
    with page.expect_navigation():
        page.get_by_test_id("ticket-message-send").click()
    assert LABELS[language]["reply"] in page.get_by_test_id("ticket-conversation").inner_text()
    with page.expect_navigation():
        page.locator("[data-status-action=resolved]").click()
    assert LABELS[language]["resolved"] in page.get_by_test_id("ticket-status").inner_text()
    screenshot(page, f"ticket-{language}-{width}")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED and ticket.assignee == agent
    assert ticket.first_response_at is not None
    page.goto("/service/tickets/?view=all")
    assert page.locator(f"[data-ticket-row='{ticket.pk}']").is_visible()
    screenshot(page, f"tickets-{language}-{width}")
