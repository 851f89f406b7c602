"""The rule designer in a real browser: an administrator builds the issue's rule "when an
account becomes tier A, assign it to the key-account team round robin and create a welcome
call task due in 2 days" on a phone-sized screen in English, sees it fire when an account
is changed to tier A, and the same designer renders in Chinese."""

from __future__ import annotations

import re

import pytest

from rapport.automation import rulecache
from rapport.automation.models import Rule, RuleRun, RunState
from rapport.customers.models import Account, Interaction, InteractionKind
from rapport.identity.models import Team
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login
from tests.factories import AccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = 375


@pytest.fixture
def eager():
    """Rule runs execute inline in the live server (as with CELERY_TASK_ALWAYS_EAGER)."""
    from rapport.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    rulecache._memory.by_trigger = None
    yield
    app.conf.task_always_eager = previous
    rulecache._memory.by_trigger = None


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_admin_builds_the_tier_a_rule_and_sees_it_fire(org, new_page, eager):
    admin = org["admin"]
    admin.language = "en"
    admin.save()
    team = Team.objects.get(name="Key accounts")  # lead cm, member rep_sh
    account = AccountFactory(owner=org["rep_east"], tier="C", province="上海市")

    page = new_page(language="en", width=PHONE, height=800)
    _login(page, admin.username)
    page.wait_for_url(re.compile(r"/$"))
    page.goto("/automation/rules/")
    page.get_by_test_id("rule-new").click()
    page.wait_for_url(re.compile(r"/automation/rules/new/"))
    form = page.get_by_test_id("rule-form")
    form.locator("input[name=name]").fill("A 级客户交给大客户组")
    form.locator("input[name=name_en]").fill("Tier A accounts to key accounts")
    assert form.locator("select[name=object_type]").input_value() == "customers.account"
    form.locator("select[name=trigger]").select_option("updated")
    # Only the chosen trigger's settings show.
    assert form.locator("input[name=cron]").is_hidden()
    form.locator("select[name=watch_field]").select_option("tier")
    form.locator("input[name=watch_to]").fill("A")
    # The condition, with the lists' filter builder.
    builder = page.get_by_test_id("filter-builder")
    builder.locator("[data-field-select]").first.select_option("province")
    builder.locator("[data-value]").first.fill("上海市")
    assert page.get_by_test_id("filter-text").input_value() == "province = 上海市"

    # Actions: choosing one adds it (the form comes back with everything typed kept).
    with page.expect_navigation():
        page.get_by_test_id("add-action-kind").select_option("assign_owner")
    assign = page.locator('[data-action="0"][data-action-kind="assign_owner"]')
    assert form.locator("input[name=watch_to]").input_value() == "A"
    assert page.get_by_test_id("filter-text").input_value() == "province = 上海市"
    assign.locator("input[name='a0-mode'][value=team]").check()
    assign.locator("select[name='a0-team']").select_option(str(team.pk))
    assert assign.locator("select[name='a0-user']").is_hidden()
    with page.expect_navigation():
        page.get_by_test_id("add-action-kind").select_option("create_task")
    task_block = page.locator('[data-action="1"][data-action-kind="create_task"]')
    assert page.locator("select[name='a0-team']").input_value() == str(team.pk)
    task_block.locator("input[name='a1-subject']").fill("Welcome call")
    task_block.locator("input[name='a1-due_in_days']").fill("2")
    task_block.locator("select[name='a1-assignee']").select_option("owner")
    page.locator("input[name=is_active]").check()
    assert no_horizontal_scroll(page)
    screenshot(page, f"automation-rule-form-en-{PHONE}")
    with page.expect_navigation():
        page.get_by_test_id("rule-save").click()

    rule = Rule.objects.get()
    assert page.url.endswith(f"/automation/rules/{rule.pk}/")
    assert page.get_by_test_id("rule-state").inner_text() == "On"
    assert (rule.trigger, rule.trigger_config, rule.is_active) == (
        "updated",
        {"field": "tier", "to": "A"},
        True,
    )
    assert rule.condition == {"field": "province", "op": "=", "value": "上海市"}
    assert [action["type"] for action in rule.actions] == ["assign_owner", "create_task"]
    assert no_horizontal_scroll(page)

    # The account becomes tier A (through its edit form): the rule fires.
    page.goto(f"/customers/accounts/{account.pk}/edit/")
    page.locator("select[name=tier]").select_option("A")
    with page.expect_navigation():
        page.locator("form button[type=submit].btn-primary").first.click()
    account = Account.objects.get(pk=account.pk)
    assert account.tier == "A"
    run = RuleRun.objects.get(rule=rule)
    assert run.state == RunState.SUCCEEDED, run.error
    assert account.owner_id in {team.lead_id, org["rep_sh"].pk}
    task = Interaction.objects.get(account=account, kind=InteractionKind.TASK)
    assert (task.subject, task.assignee_id) == ("Welcome call", account.owner_id)

    # The run is in the rule's log and on the account's 360 page.
    page.goto(f"/automation/rules/{rule.pk}/")
    row = page.locator(f'[data-run="{run.pk}"]')
    assert row.get_attribute("data-run-state") == "succeeded"
    assert f"#{account.pk}" in row.inner_text()
    assert no_horizontal_scroll(page)
    screenshot(page, f"automation-rule-detail-en-{PHONE}")
    with page.expect_navigation():
        row.get_by_test_id("run-open").click()
    assert page.get_by_test_id("run-state").inner_text() == "Succeeded"
    assert "Welcome call" in page.get_by_test_id("run-results").inner_text()
    assert no_horizontal_scroll(page)
    page.goto("/automation/rules/")
    assert page.locator(f'[data-rule-row="{rule.pk}"]').is_visible()
    assert no_horizontal_scroll(page)
    screenshot(page, f"automation-rule-list-en-{PHONE}")
    page.goto(f"/customers/accounts/{account.pk}/")
    assert "Tier A accounts to key accounts" in page.get_by_test_id("record-runs").inner_text()

    # The same designer in Chinese, still without horizontal scroll.
    admin.language = "zh-hans"
    admin.save()
    page = new_page(language="zh-hans", width=PHONE, height=800)
    _login(page, admin.username)
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"/automation/rules/{rule.pk}/edit/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_test_id("rule-save").inner_text() == "保存"
    assert "A 级客户交给大客户组" in page.locator("h2.page-title").inner_text()
    assert page.locator("input[name=watch_to]").input_value() == "A"
    assert page.locator(
        '[data-action-kind="create_task"] input[name="a1-subject"]'
    ).input_value() == ("Welcome call")
    assert no_horizontal_scroll(page)
    screenshot(page, f"automation-rule-form-zh-{PHONE}")
