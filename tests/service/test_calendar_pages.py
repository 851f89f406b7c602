"""The business calendar pages: list, new, edit, dated exceptions and the preview, in both
languages; errors beside the day they concern; only calendar managers get in."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.service.models import BusinessCalendar, CalendarDay

pytestmark = pytest.mark.django_db
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def signed_in(user, language="en") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def week(**hours) -> dict:
    return {
        f"hours_{day}": hours.get(day, "9-18" if day not in ("sat", "sun") else "")
        for day in WEEKDAYS
    }


def test_a_service_manager_reaches_the_calendars_from_the_menu(org):
    client = signed_in(org["service_manager"], "zh-hans")
    home = client.get(reverse("web:home")).content.decode()
    assert reverse("service:calendar_list") in home
    page = client.get(reverse("service:calendar_list")).content.decode()
    assert "工作日历" in page and "标准工作时间" in page and "09:00-12:00, 13:00-18:00" in page


def test_create_with_an_error_beside_its_day_then_fix_it(org):
    client = signed_in(org["admin"])
    url = reverse("service:calendar_create")
    bad = client.post(
        url,
        {
            "name": "South desk",
            "time_zone": "Asia/Shanghai",
            "public_holidays": "on",
            **week(tue="18-9"),
        },
    )
    assert bad.status_code == 200
    page = bad.content.decode()
    assert "“18-9” ends before it starts." in page
    assert 'name="hours_tue" value="18-9"' in page and "is-invalid" in page
    assert not BusinessCalendar.objects.filter(name="South desk").exists()
    good = client.post(
        url,
        {
            "name": "South desk",
            "time_zone": "Asia/Shanghai",
            "public_holidays": "on",
            **week(sat="9-12"),
        },
    )
    calendar = BusinessCalendar.objects.get(name="South desk")
    assert good["Location"] == reverse("service:calendar_edit", args=[calendar.pk])
    assert calendar.weekly_hours[5] == [[540, 720]] and calendar.public_holidays


def test_own_dates_show_in_the_preview_and_can_be_removed(org):
    client = signed_in(org["admin"], "zh-hans")
    calendar = BusinessCalendar.objects.get(is_default=True)
    tomorrow = timezone.localdate() + timedelta(days=1)
    url = reverse("service:calendar_day_set", args=[calendar.pk])
    refused = client.post(url, {"day": tomorrow.isoformat(), "hours": "午饭后"})
    assert refused.status_code == 400
    assert "“午饭后”不是形如 09:00-12:00 的时间段。" in refused.content.decode()
    assert not CalendarDay.objects.exists()
    client.post(url, {"day": tomorrow.isoformat(), "hours": "", "note": "年会"})
    edit = client.get(reverse("service:calendar_edit", args=[calendar.pk])).content.decode()
    assert f'data-preview-day="{tomorrow.isoformat()}" data-open="0"' in edit
    assert "年会" in edit
    client.post(
        reverse("service:calendar_day_remove", args=[calendar.pk]), {"day": tomorrow.isoformat()}
    )
    assert not CalendarDay.objects.exists()


def test_the_preview_names_public_holidays_and_make_up_days(org, monkeypatch):
    client = signed_in(org["admin"], "zh-hans")
    calendar = BusinessCalendar.objects.get(is_default=True)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: date(2026, 9, 28))
    page = client.get(reverse("service:calendar_edit", args=[calendar.pk])).content.decode()
    assert 'data-preview-day="2026-10-01" data-open="0"' in page  # National Day
    assert 'data-preview-day="2026-10-10" data-open="1"' in page  # make-up Saturday
    assert "国庆节" in page and "国庆节（调休上班）" in page


def test_a_year_not_yet_published_is_pointed_out(org, monkeypatch):
    client = signed_in(org["admin"])
    calendar = BusinessCalendar.objects.get(is_default=True)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: date(2026, 11, 30))
    page = client.get(reverse("service:calendar_edit", args=[calendar.pk])).content.decode()
    assert 'data-testid="calendar-unknown-years"' in page and "2027" in page


@pytest.mark.parametrize("role", ["agent", "sales_manager", "auditor"])
def test_people_without_the_grant_are_refused(org, role):
    client = signed_in(org[role])
    calendar = BusinessCalendar.objects.get(is_default=True)
    assert client.get(reverse("service:calendar_list")).status_code == 403
    assert client.get(reverse("service:calendar_edit", args=[calendar.pk])).status_code == 403
    response = client.post(
        reverse("service:calendar_day_set", args=[calendar.pk]), {"day": "2026-12-24"}
    )
    assert response.status_code == 403 and not CalendarDay.objects.exists()


def test_the_list_takes_the_same_queries_for_one_calendar_or_many(org):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from rapport.service import services

    client = signed_in(org["admin"])
    url = reverse("service:calendar_list")
    client.get(url)  # warm the session and grants

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    one = queries()
    for n in range(5):
        calendar = services.calendar_create(
            actor=org["admin"], name=f"日历{n}", weekly_hours={"mon": "9-18"}
        )
        services.calendar_day_set(actor=org["admin"], calendar=calendar, day=date(2026, 12, 24))
    assert queries() == one
