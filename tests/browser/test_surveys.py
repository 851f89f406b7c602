"""Surveys in a real browser: a ticket is resolved, the customer opens the e-mailed link
without signing in — in Chinese on a phone, in English (through the page's switch) on a
desktop —, answers, and the agent sees the score on the satisfaction dashboard and the
ticket page."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from rapport.customers import services as customer_services
from rapport.identity.models import Team
from rapport.service import services
from rapport.service.models import Survey, TicketStatus
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINK = re.compile(r"https?://[^\s\"<>]+(/s/[A-Za-z0-9_\-]+/)")


@pytest.mark.parametrize(
    ("language", "width", "score", "csat"),
    [("zh-hans", 390, 5, "100%"), ("en", 1280, 2, "0%")],
)
def test_a_customer_answers_and_the_agent_sees_the_score(
    org, new_page, language, width, score, csat
):
    admin, agent = org["admin"], org["agent"]
    agent.language = language
    agent.save()
    team = Team.objects.create(name="华南客服")
    team.members.add(agent)
    account = customer_services.account_create(actor=admin, name="北京华信软件有限公司")
    contact = customer_services.contact_create(
        actor=admin, name="张伟", accounts=[account], emails=["zhang.wei@example.com"]
    )
    customer_services.consent_record(
        actor=admin,
        contact=contact,
        channel="email",
        purpose="research",
        status="granted",
        source="web_form",
        evidence="门户勾选",
    )
    ticket = services.ticket_create(
        actor=admin, subject="发票开错了", contact=contact, team=team, assignee=agent
    )
    services.ticket_set_status(actor=agent, ticket=ticket, status=TicketStatus.RESOLVED)
    survey_mail = [message for message in mail.outbox if "/s/" in message.body]
    assert len(survey_mail) == 1
    path = LINK.search(survey_mail[0].body).group(1)

    customer = new_page(language=language, width=width, height=800)
    customer.goto(path)
    if language == "en":  # the survey is in Chinese; the customer switches
        with customer.expect_navigation():
            customer.get_by_test_id("survey-lang-en").click()
    assert customer.locator("html").get_attribute("lang") == language
    screenshot(customer, f"survey-{language}-{width}")
    customer.locator(f"label[data-score='{score}']").click()
    customer.get_by_test_id("survey-comment").fill("开票很快" if score > 3 else "等了三天才回复")
    with customer.expect_navigation():
        customer.get_by_test_id("survey-submit").click()
    assert customer.get_by_test_id("survey-thanks").is_visible()
    assert customer.locator("html").get_attribute("lang") == language
    screenshot(customer, f"survey-thanks-{language}-{width}")
    survey = Survey.objects.get(ticket=ticket)
    assert survey.score == score and survey.answered_at is not None

    page = new_page(language=language, width=width)
    _login(page, agent.username)
    page.goto("/service/satisfaction/")
    summary = page.get_by_test_id("satisfaction-summary")
    assert summary.locator("[data-figure=csat_percent]").inner_text().strip() == csat
    screenshot(page, f"satisfaction-{language}-{width}")
    page.goto(f"/service/tickets/{ticket.pk}/")
    card = page.get_by_test_id("ticket-survey")
    assert card.get_by_test_id("ticket-survey-score").inner_text().strip() == str(score)
    if score <= 2:
        assert card.get_by_test_id("ticket-survey-follow-up").is_visible()
    card.scroll_into_view_if_needed()
    screenshot(page, f"ticket-survey-{language}-{width}")
