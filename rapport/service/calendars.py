"""Business time: when a team works, and how long a span of working time takes.

A `Schedule` is a calendar's rules in memory (no database in the arithmetic): its time zone,
working intervals per weekday, whether China's public holidays and make-up workdays apply
(from `chinese-calendar`), and dated exceptions (a day closed, or a day with its own hours).
Each day's hours are decided in that order:

1. the calendar's own exception for the date, if any;
2. a public holiday closes the day, a make-up workday (调休上班, usually a weekend day) opens
   it with the hours of the week's first working day — when the library knows the year;
3. the weekday's hours.

`chinese-calendar` holds the arrangements the State Council has published (up to the last
year of its release); for a later year only the weekly hours and the calendar's own
exceptions count, and `unknown_years` names such years so the calendar page can ask an
administrator to enter that year's arrangement.

Times are minutes since local midnight (0–1440); the arithmetic runs in UTC on aware
datetimes, so a daylight-saving change (outside China) neither loses nor invents time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# How far ahead `add` looks for working time before it gives up.
HORIZON_DAYS = 400
MINUTES_PER_DAY = 24 * 60

Hours = tuple[tuple[int, int], ...]  # ((start minute, end minute), …), sorted, disjoint


class NoWorkingTime(ValueError):
    """The calendar has no working time within `HORIZON_DAYS` of the start."""


@lru_cache(maxsize=4096)
def public_day(day: date) -> str | None:
    """China's arrangement for `day`: "holiday" (closed), "workday" (a make-up workday on a
    weekend), "" (an ordinary day), or None when the year is not published (yet)."""
    import chinese_calendar

    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    if name is None:
        return ""
    if on_holiday:
        return "holiday"
    return "workday" if day.weekday() >= 5 else ""


def public_holiday_name(day: date) -> str | None:
    """The English name of the public holiday or make-up workday on `day`, if any."""
    import chinese_calendar

    try:
        _on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    return name


def published_years() -> range:
    """The years whose public holidays `chinese-calendar` knows."""
    from chinese_calendar.constants import holidays

    years = [day.year for day in holidays]
    return range(min(years), max(years) + 1)


def valid_hours(hours: Hours) -> bool:
    """Sorted, disjoint, non-empty intervals within one day."""
    previous_end = -1
    try:
        for start, end in hours:
            if not (0 <= start < end <= MINUTES_PER_DAY) or start < previous_end:
                return False
            previous_end = end
    except (TypeError, ValueError):  # not pairs of minutes
        return False
    return True


_RANGE = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(?:-|~|至|到)\s*(\d{1,2})(?::(\d{2}))?$")


def parse_hours(text: str) -> Hours:
    """Working intervals from text such as "09:00-12:00, 13:30-18:00" (full-width digits and
    punctuation, 至 / ~ / – between the times, whole hours as "9-18" are fine); empty text is
    a closed day. Raises a localized ValidationError naming the part it cannot read."""
    from rapport.core import normalize

    folded = normalize.text(text or "").replace("：", ":")
    folded = folded.replace("–", "-").replace("—", "-").replace("～", "~")
    folded = re.sub(r"\s*(-|~|至|到)\s*", r"\1", folded)
    hours = []
    for part in re.split(r"[,;、，；\s]+(?=\d)", folded.strip()):
        part = part.strip().strip(",;、")
        if not part:
            continue
        matched = _RANGE.match(part)
        if matched is None:
            raise ValidationError(
                _("“%(part)s” is not a time range such as 09:00-12:00.") % {"part": part},
                code="invalid",
            )
        start_hour, start_minute, end_hour, end_minute = (int(g or 0) for g in matched.groups())
        if start_hour > 23 or end_hour > 24 or start_minute > 59 or end_minute > 59:
            raise ValidationError(
                _("“%(part)s” is not a time of day.") % {"part": part}, code="invalid"
            )
        start, end = start_hour * 60 + start_minute, end_hour * 60 + end_minute
        if end > MINUTES_PER_DAY or end <= start:
            raise ValidationError(
                _("“%(part)s” ends before it starts.") % {"part": part}, code="invalid"
            )
        hours.append((start, end))
    hours.sort()
    if not valid_hours(tuple(hours)):
        raise ValidationError(_("The time ranges overlap."), code="overlap")
    return tuple(hours)


def format_hours(hours: Hours) -> str:
    """ "09:00-12:00, 13:30-18:00"; empty for a closed day."""
    return ", ".join(
        f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}" for start, end in hours
    )


def check_time_zone(name: str) -> str:
    if name not in _time_zones():
        raise ValidationError(
            _("“%(zone)s” is not a time zone such as Asia/Shanghai.") % {"zone": name},
            code="invalid",
        )
    return name


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def time_zone_choices() -> list[str]:
    return sorted(_time_zones())


@dataclass(frozen=True)
class Schedule:
    time_zone: str = "Asia/Shanghai"
    # Monday … Sunday.
    weekly: tuple[Hours, ...] = ((),) * 7
    public_holidays: bool = True
    exceptions: Mapping[date, Hours] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.weekly) != 7 or not all(valid_hours(hours) for hours in self.weekly):
            raise ValueError("weekly: seven days of sorted, disjoint intervals")
        if not all(valid_hours(hours) for hours in self.exceptions.values()):
            raise ValueError("exceptions: sorted, disjoint intervals")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def works_weekly(self) -> bool:
        return any(self.weekly)

    def hours_on(self, day: date) -> Hours:
        if day in self.exceptions:
            return self.exceptions[day]
        if self.public_holidays:
            arrangement = public_day(day)
            if arrangement == "holiday":
                return ()
            if arrangement == "workday":
                return next((hours for hours in self.weekly if hours), ())
        return self.weekly[day.weekday()]

    def unknown_years(self, years: range) -> list[int]:
        """Years in `years` whose public holidays are not known (when they apply)."""
        if not self.public_holidays:
            return []
        known = published_years()
        return [year for year in years if year not in known]

    def _at(self, day: date, minute: int) -> datetime:
        local = datetime.combine(day, time(0), tzinfo=self.zone) + timedelta(minutes=minute)
        # wall-clock minutes of that day, then UTC (aware arithmetic in one zone is wall time)
        return local.astimezone(UTC)

    def intervals(
        self, start: datetime, *, days: int = HORIZON_DAYS
    ) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals (UTC) ending after `start`, in order, over `days` local days."""
        day = start.astimezone(self.zone).date()
        for offset in range(days + 1):
            current = day + timedelta(days=offset)
            for first, last in self.hours_on(current):
                begins, ends = self._at(current, first), self._at(current, last)
                if ends > start:
                    yield max(begins, start), ends

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of working time after `start` (UTC). Zero or less: `start`
        itself. Raises `NoWorkingTime` when the calendar has none within the horizon."""
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        start = start.astimezone(UTC)
        remaining = duration
        if remaining <= timedelta(0):
            return start
        for begins, ends in self.intervals(start):
            span = ends - begins
            if remaining <= span:
                return begins + remaining
            remaining -= span
        raise NoWorkingTime(f"no working time within {HORIZON_DAYS} days of {start:%Y-%m-%d}")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from `start` to `end` (nothing when `end` is not after `start`)."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be aware datetimes")
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return timedelta(0)
        days = (end.astimezone(self.zone).date() - start.astimezone(self.zone).date()).days
        total = timedelta(0)
        for begins, ends in self.intervals(start, days=days):
            if begins >= end:
                break
            total += min(ends, end) - begins
        return total

    def is_working(self, moment: datetime) -> bool:
        """Whether `moment` falls inside working time."""
        moment = moment.astimezone(UTC)
        for begins, _ends in self.intervals(moment, days=0):
            return begins <= moment
        return False
