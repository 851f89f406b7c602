"""Forms of the business calendar pages. They shape input; the services validate."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from rapport.core.forms import TablerForm

from .calendars import format_hours
from .models import BusinessCalendar
from .services.calendars import WEEKDAY_LABELS, WEEKDAYS


class CalendarForm(TablerForm):
    """A calendar's name, zone, hours per weekday and switches; errors land beside the day."""

    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    name_en = forms.CharField(
        label=_("English name"),
        max_length=200,
        required=False,
        help_text=_("Optional; shown to people who use Rapport in English."),
    )
    time_zone = forms.CharField(
        label=_("Time zone"),
        max_length=60,
        initial="Asia/Shanghai",
        help_text=_("The zone the working hours are in, e.g. Asia/Shanghai."),
    )
    public_holidays = forms.BooleanField(
        label=_("China's public holidays and make-up workdays"),
        required=False,
        initial=True,
        help_text=_("Closed on public holidays; open on make-up workdays (调休上班)."),
    )
    is_default = forms.BooleanField(
        label=_("Default calendar"),
        required=False,
        help_text=_("SLA policies use the default calendar unless they name another."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, calendar: BusinessCalendar | None = None, **kwargs):
        self.calendar = calendar
        initial = dict(kwargs.pop("initial", {}) or {})
        if calendar is not None:
            initial.update(
                name=calendar.name,
                name_en=calendar.name_en,
                time_zone=calendar.time_zone,
                public_holidays=calendar.public_holidays,
                is_default=calendar.is_default,
                is_active=calendar.is_active,
            )
            for day, hours in zip(WEEKDAYS, calendar.weekly_hours, strict=True):
                initial[f"hours_{day}"] = format_hours(tuple(tuple(pair) for pair in hours))
        else:
            for day in WEEKDAYS[:5]:
                initial.setdefault(f"hours_{day}", "09:00-12:00, 13:00-18:00")
        super().__init__(*args, initial=initial, **kwargs)
        for day in WEEKDAYS:
            self.fields[f"hours_{day}"] = forms.CharField(
                label=WEEKDAY_LABELS[day], required=False, max_length=200
            )
            self.fields[f"hours_{day}"].widget.attrs["placeholder"] = _("Closed")
        if calendar is None:
            del self.fields["is_active"]
        self.style_widgets()

    @property
    def day_fields(self):
        return [self[f"hours_{day}"] for day in WEEKDAYS]

    def service_values(self) -> dict:
        values = {
            name: self.cleaned_data[name]
            for name in (
                "name",
                "name_en",
                "time_zone",
                "public_holidays",
                "is_default",
                "is_active",
            )
            if name in self.cleaned_data
        }
        values["weekly_hours"] = {day: self.cleaned_data[f"hours_{day}"] for day in WEEKDAYS}
        return values

    def add_service_error(self, error: Exception) -> None:
        if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                if name.startswith("weekly_hours."):
                    name = "hours_" + name.split(".", 1)[1]
                self.add_error(name if name in self.fields else None, errors)
            return
        super().add_service_error(error)


class CalendarDayForm(TablerForm):
    """One dated exception: closed (no hours) or open with its own hours."""

    day = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    hours = forms.CharField(
        label=_("Working hours"),
        required=False,
        max_length=200,
        help_text=_("Empty: closed that day. e.g. 09:00-12:00, 13:00-18:00"),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=300)
