"""`rapport survey list|send-nps|stats`: satisfaction surveys from the shell, as a user
(`--as`), through the same services and restrictions as the pages and the API."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, format_table
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.models import Action

from ... import satisfaction
from ...models import Survey, SurveyKind
from ...services import surveys as survey_services


def _figure(value, suffix: str = "") -> str:
    return "—" if value is None else f"{value:g}{suffix}"


class Command(CliCommand):
    help = gettext_lazy("Satisfaction surveys: list them, send NPS surveys now, CSAT and NPS.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{list,send-nps,stats}"
        )
        listing = commands.add_parser("list", help=gettext_lazy("Surveys you may see."))
        listing.add_argument("--kind", choices=SurveyKind.values)
        listing.add_argument(
            "--answered", choices=["yes", "no"], help=gettext_lazy("Only answered or unanswered.")
        )
        listing.add_argument("--ticket", type=int)
        listing.add_argument("--limit", type=int, default=50)
        add_actor_argument(listing)
        send = commands.add_parser(
            "send-nps", help=gettext_lazy("Send the NPS surveys that are due now.")
        )
        send.add_argument(
            "--days",
            type=int,
            help=gettext_lazy("Ask people not asked for this many days (default: the setting)."),
        )
        send.add_argument("--limit", type=int, default=survey_services.NPS_BATCH)
        add_actor_argument(send)
        stats = commands.add_parser("stats", help=gettext_lazy("CSAT %%, NPS and response rate."))
        stats.add_argument(
            "--period", choices=list(satisfaction.PERIODS), default=satisfaction.DEFAULT_PERIOD
        )
        add_actor_argument(stats)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        try:
            getattr(self, "do_" + options["subcommand"].replace("-", "_"))(actor, options)
        except PermissionDenied as error:
            raise CommandError(str(error.message)) from None

    def _require_view(self, actor) -> None:
        if not policy.has_grant(actor, Survey.security_type, Action.VIEW):
            raise PermissionDenied()

    def do_list(self, actor, options) -> None:
        self._require_view(actor)
        surveys = satisfaction.visible(actor).select_related("ticket", "contact")
        if options["kind"]:
            surveys = surveys.filter(kind=options["kind"])
        if options["answered"]:
            surveys = surveys.filter(answered_at__isnull=options["answered"] == "no")
        if options["ticket"]:
            surveys = surveys.filter(ticket_id=options["ticket"])
        limit = max(1, min(options["limit"], 1000))
        rows = [
            [
                survey.pk,
                survey.kind.upper(),
                survey.ticket.number if survey.ticket else "",
                survey.contact.name if survey.contact else "",
                survey.state,
                survey.get_not_sent_reason_display() if survey.not_sent_reason else "",
                survey.sent_at.strftime("%Y-%m-%d") if survey.sent_at else "",
                "" if survey.score is None else survey.score,
                survey.comment[:40],
            ]
            for survey in surveys.order_by("-id")[:limit]
        ]
        headers = [
            _("id"),
            _("type"),
            _("ticket"),
            _("contact"),
            _("state"),
            _("not sent because"),
            _("sent"),
            _("score"),
            _("comment"),
        ]
        self.stdout.write(format_table(headers, rows))

    def do_send_nps(self, actor, options) -> None:
        days = options["days"]
        if days is not None and not 1 <= days <= 3650:
            raise CommandError(_("days: Enter a whole number from 1 to 3650."))
        counts = survey_services.nps_send_due(actor=actor, limit=options["limit"], days=days)
        if days is None and survey_services.nps_interval_days() <= 0:
            self.stdout.write(
                _("NPS surveys are off (RAPPORT_NPS_INTERVAL_DAYS is 0); give --days to send now.")
            )
            return
        self.stdout.write(
            _("Sent: %(sent)d, not sent: %(not_sent)d, skipped: %(skipped)d.") % counts
        )

    def do_stats(self, actor, options) -> None:
        self._require_view(actor)
        surveys = satisfaction.visible(actor).filter(sent_at__isnull=False)
        start = satisfaction.since(options["period"])
        if start is not None:
            surveys = surveys.filter(sent_at__gte=start)
        figures = satisfaction.summary(surveys)
        rows = [
            [_("CSAT % (4–5)"), _figure(figures["csat_percent"], "%"), figures["csat_answers"]],
            [_("Average CSAT"), _figure(figures["csat_average"]), figures["csat_answers"]],
            [_("NPS"), _figure(figures["nps"]), figures["nps_answers"]],
            [_("Response rate"), _figure(figures["response_rate"], "%"), figures["sent"]],
        ]
        self.stdout.write(format_table([_("figure"), _("value"), _("of")], rows))
