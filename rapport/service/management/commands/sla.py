"""`rapport sla list|sweep`: the SLA policies in the order they are tried, and the sweep that
reports warnings and breaches (beat runs it every minute; this runs it now)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, format_table

from ... import sla
from ...models import SlaPolicy


class Command(CliCommand):
    help = gettext_lazy("SLA policies: list them; run the warning and breach sweep now.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="{list,sweep}")
        commands.add_parser("list", help=gettext_lazy("The policies, in the order they are tried."))
        commands.add_parser("sweep", help=gettext_lazy("Report the warnings and breaches due now."))

    def handle(self, *args, **options):
        if options["subcommand"] == "list":
            rows = [
                [
                    policy.position,
                    policy.display_name,
                    ", ".join(policy.priorities) or "*",
                    ", ".join(policy.kinds) or "*",
                    ", ".join(policy.tiers) or "*",
                    policy.first_response_minutes,
                    policy.resolution_minutes,
                    _("yes") if policy.is_active else _("no"),
                ]
                for policy in SlaPolicy.objects.order_by("position", "id")
            ]
            headers = [
                _("order"),
                _("name"),
                _("priorities"),
                _("types"),
                _("customer tiers"),
                _("first response (min)"),
                _("resolution (min)"),
                _("active"),
            ]
            self.stdout.write(format_table(headers, rows))
            return
        counts = sla.sweep()
        self.stdout.write(
            _("Warnings: %(warnings)d, breaches: %(breaches)d.")
            % {
                "warnings": counts["first_response_warning"] + counts["resolution_warning"],
                "breaches": counts["first_response_breach"] + counts["resolution_breach"],
            }
        )
