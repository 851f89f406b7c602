"""Business-time arithmetic: weekends, China's public holidays and make-up workdays, several
intervals a day, the calendar's own exceptions, time zones and years not yet published."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.service.calendars import NoWorkingTime, Schedule, public_day, published_years

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = ((9 * 60, 12 * 60), (13 * 60 + 30, 18 * 60))  # 09:00–12:00, 13:30–18:00: 7.5 h
NINE_TO_SIX = ((9 * 60, 18 * 60),)
WEEKDAYS = (NINE_TO_SIX,) * 5 + ((), ())


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def test_a_friday_evening_request_is_due_on_monday():
    calendar = Schedule(weekly=WEEKDAYS, public_holidays=False)
    due = calendar.add(local(2026, 11, 27, 17), hours(2))  # Friday 17:00
    assert due == local(2026, 11, 30, 10)  # Monday 10:00
    assert calendar.between(local(2026, 11, 27, 17), due) == hours(2)


def test_the_national_day_week_is_skipped_and_the_make_up_saturday_works():
    calendar = Schedule(weekly=WEEKDAYS)
    # Wednesday 30 September 2026, 17:00: one hour that day, 1–7 October closed
    assert calendar.add(local(2026, 9, 30, 17), hours(2)) == local(2026, 10, 8, 10)
    # Friday 9 October 17:00: Saturday 10 October is a make-up workday (调休上班)
    assert calendar.add(local(2026, 10, 9, 17), hours(2)) == local(2026, 10, 10, 10)
    # without China's arrangement, 1 October is an ordinary Thursday and the 10th a Saturday
    plain = Schedule(weekly=WEEKDAYS, public_holidays=False)
    assert plain.add(local(2026, 9, 30, 17), hours(2)) == local(2026, 10, 1, 10)
    assert plain.add(local(2026, 10, 9, 17), hours(2)) == local(2026, 10, 12, 10)


def test_a_make_up_sunday_works_the_hours_of_the_first_working_weekday():
    calendar = Schedule(weekly=(OFFICE,) * 5 + ((), ()))
    assert public_day(date(2026, 9, 20)) == "workday"  # a Sunday
    assert calendar.hours_on(date(2026, 9, 20)) == OFFICE
    assert public_day(date(2026, 9, 25)) == "holiday"  # the Mid-Autumn Festival, a Friday
    assert calendar.hours_on(date(2026, 9, 25)) == ()


def test_the_lunch_break_is_not_working_time():
    calendar = Schedule(weekly=(OFFICE,) * 5 + ((), ()), public_holidays=False)
    start = local(2026, 11, 30, 11)  # Monday 11:00
    assert calendar.add(start, hours(2)) == local(2026, 11, 30, 14, 30)
    assert calendar.between(local(2026, 11, 30, 8), local(2026, 11, 30, 20)) == hours(7.5)
    assert not calendar.is_working(local(2026, 11, 30, 12, 30))
    assert calendar.is_working(local(2026, 11, 30, 13, 30))
    assert not calendar.is_working(local(2026, 11, 30, 18))


def test_the_calendars_own_exceptions_come_first():
    closed, open_sunday = date(2026, 12, 24), date(2026, 12, 27)
    calendar = Schedule(
        weekly=WEEKDAYS,
        exceptions={closed: (), open_sunday: ((10 * 60, 12 * 60),)},
    )
    assert calendar.hours_on(closed) == ()
    # Wednesday 23 December 17:00 + 2 h: Thursday closed → Friday 10:00
    assert calendar.add(local(2026, 12, 23, 17), hours(2)) == local(2026, 12, 25, 10)
    # Friday 25 December 17:00 + 2 h: Sunday 27 December 10:00–12:00 is open
    assert calendar.add(local(2026, 12, 25, 17), hours(2)) == local(2026, 12, 27, 11)


def test_a_calendar_in_another_zone_counts_in_its_own_hours():
    london = Schedule(time_zone="Europe/London", weekly=WEEKDAYS, public_holidays=False)
    start = datetime(2026, 11, 30, 8, tzinfo=UTC)  # Monday 08:00 in London (GMT)
    assert london.add(start, hours(1)) == datetime(2026, 11, 30, 10, tzinfo=UTC)
    # the night the clocks go back (25 October 2026) adds no working time
    friday = datetime(2026, 10, 23, 16, tzinfo=UTC)  # 17:00 BST
    assert london.add(friday, hours(2)) == datetime(2026, 10, 26, 10, tzinfo=UTC)  # 10:00 GMT


def test_years_not_yet_published_count_weekly_hours_and_are_named():
    calendar = Schedule(weekly=WEEKDAYS)
    later = max(published_years()) + 1
    new_year = date(later, 1, 1)
    assert public_day(new_year) is None
    assert calendar.hours_on(new_year) == WEEKDAYS[new_year.weekday()]
    assert calendar.unknown_years(range(2026, later + 1)) == [later]
    assert (
        Schedule(weekly=WEEKDAYS, public_holidays=False).unknown_years(range(later, later + 2))
        == []
    )


def test_a_calendar_without_working_time_is_refused():
    with pytest.raises(ValueError):
        Schedule(weekly=((),) * 6)  # not seven days
    with pytest.raises(ValueError):
        Schedule(weekly=((9 * 60, 18 * 60),) * 7)  # days that are not lists of intervals
    with pytest.raises(ValueError):
        Schedule(weekly=(((18 * 60, 9 * 60),),) + ((),) * 6)  # ends before it starts
    with pytest.raises(ValueError):
        Schedule(weekly=(((9 * 60, 13 * 60), (12 * 60, 18 * 60)),) + ((),) * 6)  # overlap
    never = Schedule(weekly=((),) * 7)
    assert not never.works_weekly
    with pytest.raises(NoWorkingTime):
        never.add(local(2026, 11, 30, 9), hours(1))
    with pytest.raises(ValueError):
        never.add(datetime(2026, 11, 30, 9), hours(1))  # naive


# --- properties ----------------------------------------------------------------------------

day_hours = st.lists(st.integers(0, 24 * 4), min_size=0, max_size=6, unique=True).map(
    lambda quarters: tuple(
        (a * 15, b * 15)
        for a, b in zip(sorted(quarters)[::2], sorted(quarters)[1::2], strict=False)
        if a < b
    )
)
schedules = st.builds(
    Schedule,
    time_zone=st.sampled_from(["Asia/Shanghai", "Europe/London", "America/New_York"]),
    weekly=st.tuples(*[day_hours] * 7).filter(any),
    public_holidays=st.booleans(),
)
moments = st.datetimes(
    min_value=datetime(2025, 12, 1), max_value=datetime(2027, 2, 1), timezones=st.just(UTC)
)
durations = st.integers(0, 60 * 60).map(lambda minutes: timedelta(minutes=minutes))


@settings(max_examples=150, deadline=None)
@given(schedules, moments, durations)
def test_adding_then_measuring_gives_the_duration_back(calendar, start, duration):
    due = calendar.add(start, duration)
    assert due >= start
    assert calendar.between(start, due) == duration
    if duration:
        assert calendar.is_working(due - timedelta(microseconds=1))


@settings(max_examples=150, deadline=None)
@given(schedules, moments, durations, durations)
def test_adding_in_two_steps_is_adding_once(calendar, start, first, second):
    assert calendar.add(calendar.add(start, first), second) == calendar.add(start, first + second)
    assert calendar.add(start, first) <= calendar.add(start, first + second)


@settings(max_examples=150, deadline=None)
@given(
    schedules,
    moments,
    st.timedeltas(timedelta(0), timedelta(days=20)),
    st.timedeltas(timedelta(0), timedelta(days=20)),
)
def test_working_time_adds_up_over_consecutive_spans(calendar, start, first, second):
    middle, end = start + first, start + first + second
    total = calendar.between(start, end)
    assert total == calendar.between(start, middle) + calendar.between(middle, end)
    assert total <= end - start
