"""The sales kanban board in a real browser: a rep drags a card to the next stage; dragging
it to a stage that needs a field asks for it in a small form, refuses it empty (the card
stays) and moves it once filled — in Chinese on a phone, in English on a desktop."""

from __future__ import annotations

import re
import time

import pytest

from rapport.sales.models import Opportunity, Pipeline
from rapport.sales.services import pipeline as services
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login
from tests.factories import AccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _drag(page, card, target) -> None:
    """Drag with the mouse in small steps (SortableJS follows the pointer)."""
    card.scroll_into_view_if_needed()
    start = card.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + 10)
    page.mouse.down()
    # pauses between the phases: a warm browser otherwise drops before the drag has begun
    page.wait_for_timeout(100)
    page.mouse.move(start["x"] + start["width"] / 2 + 5, start["y"] + 15, steps=3)
    page.wait_for_timeout(100)
    end = target.bounding_box()
    page.mouse.move(end["x"] + min(end["width"] / 2, 40), end["y"] + 20, steps=15)
    page.wait_for_timeout(100)
    page.mouse.move(end["x"] + min(end["width"] / 2, 40) + 2, end["y"] + 22, steps=2)
    page.wait_for_timeout(100)
    page.mouse.up()


def _stage_of(opportunity: Opportunity, wanted: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        opportunity.refresh_from_db()
        if opportunity.stage.name_en == wanted:
            break
        time.sleep(0.2)
    return opportunity.stage.name_en


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_a_rep_drags_cards_through_the_stages(org, new_page, language, width):
    rep = org["rep_sh"]
    rep.language = language
    rep.save()
    pipeline = Pipeline.objects.get(is_default=True)
    stages = {stage.name_en: stage for stage in pipeline.stages.all()}
    stages["Qualification"].required_fields = ["expected_close_date"]
    stages["Qualification"].save()
    opportunity = services.opportunity_create(
        actor=rep, account=AccountFactory(owner=rep), name="看板拖动商机", amount="20000"
    )
    services.opportunity_create(actor=rep, account=opportunity.account, name="另一个商机")

    page = new_page(language=language, width=width)
    _login(page, rep.username)
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"/sales/opportunities/board/?pipeline={pipeline.pk}")
    page.wait_for_selector("[data-kanban][data-ready='1']")
    card = page.locator(f"[data-testid=opportunity-card][data-id='{opportunity.pk}']")
    column = page.locator(
        f"[data-testid=kanban-column][data-stage-id='{stages['Qualification'].pk}']"
    )
    # the stage needs a close date: the form asks for it, and refuses it empty
    _drag(page, card, column.locator(".kanban-list"))
    form = page.get_by_test_id("move-form")
    form.wait_for()
    assert form.locator("input[name=expected_close_date]").count() == 1
    form.get_by_test_id("move-save").click()
    page.locator("[data-field-error=expected_close_date]").wait_for()
    assert _stage_of(opportunity, "Prospecting", timeout=1) == "Prospecting"
    screenshot(page, f"kanban-form-{language}-{width}")
    page.get_by_test_id("move-form").locator("input[name=expected_close_date]").fill("2026-12-31")
    page.get_by_test_id("move-form").get_by_test_id("move-save").click()
    page.get_by_test_id("move-modal").wait_for(state="hidden")
    assert _stage_of(opportunity, "Qualification") == "Qualification"
    assert str(opportunity.expected_close_date) == "2026-12-31"
    assert column.get_by_test_id("column-count").inner_text() == "1"
    assert column.locator(f"[data-id='{opportunity.pk}']").count() == 1
    # the next stage needs nothing: the drop is enough
    proposal = page.locator(
        f"[data-testid=kanban-column][data-stage-id='{stages['Proposal'].pk}'] .kanban-list"
    )
    proposal.scroll_into_view_if_needed()
    _drag(page, column.locator(f"[data-id='{opportunity.pk}']"), proposal)
    assert _stage_of(opportunity, "Proposal") == "Proposal"
    page.wait_for_function(
        "id => document.querySelector(`[data-stage-id='${id}'] [data-count]`).textContent === '1'",
        arg=stages["Proposal"].pk,
    )
    screenshot(page, f"kanban-{language}-{width}")
