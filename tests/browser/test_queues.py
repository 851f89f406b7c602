"""Service queues in a real browser: a service manager makes a queue assign by load and gives
an agent a skill; the agent steps away from the ticket list and comes back; the board shows
it — in Chinese on a phone, in English on a desktop."""

from __future__ import annotations

import re

import pytest

from rapport.identity.models import Team
from rapport.service.models import AgentProfile, QueueSettings, TicketCategory
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_a_manager_sets_up_a_queue_and_an_agent_steps_away(org, new_page, language, width):
    manager, agent = org["service_manager"], org["agent"]
    for person in (manager, agent):
        person.language = language
        person.save()
    team = Team.objects.create(name="华南客服", department=org["departments"]["south"])
    team.members.add(agent)
    billing = TicketCategory.objects.create(name="账单", name_en="Billing")

    page = new_page(language=language, width=width)
    _login(page, manager.username)
    page.wait_for_url(re.compile(r"/$"))
    page.goto("/admin/service-queues/")
    queue = page.locator(f"[data-queue='{team.pk}']")
    with page.expect_navigation():
        queue.get_by_test_id("queue-edit").click()
    page.select_option("select[name=auto_assign]", "least_loaded")
    page.fill("input[name=max_open_per_agent]", "8")
    with page.expect_navigation():
        page.get_by_test_id("queue-save").click()
    settings = QueueSettings.objects.get(team=team)
    assert (settings.auto_assign, settings.max_open_per_agent) == ("least_loaded", 8)
    with page.expect_navigation():
        page.locator(f"[data-agent='{agent.pk}']").get_by_test_id("agent-edit").click()
    page.locator(f"input[name=skills][value='{billing.pk}']").check()
    page.locator("input[name=languages][value='en']").check()
    with page.expect_navigation():
        page.get_by_test_id("agent-save").click()
    profile = AgentProfile.objects.get(user=agent)
    assert list(profile.skills.all()) == [billing] and profile.languages == ["en"]
    assert (
        page.locator(f"[data-agent='{agent.pk}']")
        .inner_text()
        .count("Billing" if language == "en" else "账单")
        == 1
    )
    screenshot(page, f"queues-{language}-{width}")

    agent_page = new_page(language=language, width=width)
    _login(agent_page, agent.username)
    agent_page.wait_for_url(re.compile(r"/$"))
    agent_page.goto("/service/tickets/")
    agent_page.select_option("select[name=hours]", "4")
    with agent_page.expect_navigation():
        agent_page.get_by_test_id("availability-away").click()
    assert agent_page.get_by_test_id("availability-back").is_visible()
    screenshot(agent_page, f"queues-away-{language}-{width}")
    profile.refresh_from_db()
    assert not profile.available and profile.away_until is not None
    page.goto("/admin/service-queues/")
    assert page.locator(f"[data-agent='{agent.pk}'] [data-agent-state=away]").is_visible()
    with agent_page.expect_navigation():
        agent_page.get_by_test_id("availability-back").click()
    profile.refresh_from_db()
    assert profile.available
