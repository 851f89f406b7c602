"""`rapport target list|set|delete|import|attainment`: sales targets from the shell, as a user
(`--as`), through the same services and restrictions as the pages and the API."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, ServiceCall, format_table
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.models import Department, Team, User

from ... import forecast as forecast_reads
from ...models import TargetMetric, TargetPeriod
from ...services import targets as target_services


def _holder_arguments(parser, *, required: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--user", metavar="USERNAME", help=gettext_lazy("A person."))
    group.add_argument("--team", metavar="NAME", help=gettext_lazy("A team."))
    group.add_argument("--department", metavar="CODE", help=gettext_lazy("A department."))


def _period_arguments(parser) -> None:
    parser.add_argument("--period", choices=TargetPeriod.values, default=TargetPeriod.MONTH)
    parser.add_argument(
        "--start",
        metavar="YYYY-MM-DD",
        help=gettext_lazy("The period's first day (default: the current period)."),
    )


def holder_from(options) -> tuple[str, object] | None:
    for kind, model, key in (
        ("user", User, "username__iexact"),
        ("team", Team, "name"),
        ("department", Department, "code"),
    ):
        name = options.get(kind)
        if name:
            holder = model.objects.filter(**{key: name}).first()
            if holder is None:
                raise CommandError(_("%(field)s: No “%(name)s”.") % {"field": kind, "name": name})
            return kind, holder
    return None


class Command(CliCommand):
    help = gettext_lazy("Sales targets: list, set, delete, import; attainment against them.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{list,set,delete,import,attainment}"
        )
        listing = commands.add_parser("list", help=gettext_lazy("Targets you may see."))
        _period_arguments(listing)
        _holder_arguments(listing, required=False)
        add_actor_argument(listing)
        setting = commands.add_parser(
            "set", help=gettext_lazy("Set a target (created, or changed if there is one).")
        )
        _period_arguments(setting)
        _holder_arguments(setting, required=True)
        setting.add_argument("amount")
        setting.add_argument(
            "--metric", choices=TargetMetric.values, default=TargetMetric.WON_AMOUNT
        )
        setting.add_argument("--currency")
        add_actor_argument(setting)
        deleting = commands.add_parser("delete", help=gettext_lazy("Remove a target."))
        deleting.add_argument("target", type=int)
        add_actor_argument(deleting)
        importing = commands.add_parser(
            "import",
            help=gettext_lazy(
                "Targets from a CSV file: period, period_start, metric, holder_type, holder, "
                "amount[, currency]. All or nothing."
            ),
        )
        importing.add_argument("file", help=gettext_lazy("A CSV file, or - for stdin."))
        add_actor_argument(importing)
        attained = commands.add_parser(
            "attainment", help=gettext_lazy("Actual against target in a period.")
        )
        _period_arguments(attained)
        _holder_arguments(attained, required=False)
        add_actor_argument(attained)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        with ServiceCall(actor):
            getattr(self, "do_" + options["subcommand"])(actor, options)

    def do_list(self, actor, options) -> None:
        period, start = forecast_reads.parse_period(options["period"], options["start"])
        targets = (
            forecast_reads.targets_for(actor)
            .filter(period=period, period_start=start)
            .select_related("user", "team", "department")
            .order_by("metric", "id")
        )
        holder = holder_from(options)
        if holder is not None:
            targets = targets.filter(**{holder[0]: holder[1]})
        rows = [
            [
                target.pk,
                str(target.user or target.team or target.department),
                target.get_metric_display(),
                f"{target.amount:,.2f}",
                target.currency,
            ]
            for target in targets
        ]
        self.stdout.write(
            format_table([_("id"), _("holder"), _("measure"), _("target"), _("currency")], rows)
        )

    def do_set(self, actor, options) -> None:
        kind, holder = holder_from(options)
        target = target_services.target_set(
            actor=actor,
            period=options["period"],
            period_start=options["start"] or "",
            metric=options["metric"],
            amount=options["amount"],
            currency=options["currency"],
            **{kind: holder},
        )
        self.stdout.write(
            _("Target #%(id)s: %(holder)s, %(metric)s %(amount)s %(currency)s.")
            % {
                "id": target.pk,
                "holder": holder,
                "metric": target.get_metric_display(),
                "amount": f"{target.amount:,.2f}",
                "currency": target.currency,
            }
        )

    def do_delete(self, actor, options) -> None:
        target = forecast_reads.targets_for(actor).filter(pk=options["target"]).first()
        if target is None:
            raise CommandError(
                _("target: No target #%(id)s you may see.") % {"id": options["target"]}
            )
        target_services.target_delete(actor=actor, target=target)
        self.stdout.write(_("Target #%(id)s removed.") % {"id": options["target"]})

    def do_import(self, actor, options) -> None:
        name = options["file"]
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"{name}: {error}") from None
        stored = target_services.targets_import(actor=actor, rows=text)
        self.stdout.write(_("%(count)d targets set.") % {"count": len(stored)})

    def do_attainment(self, actor, options) -> None:
        holder = holder_from(options)
        rows = forecast_reads.attainment(
            viewer=actor,
            period=options["period"],
            start=options["start"],
            holders=[(holder[0], holder[1].pk)] if holder else None,
        )
        table = []
        for row in rows:
            for metric in row.metrics.values():
                if metric.target is None and not metric.actual:
                    continue
                table.append(
                    [
                        row.name,
                        metric.label,
                        "" if metric.target is None else f"{metric.target:,.2f}",
                        f"{metric.actual:,.2f}",
                        "" if metric.percent is None else f"{metric.percent}%",
                        metric.currency,
                    ]
                )
        self.stdout.write(
            format_table(
                [_("holder"), _("measure"), _("target"), _("actual"), _("attained"), _("currency")],
                table,
            )
        )
