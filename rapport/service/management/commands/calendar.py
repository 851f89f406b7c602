"""`rapport calendar list|show|day|undo-day|due`: business calendars from the shell."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, format_table
from rapport.core.errors import PermissionDenied
from rapport.identity.commands import add_actor_argument, resolve_actor

from ...calendars import NoWorkingTime, format_hours
from ...models import BusinessCalendar
from ...services import calendars as calendar_services


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(
            _("date: “%(value)s” is not a date (YYYY-MM-DD).") % {"value": text}
        ) from None


def _refusal(error: ValidationError) -> CommandError:
    lines = []
    for name, messages in getattr(error, "message_dict", {"": error.messages}).items():
        lines.extend(f"{name}: {message}" if name else message for message in messages)
    return CommandError("\n".join(lines))


class Command(CliCommand):
    help = gettext_lazy(
        "Business calendars: list them, show one's week and next days, set or remove a date, "
        "compute when working time runs out."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{list,show,day,undo-day,due}"
        )
        commands.add_parser("list", help=gettext_lazy("Every calendar."))
        show = commands.add_parser(
            "show", help=gettext_lazy("A calendar's hours, own dates and the next days.")
        )
        show.add_argument("calendar", help=gettext_lazy("Name or id."))
        show.add_argument("--days", type=int, default=14)
        day = commands.add_parser(
            "day", help=gettext_lazy("Give a date its own hours, or close it (no --hours).")
        )
        day.add_argument("calendar", help=gettext_lazy("Name or id."))
        day.add_argument("date", help="YYYY-MM-DD")
        day.add_argument("--hours", default="", help=gettext_lazy("e.g. 09:00-12:00, 13:00-18:00"))
        day.add_argument("--note", default="")
        add_actor_argument(day)
        undo = commands.add_parser("undo-day", help=gettext_lazy("Remove a date's own rule."))
        undo.add_argument("calendar", help=gettext_lazy("Name or id."))
        undo.add_argument("date", help="YYYY-MM-DD")
        add_actor_argument(undo)
        due = commands.add_parser(
            "due", help=gettext_lazy("When MINUTES of working time after START run out.")
        )
        due.add_argument("calendar", help=gettext_lazy("Name or id."))
        due.add_argument("minutes", type=int)
        due.add_argument(
            "--start", help=gettext_lazy("ISO date and time (default: now), e.g. 2026-09-30T17:00")
        )

    def handle(self, *args, **options):
        getattr(self, "do_" + options["subcommand"].replace("-", "_"))(options)

    def _calendar(self, given: str) -> BusinessCalendar:
        calendars = BusinessCalendar.objects.prefetch_related("days")
        found = calendars.filter(name=given).first()
        if found is None and given.isdigit():
            found = calendars.filter(pk=int(given)).first()
        if found is None:
            raise CommandError(_("calendar: No calendar “%(name)s”.") % {"name": given})
        return found

    def do_list(self, options) -> None:
        rows = [
            [
                calendar.pk,
                calendar.display_name,
                calendar.time_zone,
                _("yes") if calendar.public_holidays else _("no"),
                _("yes") if calendar.is_default else "",
                _("yes") if calendar.is_active else _("no"),
            ]
            for calendar in BusinessCalendar.objects.all()
        ]
        headers = [
            _("id"),
            _("name"),
            _("time zone"),
            _("public holidays"),
            _("default"),
            _("active"),
        ]
        self.stdout.write(format_table(headers, rows))

    def do_show(self, options) -> None:
        calendar = self._calendar(options["calendar"])
        schedule = calendar.schedule()
        self.stdout.write(f"{calendar.display_name} ({calendar.time_zone})")
        for day, hours in zip(calendar_services.WEEKDAYS, calendar.weekly_hours, strict=True):
            text = format_hours(tuple(tuple(pair) for pair in hours)) or _("Closed")
            self.stdout.write(f"  {calendar_services.WEEKDAY_LABELS[day]}: {text}")
        for row in calendar.days.all():
            text = format_hours(tuple(tuple(pair) for pair in row.hours)) or _("Closed")
            self.stdout.write(f"  {row.day.isoformat()}: {text} {row.note}".rstrip())
        today = timezone.localdate()
        rows = []
        for offset in range(max(0, min(options["days"], 366))):
            day = today + timedelta(days=offset)
            rows.append([day.isoformat(), format_hours(schedule.hours_on(day)) or _("Closed")])
        self.stdout.write(format_table([_("date"), _("working hours")], rows))
        year = today.year
        unknown = schedule.unknown_years(range(year, year + 2))
        if unknown:
            self.stdout.write(
                _("Public holidays of %(years)s not published yet: add them as own dates.")
                % {"years": ", ".join(map(str, unknown))}
            )

    def do_day(self, options) -> None:
        calendar = self._calendar(options["calendar"])
        actor = resolve_actor(options["acting_as"])
        try:
            calendar_services.calendar_day_set(
                actor=actor,
                calendar=calendar,
                day=_date(options["date"]),
                hours=options["hours"],
                note=options["note"],
            )
        except ValidationError as error:
            raise _refusal(error) from None
        except PermissionDenied as error:
            raise CommandError(str(error.message)) from None
        self.stdout.write(_("Saved."))

    def do_undo_day(self, options) -> None:
        calendar = self._calendar(options["calendar"])
        actor = resolve_actor(options["acting_as"])
        try:
            removed = calendar_services.calendar_day_remove(
                actor=actor, calendar=calendar, day=_date(options["date"])
            )
        except PermissionDenied as error:
            raise CommandError(str(error.message)) from None
        if not removed:
            raise CommandError(_("date: This calendar has no own rule for that date."))
        self.stdout.write(_("Removed."))

    def do_due(self, options) -> None:
        calendar = self._calendar(options["calendar"])
        start = timezone.now()
        if options["start"]:
            try:
                start = datetime.fromisoformat(options["start"])
            except ValueError:
                raise CommandError(
                    _("start: “%(value)s” is not a date and time.") % {"value": options["start"]}
                ) from None
            if timezone.is_naive(start):
                start = timezone.make_aware(start, calendar.schedule().zone)
        if options["minutes"] < 0:
            raise CommandError(_("minutes: Enter a whole number of minutes from 0 to 527040."))
        try:
            due = calendar.schedule().add(start, timedelta(minutes=options["minutes"]))
        except NoWorkingTime:
            raise CommandError(_("This calendar has no working time within a year.")) from None
        self.stdout.write(due.astimezone(calendar.schedule().zone).isoformat())
