"""The knowledge base in a real browser: an agent answers a ticket with a suggested article
(its public link put into the reply), writes a new article and sends it for review; a
customer reads the public help page without signing in, switches language and votes — in
Chinese on a phone, in English on a desktop."""

from __future__ import annotations

import re

import pytest

from rapport.identity.models import Team
from rapport.service import services as ticket_services
from rapport.service.models import Article, ArticleStatus
from rapport.service.services import knowledge
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def printer_article(org):
    manager = org["service_manager"]
    category = knowledge.article_category_create(
        actor=manager, name="打印与网络", name_en="Printing and network"
    )
    article = knowledge.article_create(
        actor=org["agent"],
        title="打印机无法连接无线网络",
        title_en="The printer cannot join the wireless network",
        body="先重启路由器，再在打印机面板上重新选择网络。\n\n仍然不行时，请把打印机恢复出厂设置。",
        body_en="Restart the router, then choose the network again on the printer's panel."
        "\n\nIf it still fails, reset the printer to its factory settings.",
        visibility="public",
        category=category,
    )
    return knowledge.article_publish(actor=manager, article=article)


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_an_agent_answers_with_a_suggested_article_and_writes_one(
    org, new_page, printer_article, language, width
):
    agent = org["agent"]
    agent.language = language
    agent.save()
    Team.objects.create(name="华南客服").members.add(agent)
    ticket = ticket_services.ticket_create(
        actor=agent, subject="打印机连不上无线网络", description="客户说换了新路由器之后就连不上了"
    )
    page = new_page(language=language, width=width)
    _login(page, agent.username)
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"/service/tickets/{ticket.pk}/")
    suggestion = page.locator(f"[data-suggested-article='{printer_article.pk}']")
    suggestion.wait_for()
    suggestion.get_by_test_id("kb-insert-link").click()
    reply = page.locator("#id_body").input_value()
    assert f"/help/{printer_article.pk}/" in reply
    screenshot(page, f"kb-suggestions-{language}-{width}")

    # a new article, sent for review
    page.goto("/service/kb/new/")
    page.fill("input[name=title]", "路由器更换后打印机重新配网")
    page.fill("input[name=title_en]", "Reconnecting the printer after a new router")
    page.fill("textarea[name=body]", "在打印机面板选择“无线设置”，重新输入新的 Wi-Fi 密码。")
    with page.expect_navigation():
        page.get_by_test_id("article-save").click()
    article = Article.objects.get(title="路由器更换后打印机重新配网")
    with page.expect_navigation():
        page.get_by_test_id("article-submit").click()
    assert page.get_by_test_id("article-status").get_attribute("data-status") == "review"
    screenshot(page, f"kb-article-{language}-{width}")
    article.refresh_from_db()
    assert article.status == ArticleStatus.REVIEW
    page.goto("/service/kb/?tab=review")
    assert page.locator(f"[data-article-row='{article.pk}']").is_visible()
    screenshot(page, f"kb-list-{language}-{width}")


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_a_customer_reads_the_help_page_and_votes(new_page, printer_article, language, width):
    page = new_page(language=language, width=width)
    page.goto("/help/")
    screenshot(page, f"help-home-{language}-{width}")
    page.fill("input[name=q]", "dayinji")
    with page.expect_navigation():
        page.locator("[data-testid=help-search] button[type=submit]").click()
    with page.expect_navigation():
        page.locator(f"[data-help-article='{printer_article.pk}']").click()
    title = page.get_by_test_id("help-article-title").inner_text()
    expected = printer_article.title if language == "zh-hans" else printer_article.title_en
    assert title == expected
    with page.expect_navigation():
        page.get_by_test_id("help-vote-yes").click()
    assert page.get_by_test_id("help-voted").is_visible()
    assert page.get_by_test_id("help-helpful-count").inner_text() == "1"
    screenshot(page, f"help-article-{language}-{width}")
    # the other language, by the switch
    other = "en" if language == "zh-hans" else "zh-hans"
    with page.expect_navigation():
        page.locator(f"[data-lang='{other}']").click()
    switched = page.get_by_test_id("help-article-title").inner_text()
    assert switched == (printer_article.title_en if other == "en" else printer_article.title)
    # voting again changes nothing but the vote
    with page.expect_navigation():
        page.get_by_test_id("help-vote-yes").click()
    printer_article.refresh_from_db()
    assert printer_article.helpful_count == 1
