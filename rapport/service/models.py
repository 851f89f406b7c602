"""Customer service records. Business calendars first (issue 8, docs/service-plan.md)."""

from __future__ import annotations

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from rapport.core.models import TimeStampedModel

from .calendars import Schedule


class BusinessCalendar(TimeStampedModel):
    """When a team works: hours per weekday in a time zone, China's public holidays and
    make-up workdays (switchable), and dated exceptions (`CalendarDay`). SLA targets are
    measured on one of these."""

    security_type = "service.calendar"

    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=60, default="Asia/Shanghai")
    # Seven lists (Monday … Sunday) of [start, end] minutes since midnight.
    weekly_hours = models.JSONField(_("working hours"), default=list)
    public_holidays = models.BooleanField(
        _("China's public holidays and make-up workdays"), default=True
    )
    is_default = models.BooleanField(_("default"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["-is_default", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="service_calendar_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        language = translation.get_language() or ""
        if language.startswith("en") and self.name_en:
            return self.name_en
        return self.name or self.name_en

    def schedule(self) -> Schedule:
        """The calendar's rules for the arithmetic, its dated exceptions included (prefetch
        `days` to read many calendars in one query)."""
        return Schedule(
            time_zone=self.time_zone,
            weekly=tuple(tuple(tuple(pair) for pair in day) for day in self.weekly_hours),
            public_holidays=self.public_holidays,
            exceptions={
                exception.day: tuple(tuple(pair) for pair in exception.hours)
                for exception in self.days.all()
            },
        )


class CalendarDay(models.Model):
    """A date the calendar treats its own way: closed (no hours) or open with its hours — a
    company holiday, a day the team works a weekend, an arrangement not yet published."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="days")
    day = models.DateField(_("date"))
    hours = models.JSONField(_("working hours"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "day"], name="service_calendar_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.calendar_id} {self.day}"
