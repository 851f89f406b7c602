"""The 360 page in a real browser: log a call with a follow-up, add a task and complete it
from "My tasks" — in both languages, on a desktop and on a phone."""

from __future__ import annotations

import re

import pytest

from rapport.customers import services
from rapport.customers.models import Interaction
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {"logged": "was logged", "my_tasks": "My tasks", "done": "is done"},
    "zh-hans": {"logged": "已记录", "my_tasks": "我的任务", "done": "已完成"},
}


@pytest.mark.parametrize(
    ("language", "width"), [("en", 1280), ("zh-hans", 1280), ("en", 390), ("zh-hans", 390)]
)
def test_log_a_call_and_a_task_then_complete_it(org, new_page, language, width):
    user = org["rep_sh"]
    user.language = language
    user.save()
    account = services.account_create(actor=user, name=f"中国银行 {language} {width}")
    contact = services.contact_create(actor=user, name="王芳", accounts=[account])
    page = new_page(language=language, width=width, height=1000)
    _login(page, user.username)
    page.goto(f"/customers/accounts/{account.pk}/")
    form = page.get_by_test_id("log-form")
    form.locator("select[name=log-kind]").select_option("call")
    form.locator("select[name=log-contact]").select_option(str(contact.pk))
    form.locator("select[name=log-outcome]").select_option("no_answer")  # a call's outcome
    form.locator("input[name=log-duration_minutes]").fill("3")
    form.locator("textarea[name=log-body]").fill("没接，稍后再打")
    form.locator("input[name=log-next_step]").fill("再打一次")
    form.locator("input[name=log-follow_up_due]").fill("2030-01-02T10:00")
    with page.expect_navigation():
        page.get_by_test_id("log-submit").click()
    assert TEXT[language]["logged"] in page.locator(".alert-success").inner_text()
    timeline = page.get_by_test_id("timeline")
    assert "没接，稍后再打" in timeline.inner_text()
    assert "再打一次" in page.get_by_test_id("tasks").inner_text()
    call = Interaction.objects.get(kind="call")
    assert call.outcome == "no_answer" and call.duration_minutes == 3 and call.contact == contact

    # A task from the same page (the form opens from its summary).
    page.get_by_test_id("add-task").click()
    page.locator("input[name=task-subject]").fill("寄送资料")
    page.locator("input[name=task-due_at]").fill("2020-01-01T09:00")  # already overdue
    with page.expect_navigation():
        page.get_by_test_id("task-submit").click()
    task = Interaction.objects.get(subject="寄送资料")
    assert task.assignee == user
    screenshot(page, f"account-360-{language}-{width}")

    # My tasks: the overdue one first, completed with one click.
    with page.expect_navigation():
        if width < 768:
            page.locator(".navbar-toggler").click()
        page.get_by_test_id("nav-tasks").click()
    assert TEXT[language]["my_tasks"] in page.locator("h2").inner_text()
    first = page.locator("[data-task]").first
    assert first.get_attribute("data-task") == str(task.pk)
    assert first.get_by_test_id("overdue").is_visible()
    screenshot(page, f"my-tasks-{language}-{width}")
    with page.expect_navigation():
        first.get_by_test_id("task-done").click()
    assert TEXT[language]["done"] in page.locator(".alert-success").inner_text()
    task.refresh_from_db()
    assert task.done_at is not None
    assert page.locator(f"[data-task='{task.pk}']").count() == 0
    assert re.search(r"/customers/tasks/", page.url)


@pytest.mark.parametrize(("language", "width"), [("en", 1280), ("zh-hans", 390)])
def test_withdraw_a_consent_in_one_click(org, new_page, language, width):
    user = org["rep_sh"]
    user.language = language
    user.save()
    contact = services.contact_create(actor=user, name=f"赵磊 {language}")
    services.consent_record(
        actor=user,
        contact=contact,
        channel="email",
        purpose="marketing",
        status="granted",
        source="web_form",
        evidence="表单 #1",
    )
    page = new_page(language=language, width=width, height=1000)
    _login(page, user.username)
    page.goto(f"/customers/contacts/{contact.pk}/")
    cell = page.locator("[data-consent='email.marketing']")
    assert cell.get_attribute("data-allowed") == "1"
    with page.expect_navigation():
        cell.get_by_test_id("withdraw").click()
    cell = page.locator("[data-consent='email.marketing']")
    assert cell.get_attribute("data-allowed") == "0"
    assert ("Withdrawn" if language == "en" else "已撤回") in cell.inner_text()
    screenshot(page, f"contact-consent-{language}-{width}")
    assert contact.consents.get(channel="email", purpose="marketing").status == "withdrawn"
