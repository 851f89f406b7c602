"""The business calendar pages (administration): list, new, edit with dated exceptions and
the next weeks as the calendar counts them.

Every write goes through `rapport.service.services.calendars`, which checks the `manage`
grant on `service.calendar` again and audits the change.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.identity.models import Action
from rapport.identity.views._common import _admin_context, _call, _message_call, _require

from .calendar_forms import CalendarDayForm, CalendarForm
from .calendars import format_hours, public_holiday_name
from .models import BusinessCalendar
from .services import calendars as calendar_services

CALENDAR = BusinessCalendar.security_type
PREVIEW_DAYS = 21
# chinese-calendar's holiday names, in the reader's language.
HOLIDAY_NAMES = {
    "New Year's Day": gettext_lazy("New Year's Day"),
    "Spring Festival": gettext_lazy("Spring Festival"),
    "Tomb-sweeping Day": gettext_lazy("Tomb-sweeping Day"),
    "Labour Day": gettext_lazy("Labour Day"),
    "Dragon Boat Festival": gettext_lazy("Dragon Boat Festival"),
    "National Day": gettext_lazy("National Day"),
    "Mid-autumn Festival": gettext_lazy("Mid-autumn Festival"),
    "Anti-Fascist 70th Day": gettext_lazy("Anti-Fascist 70th Day"),
}


def _holiday_label(name: str | None) -> str:
    return str(HOLIDAY_NAMES.get(name or "", name or ""))


def _preview(calendar: BusinessCalendar) -> list[dict]:
    """The next weeks as the calendar counts them: each day's hours and why."""
    schedule = calendar.schedule()
    own = {row.day: row for row in calendar.days.all()}
    today = timezone.localdate()
    days = []
    for offset in range(PREVIEW_DAYS):
        day = today + timedelta(days=offset)
        hours = schedule.hours_on(day)
        reason = ""
        if day in own:
            reason = own[day].note or _("This calendar's own rule")
        elif calendar.public_holidays and public_holiday_name(day):
            label = _holiday_label(public_holiday_name(day))
            reason = (
                _("%(holiday)s (make-up workday)") % {"holiday": label}
                if hours and day.weekday() >= 5
                else label
            )
        days.append(
            {"day": day, "hours": format_hours(hours), "open": bool(hours), "reason": reason}
        )
    return days


def _unknown_years(calendar: BusinessCalendar) -> list[int]:
    year = timezone.localdate().year
    return calendar.schedule().unknown_years(range(year, year + 2))


@login_required
def calendar_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, CALENDAR, Action.MANAGE)
    calendars = list(BusinessCalendar.objects.prefetch_related("days"))
    rows = [
        {
            "calendar": calendar,
            "week": [
                {
                    "label": calendar_services.WEEKDAY_LABELS[day],
                    "hours": format_hours(tuple(tuple(pair) for pair in hours)),
                }
                for day, hours in zip(
                    calendar_services.WEEKDAYS, calendar.weekly_hours, strict=True
                )
            ],
            "exceptions": len(calendar.days.all()),
            "unknown_years": _unknown_years(calendar),
        }
        for calendar in calendars
    ]
    return render(
        request,
        "service/calendars/calendar_list.html",
        {**_admin_context(request, "calendars"), "rows": rows},
    )


@login_required
def calendar_create(request: HttpRequest) -> HttpResponse:
    _require(request.user, CALENDAR, Action.MANAGE)
    form = CalendarForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        calendar = _call(
            form,
            calendar_services.calendar_create,
            actor=request.user,
            **form.service_values(),
        )
        if calendar:
            messages.success(request, _("“%(name)s” added.") % {"name": calendar.display_name})
            return redirect("service:calendar_edit", pk=calendar.pk)
    return render(
        request,
        "service/calendars/calendar_form.html",
        {**_admin_context(request, "calendars"), "form": form, "calendar": None},
    )


@login_required
def calendar_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, CALENDAR, Action.MANAGE)
    calendar = get_object_or_404(BusinessCalendar.objects.prefetch_related("days"), pk=pk)
    form = CalendarForm(request.POST or None, calendar=calendar)
    saved = (
        request.method == "POST"
        and form.is_valid()
        and _call(
            form,
            calendar_services.calendar_update,
            actor=request.user,
            calendar=calendar,
            **form.service_values(),
        )
    )
    if saved:
        messages.success(request, _("Saved."))
        return redirect("service:calendar_edit", pk=calendar.pk)
    return _edit_page(request, calendar, form=form, day_form=CalendarDayForm())


def _edit_page(request, calendar, *, form, day_form, status: int = 200) -> HttpResponse:
    calendar = BusinessCalendar.objects.prefetch_related("days").get(pk=calendar.pk)
    return render(
        request,
        "service/calendars/calendar_form.html",
        {
            **_admin_context(request, "calendars"),
            "calendar": calendar,
            "form": form,
            "day_form": day_form,
            "days": [
                {"row": row, "hours": format_hours(tuple(tuple(pair) for pair in row.hours))}
                for row in calendar.days.all()
            ],
            "preview": _preview(calendar),
            "unknown_years": _unknown_years(calendar),
        },
        status=status,
    )


@login_required
@require_POST
def calendar_day_set(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, CALENDAR, Action.MANAGE)
    calendar = get_object_or_404(BusinessCalendar, pk=pk)
    day_form = CalendarDayForm(request.POST)
    if day_form.is_valid():
        saved = _call(
            day_form,
            calendar_services.calendar_day_set,
            actor=request.user,
            calendar=calendar,
            **day_form.cleaned_data,
        )
        if saved:
            messages.success(request, _("Saved."))
            return redirect("service:calendar_edit", pk=calendar.pk)
    return _edit_page(
        request, calendar, form=CalendarForm(calendar=calendar), day_form=day_form, status=400
    )


@login_required
@require_POST
def calendar_day_remove(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, CALENDAR, Action.MANAGE)
    calendar = get_object_or_404(BusinessCalendar, pk=pk)
    try:
        day = parse_date(request.POST.get("day", "") or "")
    except ValueError:
        day = None
    if day is None:
        messages.error(request, _("Enter a date."))
        return redirect("service:calendar_edit", pk=calendar.pk)
    _message_call(
        request,
        calendar_services.calendar_day_remove,
        actor=request.user,
        calendar=calendar,
        day=day,
    )
    return redirect("service:calendar_edit", pk=calendar.pk)
