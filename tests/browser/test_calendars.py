"""Business calendars in a real browser: a service manager opens them from the menu, fixes a
mistyped day, sets a company holiday and sees the next weeks as the calendar counts them —
in Chinese on a phone and in English on a desktop."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from rapport.service.models import BusinessCalendar
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LABELS = {
    "zh-hans": {"title": "工作日历", "error": "结束时间早于开始时间", "closed": "休息"},
    "en": {"title": "Business calendars", "error": "ends before it starts", "closed": "Closed"},
}


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_a_service_manager_keeps_a_calendar(org, new_page, language, width):
    manager = org["service_manager"]
    manager.language = language
    manager.save()
    page = new_page(language=language, width=width)
    _login(page, manager.username)
    page.wait_for_url(re.compile(r"/$"))
    if width < 768:
        page.locator(".navbar-toggler").first.click()
        # the menu slides open; a click on "Manage" during the slide can be lost
        page.locator("#navbar-menu.collapse.show").wait_for()
    page.get_by_test_id("nav-manage").click()
    calendars = page.get_by_test_id("nav-calendars")
    if not calendars.is_visible():
        page.get_by_test_id("nav-manage").click()
    with page.expect_navigation():
        calendars.click()
    assert LABELS[language]["title"] in page.locator("h2.page-title").inner_text()
    screenshot(page, f"calendars-{language}-{width}")

    with page.expect_navigation():
        page.get_by_test_id("calendar-new").click()
    page.fill("input[name=name]", "华南客服")
    page.fill("input[name=hours_sat]", "14:00-9:00")
    with page.expect_navigation():
        page.get_by_test_id("calendar-save").click()
    assert LABELS[language]["error"] in page.get_by_test_id("calendar-week").inner_text()
    page.fill("input[name=hours_sat]", "９：００－１２：００")
    with page.expect_navigation():
        page.get_by_test_id("calendar-save").click()
    calendar = BusinessCalendar.objects.get(name="华南客服")
    assert calendar.weekly_hours[5] == [[540, 720]]

    holiday = timezone.localdate() + timedelta(days=2)
    form = page.get_by_test_id("calendar-day-form")
    form.locator("input[name=day]").fill(holiday.isoformat())
    form.locator("input[name=note]").fill("公司年会")
    with page.expect_navigation():
        form.get_by_test_id("calendar-day-save").click()
    day = page.locator(f"[data-preview-day='{holiday.isoformat()}']")
    assert day.get_attribute("data-open") == "0"
    assert LABELS[language]["closed"] in day.inner_text() and "公司年会" in day.inner_text()
    screenshot(page, f"calendar-edit-{language}-{width}")
