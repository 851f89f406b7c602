"""`rapport forecast [--period quarter] [--start …] [--user …]`: the sales forecast rolled up
the manager hierarchy, as a user (`--as`) sees it."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from rapport.core.commands import CliCommand, ServiceCall, format_table
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.models import User

from ... import forecast as forecast_reads
from ...models import TargetPeriod


class Command(CliCommand):
    help = gettext_lazy(
        "The sales forecast of a period per person, rolled up the manager hierarchy."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", choices=TargetPeriod.values, default=TargetPeriod.QUARTER)
        parser.add_argument(
            "--start",
            metavar="YYYY-MM-DD",
            help=gettext_lazy("The period's first day (default: the current period)."),
        )
        parser.add_argument(
            "--user", metavar="USERNAME", help=gettext_lazy("Only this person and their people.")
        )
        parser.add_argument("--currency", help=gettext_lazy("Default: the sales currency."))
        add_actor_argument(parser)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        root_user = None
        if options["user"]:
            root_user = User.objects.filter(username__iexact=options["user"]).first()
            if root_user is None or not forecast_reads.visibility(actor).sees("user", root_user.pk):
                raise CommandError(
                    _("user: No one called “%(name)s” you may see.") % {"name": options["user"]}
                )
        with ServiceCall(actor):
            result = forecast_reads.forecast(
                viewer=actor, period=options["period"], start=options["start"], root_user=root_user
            )
        currency = (options["currency"] or result.currency).upper()
        rows = []
        for node in result.nodes():
            figures = node.in_currency(currency)
            rows.append(
                [
                    "  " * node.depth + node.name,
                    f"{figures.weighted:,.2f}",
                    f"{figures.commit:,.2f}",
                    f"{figures.best_case:,.2f}",
                    f"{figures.pipeline:,.2f}",
                    f"{figures.closed_won:,.2f}",
                    ", ".join(node.other_currencies(currency)),
                ]
            )
        total = result.totals.get(currency) or forecast_reads.Figures()
        rows.append(
            [
                _("Total"),
                f"{total.weighted:,.2f}",
                f"{total.commit:,.2f}",
                f"{total.best_case:,.2f}",
                f"{total.pipeline:,.2f}",
                f"{total.closed_won:,.2f}",
                ", ".join(code for code in sorted(result.totals) if code != currency),
            ]
        )
        self.stdout.write(
            _("%(start)s – %(end)s, %(currency)s")
            % {
                "start": result.start.isoformat(),
                "end": (result.end - dt.timedelta(days=1)).isoformat(),
                "currency": currency,
            }
        )
        self.stdout.write(
            format_table(
                [
                    _("person"),
                    _("weighted"),
                    pgettext("forecast category", "commit"),
                    _("best case"),
                    _("pipeline"),
                    _("closed won"),
                    _("also in"),
                ],
                rows,
            )
        )
