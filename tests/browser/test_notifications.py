"""The bell in a real browser, on a phone, in both languages: a due reminder shows a count,
opening it leads to the task and reads it, "mark read" clears the rest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from rapport.customers import services
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {"reminder": "Reminder: “回访王总” — due", "given": "gave you a task"},
    "zh-hans": {"reminder": "提醒：“回访王总”", "given": "给您分配了任务"},
}


@pytest.mark.parametrize(("language", "width"), [("en", 390), ("zh-hans", 390), ("en", 1280)])
def test_a_due_reminder_rings_the_bell_and_leads_to_the_task(org, new_page, language, width):
    rep, manager = org["rep_sh"], org["sales_manager"]
    rep.language = language
    rep.save()
    account = services.account_create(actor=rep, name=f"中国银行 {language} {width}")
    now = timezone.now()
    task = services.task_create(
        actor=rep,
        subject="回访王总",
        account=account,
        due_at=now + timedelta(hours=1),
        remind_at=now - timedelta(minutes=1),
    )
    services.task_create(actor=manager, subject="准备报价", account=account, assignee=rep)
    assert services.task_reminders_send(now=now) == 1  # what beat does every minute

    page = new_page(language=language, width=width, height=900)
    _login(page, rep.username)
    page.goto("/")
    bell_count = page.get_by_test_id("bell-count")
    assert bell_count.inner_text().split()[0] == "2"
    assert page.get_by_test_id("bell").is_visible()  # in the top bar, not behind the menu

    page.get_by_test_id("bell").click()
    menu = page.get_by_test_id("notification-menu")
    reminder = menu.get_by_test_id("notification-link").filter(has_text=TEXT[language]["reminder"])
    reminder.wait_for()
    assert TEXT[language]["given"] in menu.inner_text()
    box = menu.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width  # fits on a phone
    screenshot(page, f"notifications-menu-{language}-{width}")

    with page.expect_navigation():
        reminder.click()
    assert page.url.endswith(f"/customers/interactions/{task.pk}/edit/")
    assert "回访王总" in page.locator("h2").inner_text()
    assert page.get_by_test_id("bell-count").inner_text().split()[0] == "1"

    page.goto("/notifications/")
    rows = page.get_by_test_id("notification")
    assert rows.count() == 2
    unread = page.locator("[data-testid=notification][data-unread='1']")
    assert unread.count() == 1 and TEXT[language]["given"] in unread.inner_text()
    screenshot(page, f"notifications-page-{language}-{width}")
    with page.expect_navigation():
        unread.get_by_test_id("mark-read").click()
    assert page.get_by_test_id("bell-count").count() == 0
    assert page.locator("[data-testid=notification][data-unread='1']").count() == 0
