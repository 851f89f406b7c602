"""Business calendars as administrators keep them: validation naming the field, one default,
dated exceptions, audit, and the arithmetic reading what is stored."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.service import services
from rapport.service.models import BusinessCalendar

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK = {"mon": "9-18", "tue": "9-18", "wed": "9-18", "thu": "9-18", "fri": "9-18"}


def test_migrate_leaves_a_default_calendar_of_office_hours():
    (calendar,) = BusinessCalendar.objects.all()
    assert calendar.is_default and calendar.public_holidays
    schedule = calendar.schedule()
    # Friday 27 November 2026, 17:30: half an hour that day, then Monday from 09:00
    start = datetime(2026, 11, 27, 17, 30, tzinfo=SHANGHAI)
    assert schedule.add(start, timedelta(hours=1)) == datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)


def test_a_new_calendar_from_text_hours_is_audited(org):
    admin = org["admin"]
    calendar = services.calendar_create(
        actor=admin,
        name=" 华南 客服 ",
        name_en="South China desk",
        weekly_hours={**WEEK, "sat": "９：００－１２：００"},
    )
    assert calendar.name == "华南 客服" and not calendar.is_default
    assert calendar.weekly_hours[5] == [[540, 720]] and calendar.weekly_hours[6] == []
    event = AuditEvent.objects.get(action="create", object_type="service.businesscalendar")
    assert event.changes["name"] == [None, "华南 客服"]


def test_bad_hours_are_refused_naming_the_day_and_nothing_is_stored(org):
    before = BusinessCalendar.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.calendar_create(
            actor=org["admin"],
            name="",
            time_zone="Mars/Olympus",
            weekly_hours={**WEEK, "tue": "18-9", "wed": "8-13, 12-18"},
        )
    errors = refused.value.message_dict
    assert set(errors) == {"name", "time_zone", "weekly_hours.tue", "weekly_hours.wed"}
    assert "18-9" in errors["weekly_hours.tue"][0]
    with pytest.raises(ValidationError) as closed:
        services.calendar_create(actor=org["admin"], name="从不上班", weekly_hours={})
    assert closed.value.error_dict["weekly_hours"][0].code == "no_hours"
    assert BusinessCalendar.objects.count() == before


def test_exactly_one_default_which_cannot_be_retired(org):
    admin = org["admin"]
    standard = BusinessCalendar.objects.get(is_default=True)
    night = services.calendar_create(actor=admin, name="夜班", weekly_hours=["0-8"] * 7)
    services.calendar_update(actor=admin, calendar=night, is_default=True)
    standard.refresh_from_db()
    assert not standard.is_default
    assert list(BusinessCalendar.objects.filter(is_default=True)) == [night]
    with pytest.raises(ValidationError) as refused:
        services.calendar_update(actor=admin, calendar=night, is_active=False)
    assert "is_active" in refused.value.message_dict
    with pytest.raises(ValidationError):
        services.calendar_update(actor=admin, calendar=night, is_default=False)


def test_a_dated_exception_comes_before_the_week_and_china_s_arrangement(org):
    admin = org["admin"]
    calendar = BusinessCalendar.objects.get(is_default=True)
    # 10 October 2026 is a make-up Saturday; this team stays closed then
    services.calendar_day_set(actor=admin, calendar=calendar, day=date(2026, 10, 10), note="不调休")
    friday = datetime(2026, 10, 9, 17, 30, tzinfo=SHANGHAI)
    schedule = BusinessCalendar.objects.prefetch_related("days").get(pk=calendar.pk).schedule()
    assert schedule.add(friday, timedelta(hours=1)) == datetime(
        2026, 10, 12, 9, 30, tzinfo=SHANGHAI
    )
    # replaced, then removed: the make-up Saturday works again
    services.calendar_day_set(
        actor=admin, calendar=calendar, day=date(2026, 10, 10), hours="10:00-12:00"
    )
    assert calendar.days.get().hours == [[600, 720]]
    assert services.calendar_day_remove(actor=admin, calendar=calendar, day=date(2026, 10, 10))
    assert not services.calendar_day_remove(actor=admin, calendar=calendar, day=date(2026, 10, 10))
    schedule = BusinessCalendar.objects.prefetch_related("days").get(pk=calendar.pk).schedule()
    assert schedule.add(friday, timedelta(hours=1)) == datetime(
        2026, 10, 10, 9, 30, tzinfo=SHANGHAI
    )
    actions = list(
        AuditEvent.objects.filter(
            object_type="service.businesscalendar", object_id=str(calendar.pk)
        )
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["calendar.day_set", "calendar.day_set", "calendar.day_remove"]


def test_bad_exception_input_names_the_field(org):
    calendar = BusinessCalendar.objects.get(is_default=True)
    with pytest.raises(ValidationError) as refused:
        services.calendar_day_set(
            actor=org["admin"], calendar=calendar, day="明天", hours="午饭后", note="x" * 201
        )
    assert set(refused.value.message_dict) == {"day", "hours", "note"}
    assert not calendar.days.exists()


@pytest.mark.parametrize("role", ["sales_manager", "agent", "auditor"])
def test_only_calendar_managers_may_change_calendars(org, role):
    calendar = BusinessCalendar.objects.get(is_default=True)
    with pytest.raises(PermissionDenied):
        services.calendar_update(actor=org[role], calendar=calendar, name="改名")
    with pytest.raises(PermissionDenied):
        services.calendar_create(actor=org[role], name="新", weekly_hours=WEEK)


def test_service_managers_keep_their_calendars(org):
    calendar = services.calendar_create(
        actor=org["service_manager"], name="华南客服", weekly_hours=WEEK
    )
    services.calendar_update(actor=org["service_manager"], calendar=calendar, public_holidays=False)
    calendar.refresh_from_db()
    assert calendar.public_holidays is False
