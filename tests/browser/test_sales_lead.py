"""Leads in a real browser, in Chinese on a phone and in English on a desktop: a rep claims a
lead from the pool, follows it up, qualifies and converts it; a visitor leaves their details
on the public form. Screenshots of the pages go to var/screenshots."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from rapport.sales.lead_intake import LEAD_SYSTEM
from rapport.sales.models import Lead, LeadPool
from rapport.sales.models.leads import LeadStatus
from rapport.sales.services import leads as services
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login
from tests.factories import TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_a_rep_claims_works_and_converts_a_lead(org, new_page, language, width):  # noqa: F811
    rep = org["rep_sh"]
    rep.language = language
    rep.save(update_fields=["language"])
    team = TeamFactory(members=[rep, org["rep_east"]])
    LeadPool.objects.create(
        name="华东公海", name_en="East pool", team=team, is_default=True, max_held=5
    )
    services.lead_create(actor=rep, owner=rep, name="陈小姐", company="锦程物流", rating="warm")
    lead = services.lead_create(
        actor=org["admin"],
        owner=None,
        name="王先生",
        company="云帆科技有限公司",
        phone="13812345678",
        email="wang@yunfan.example",
    )
    page = new_page(language=language, width=width)
    _login(page, rep.username)
    page.goto("/sales/leads/pool/")
    assert page.get_by_test_id("held-counter").is_visible()
    screenshot(page, f"lead-pool-{language}-{width}")
    with page.expect_navigation():
        page.get_by_test_id("claim").first.click()
    assert Lead.objects.get(pk=lead.pk).owner == rep
    page.goto(f"/sales/leads/{lead.pk}/")
    page.fill("#id_summary", "电话沟通，约了演示")
    with page.expect_navigation():
        page.get_by_test_id("follow-up-add").click()
    assert page.locator("[data-follow-up]").count() == 1
    screenshot(page, f"lead-detail-{language}-{width}")
    page.goto("/sales/leads/?view=all")
    assert page.locator("[data-lead-row]").count() == 2
    screenshot(page, f"lead-list-{language}-{width}")
    page.goto(f"/sales/leads/{lead.pk}/convert/")
    page.fill("#id_amount", "88000")
    screenshot(page, f"lead-convert-{language}-{width}")
    with page.expect_navigation():
        page.get_by_test_id("convert-save").click()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.converted_opportunity is not None
    page.goto("/sales/leads/new/")
    page.fill("#id_name", "李四")
    page.fill("#id_company", "云帆科技")
    with page.expect_navigation():
        page.get_by_test_id("lead-save").click()
    assert page.get_by_test_id("duplicates").is_visible()
    screenshot(page, f"lead-form-duplicates-{language}-{width}")


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_a_visitor_leaves_their_details(org, new_page, language, width):  # noqa: F811
    cache.clear()
    LEAD_SYSTEM.ensure()
    LeadPool.objects.create(name="公海", name_en="Open pool", is_default=True)
    page = new_page(language=language, width=width)
    page.goto("/forms/lead/")
    with page.expect_navigation():
        page.get_by_test_id("lead-form-submit").click()
    assert page.locator("[data-error-for=consent]").is_visible()
    screenshot(page, f"lead-public-errors-{language}-{width}")
    page.fill("#lead-name", "访客" if language == "zh-hans" else "Visitor")
    page.fill("#lead-email", "visitor@example.com")
    page.get_by_test_id("lead-consent").check()
    with page.expect_navigation():
        page.get_by_test_id("lead-form-submit").click()
    assert page.get_by_test_id("lead-form-done").is_visible()
    assert Lead.objects.get().source == "web_form"
