"""Every write to business calendars and their dated exceptions.

Needs the `manage` grant on `service.calendar`; each change is validated as a whole (one
ValidationError naming every bad field, nothing stored) and audited in the same transaction.
A calendar always has working hours on some weekday; exactly one calendar is the default
(the one SLA policies use unless they name another), and it cannot be retired.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core import trail
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.models import Action, User

from ..calendars import Hours, check_time_zone, format_hours, parse_hours, valid_hours
from ..models import BusinessCalendar, CalendarDay

FIELDS = (
    "name",
    "name_en",
    "time_zone",
    "weekly_hours",
    "public_holidays",
    "is_default",
    "is_active",
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_LABELS = {
    "mon": gettext_lazy("Monday"),
    "tue": gettext_lazy("Tuesday"),
    "wed": gettext_lazy("Wednesday"),
    "thu": gettext_lazy("Thursday"),
    "fri": gettext_lazy("Friday"),
    "sat": gettext_lazy("Saturday"),
    "sun": gettext_lazy("Sunday"),
}
OFFICE_HOURS: Hours = ((9 * 60, 12 * 60), (13 * 60, 18 * 60))
DEFAULT_WEEK = [[list(pair) for pair in OFFICE_HOURS]] * 5 + [[], []]
_UNCHANGED: Any = object()


def require_manage(actor: User) -> None:
    if not policy.has_grant(actor, BusinessCalendar.security_type, Action.MANAGE):
        raise PermissionDenied(
            _("You may not configure business calendars."), code="calendar_manage_denied"
        )


def hours_of(value: Any) -> Hours:
    """Working intervals from text ("09:00-12:00, 13:30-18:00") or [[start, end], …] minutes."""
    if isinstance(value, str):
        return parse_hours(value)
    try:
        hours = tuple((int(start), int(end)) for start, end in value or ())
    except (TypeError, ValueError):
        raise ValidationError(_("Enter time ranges such as 09:00-12:00."), code="invalid") from None
    if not valid_hours(hours):
        raise ValidationError(
            _("“%(hours)s” are not sorted, separate time ranges within a day.")
            % {"hours": format_hours(tuple(sorted(hours)))},
            code="invalid",
        )
    return hours


def weekly_of(value: Any) -> list[Hours]:
    """Seven days of hours from {"mon": …, …} (a missing day is closed) or a list of seven.
    Errors are keyed `weekly_hours.<day>`."""
    if isinstance(value, dict):
        unknown = set(value) - set(WEEKDAYS)
        if unknown:
            raise ValidationError(
                {
                    "weekly_hours": ValidationError(
                        _("Unknown day “%(day)s”: use mon … sun.") % {"day": sorted(unknown)[0]},
                        code="invalid",
                    )
                }
            )
        days = [value.get(day, "") for day in WEEKDAYS]
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 7:
        days = list(value)
    else:
        raise ValidationError(
            {
                "weekly_hours": ValidationError(
                    _("Give the hours of each day, Monday to Sunday."), code="invalid"
                )
            }
        )
    weekly, errors = [], {}
    for day, hours in zip(WEEKDAYS, days, strict=True):
        try:
            weekly.append(hours_of(hours))
        except ValidationError as error:
            errors[f"weekly_hours.{day}"] = error.error_list
    if errors:
        raise ValidationError(errors)
    if not any(weekly):
        raise ValidationError(
            {
                "weekly_hours": ValidationError(
                    _("A calendar needs working hours on at least one day of the week."),
                    code="no_hours",
                )
            }
        )
    return weekly


def _clean(calendar: BusinessCalendar | None, values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[ValidationError]] = {}

    def fail(name: str, error: ValidationError) -> None:
        errors.setdefault(name, []).extend(error.error_list)

    cleaned: dict[str, Any] = {}
    if "name" in values:
        name = " ".join(str(values["name"] or "").split())
        if not name:
            fail("name", ValidationError(_("Enter a name."), code="required"))
        elif len(name) > 100:
            fail(
                "name",
                ValidationError(_("At most %(n)d characters.") % {"n": 100}, code="max_length"),
            )
        elif (
            BusinessCalendar.objects.filter(name=name)
            .exclude(pk=calendar.pk if calendar else None)
            .exists()
        ):
            fail(
                "name",
                ValidationError(_("Another calendar already has this name."), code="duplicate"),
            )
        cleaned["name"] = name
    if "name_en" in values:
        name_en = " ".join(str(values["name_en"] or "").split())
        if len(name_en) > 100:
            fail(
                "name_en",
                ValidationError(_("At most %(n)d characters.") % {"n": 100}, code="max_length"),
            )
        cleaned["name_en"] = name_en
    if "time_zone" in values:
        try:
            cleaned["time_zone"] = check_time_zone(str(values["time_zone"] or "").strip())
        except ValidationError as error:
            fail("time_zone", error)
    if "weekly_hours" in values:
        try:
            weekly = weekly_of(values["weekly_hours"])
            cleaned["weekly_hours"] = [[list(pair) for pair in hours] for hours in weekly]
        except ValidationError as error:
            for name, found in error.error_dict.items():
                errors.setdefault(name, []).extend(found)
    for flag in ("public_holidays", "is_default", "is_active"):
        if flag in values:
            cleaned[flag] = bool(values[flag])
    current_default = calendar is not None and calendar.is_default
    if current_default and cleaned.get("is_default") is False:
        fail(
            "is_default",
            ValidationError(
                _("Make another calendar the default instead."), code="default_required"
            ),
        )
    if cleaned.get("is_active") is False and (current_default or cleaned.get("is_default")):
        fail(
            "is_active",
            ValidationError(_("The default calendar cannot be retired."), code="default_active"),
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def _make_default(calendar: BusinessCalendar) -> None:
    BusinessCalendar.objects.filter(is_default=True).exclude(pk=calendar.pk).update(
        is_default=False
    )


def calendar_create(
    *,
    actor: User,
    name: str,
    weekly_hours: Any,
    name_en: str = "",
    time_zone: str = "Asia/Shanghai",
    public_holidays: bool = True,
    is_default: bool = False,
) -> BusinessCalendar:
    """A new calendar; the first one, or one created as default, becomes the default."""
    require_manage(actor)
    cleaned = _clean(
        None,
        {
            "name": name,
            "name_en": name_en,
            "time_zone": time_zone,
            "weekly_hours": weekly_hours,
            "public_holidays": public_holidays,
            "is_default": is_default,
        },
    )
    with transaction.atomic():
        if not BusinessCalendar.objects.filter(is_default=True).exists():
            cleaned["is_default"] = True
        calendar = BusinessCalendar(**cleaned)
        if calendar.is_default:
            _make_default(calendar)
        calendar.save()
        trail.record(
            actor=actor,
            action="create",
            target=calendar,
            changes=trail.diff({}, trail.snapshot(calendar, FIELDS)),
        )
    return calendar


def calendar_update(
    *,
    actor: User,
    calendar: BusinessCalendar,
    name: str = _UNCHANGED,
    name_en: str = _UNCHANGED,
    time_zone: str = _UNCHANGED,
    weekly_hours: Any = _UNCHANGED,
    public_holidays: bool = _UNCHANGED,
    is_default: bool = _UNCHANGED,
    is_active: bool = _UNCHANGED,
) -> BusinessCalendar:
    """Change what is given; making a calendar the default takes it from the previous one."""
    require_manage(actor)
    given = {
        key: value
        for key, value in {
            "name": name,
            "name_en": name_en,
            "time_zone": time_zone,
            "weekly_hours": weekly_hours,
            "public_holidays": public_holidays,
            "is_default": is_default,
            "is_active": is_active,
        }.items()
        if value is not _UNCHANGED
    }
    with transaction.atomic():
        calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
        cleaned = _clean(calendar, given)
        before = trail.snapshot(calendar, FIELDS)
        for key, value in cleaned.items():
            setattr(calendar, key, value)
        changes = trail.diff(before, trail.snapshot(calendar, FIELDS))
        if not changes:
            return calendar
        if calendar.is_default:
            _make_default(calendar)
        calendar.save()
        trail.record(actor=actor, action="update", target=calendar, changes=changes)
    return calendar


def calendar_day_set(
    *, actor: User, calendar: BusinessCalendar, day: date, hours: Any = "", note: str = ""
) -> CalendarDay:
    """The calendar's own rule for `day`: closed (no hours) or open with `hours`; replaces
    an earlier rule for that date."""
    require_manage(actor)
    errors: dict[str, list[ValidationError]] = {}
    if not isinstance(day, date):
        errors["day"] = [ValidationError(_("Enter a date."), code="required")]
    try:
        parsed = hours_of(hours)
    except ValidationError as error:
        errors["hours"] = error.error_list
    note = " ".join(str(note or "").split())
    if len(note) > 200:
        errors["note"] = [
            ValidationError(_("At most %(n)d characters.") % {"n": 200}, code="max_length")
        ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        existing = CalendarDay.objects.filter(calendar=calendar, day=day).first()
        before = (
            {"hours": format_hours(tuple(tuple(p) for p in existing.hours)), "note": existing.note}
            if existing
            else {}
        )
        row, _created = CalendarDay.objects.update_or_create(
            calendar=calendar,
            day=day,
            defaults={"hours": [list(pair) for pair in parsed], "note": note},
        )
        after = {"hours": format_hours(parsed), "note": note}
        changes = trail.diff(before, after)
        if changes:
            trail.record(
                actor=actor,
                action="calendar.day_set",
                target=calendar,
                changes={f"{day.isoformat()}.{key}": value for key, value in changes.items()},
            )
    return row


def calendar_day_remove(*, actor: User, calendar: BusinessCalendar, day: date) -> bool:
    """Drop the calendar's own rule for `day` (its weekly hours and China's arrangement apply
    again); False when there was none."""
    require_manage(actor)
    with transaction.atomic():
        existing = CalendarDay.objects.filter(calendar=calendar, day=day).first()
        if existing is None:
            return False
        before = format_hours(tuple(tuple(p) for p in existing.hours))
        existing.delete()
        trail.record(
            actor=actor,
            action="calendar.day_remove",
            target=calendar,
            changes={f"{day.isoformat()}.hours": [before, None]},
        )
    return True


def ensure_default(sender=None, using: str = "default", **kwargs) -> bool:
    """After `migrate`: a default calendar (standard office hours, Monday to Friday, China's
    public holidays) when there is none at all. Returns whether one was created."""
    if BusinessCalendar.objects.using(using).exists():
        return False
    BusinessCalendar.objects.using(using).create(
        name="标准工作时间",
        name_en="Standard office hours",
        time_zone="Asia/Shanghai",
        weekly_hours=DEFAULT_WEEK,
        public_holidays=True,
        is_default=True,
    )
    return True
