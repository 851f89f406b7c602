"""`rapport pipeline list`: the pipelines with their stages (probability, won/lost, the
fields required to enter each); `rapport pipeline report`: the pipeline report of a period
(open deals per stage, wins and losses, how far new deals got) — as a user (`--as`)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, ServiceCall, format_table
from rapport.identity import policy
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.models import Action

from ... import pipeline_report
from ...models import Opportunity, Pipeline, TargetPeriod


class Command(CliCommand):
    help = gettext_lazy("Pipelines and their stages.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="{list,report}")
        listing = commands.add_parser("list", help=gettext_lazy("Pipelines and their stages."))
        add_actor_argument(listing)
        report = commands.add_parser(
            "report",
            help=gettext_lazy("The pipeline report of a period: stages, wins, losses, funnel."),
        )
        report.add_argument(
            "--pipeline", type=int, metavar="ID", help=gettext_lazy("Default: the default one.")
        )
        report.add_argument("--period", choices=TargetPeriod.values, default=TargetPeriod.QUARTER)
        report.add_argument(
            "--start",
            metavar="YYYY-MM-DD",
            help=gettext_lazy("The period's first day (default: the current period)."),
        )
        report.add_argument("--currency", help=gettext_lazy("Default: the sales currency."))
        add_actor_argument(report)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        if options["subcommand"] == "report":
            return self.report(actor, options)
        if not (
            policy.has_grant(actor, Opportunity.security_type, Action.VIEW)
            or policy.has_grant(actor, Pipeline.security_type, Action.MANAGE)
        ):
            raise CommandError(_("You do not have permission to do this."))
        rows = []
        for pipeline in Pipeline.objects.prefetch_related("stages").order_by("position", "id"):
            for stage in pipeline.stages.all():
                kind = _("won") if stage.is_won else _("lost") if stage.is_lost else ""
                rows.append(
                    (
                        pipeline.pk,
                        pipeline.display_name + (" *" if pipeline.is_default else ""),
                        stage.pk,
                        stage.display_name,
                        f"{stage.probability}%",
                        kind,
                        ", ".join(stage.required_fields or []),
                        "" if stage.is_active else _("inactive"),
                    )
                )
        self.stdout.write(
            format_table(
                [
                    _("Pipeline"),
                    _("Name"),
                    _("Stage"),
                    _("Name"),
                    _("Probability"),
                    _("Closes"),
                    _("Required fields"),
                    "",
                ],
                rows,
            )
        )

    def report(self, actor, options) -> None:
        if not policy.has_grant(actor, Opportunity.security_type, Action.VIEW):
            raise CommandError(_("You do not have permission to do this."))
        pipelines = Pipeline.objects.filter(is_active=True)
        pipeline = (
            pipelines.filter(pk=options["pipeline"]).first()
            if options["pipeline"]
            else pipelines.order_by("-is_default", "position", "id").first()
        )
        if pipeline is None:
            raise CommandError(_("pipeline: No such pipeline."))
        with ServiceCall(actor):
            try:
                result = pipeline_report.pipeline_report(
                    actor,
                    pipeline,
                    period=options["period"],
                    start=options["start"],
                    currency=options["currency"],
                )
            except ValidationError as error:
                raise CommandError(
                    "; ".join(
                        f"{name}: {' '.join(message for message in messages)}"
                        for name, messages in error.message_dict.items()
                    )
                ) from None
        self.stdout.write(
            _("%(pipeline)s, %(start)s – %(end)s, %(currency)s")
            % {
                "pipeline": pipeline.display_name,
                "start": result.start.isoformat(),
                "end": (result.end - dt.timedelta(days=1)).isoformat(),
                "currency": result.currency,
            }
        )
        self.stdout.write(
            format_table(
                [
                    _("Stage"),
                    _("Deals"),
                    _("Amount"),
                    _("Weighted"),
                    _("Days in stage"),
                    _("Stalled"),
                ],
                [
                    (
                        row.stage.display_name,
                        row.count,
                        f"{row.amount:,.2f}",
                        f"{row.weighted:,.2f}",
                        "" if row.average_days is None else row.average_days,
                        row.stalled,
                    )
                    for row in result.stages
                ],
            )
        )
        win_rate = "—" if result.win_rate is None else f"{result.win_rate}%"
        self.stdout.write(
            _(
                "Won: %(won)d (%(won_amount)s) · lost: %(lost)d (%(lost_amount)s) · win rate: %(rate)s"
            )
            % {
                "won": result.won_count,
                "won_amount": f"{result.won_amount:,.2f}",
                "lost": result.lost_count,
                "lost_amount": f"{result.lost_amount:,.2f}",
                "rate": win_rate,
            }
        )
        self.stdout.write(
            format_table(
                [_("Stage"), _("Entered"), _("Went on")],
                [
                    (
                        row.stage.display_name,
                        row.entered,
                        "" if row.conversion is None else f"{row.conversion}%",
                    )
                    for row in result.funnel
                ],
            )
        )
        if result.other_currencies:
            self.stdout.write(
                _("Not counted, in other currencies: %(list)s")
                % {
                    "list": ", ".join(
                        f"{code} {n}" for code, n in sorted(result.other_currencies.items())
                    )
                }
            )
