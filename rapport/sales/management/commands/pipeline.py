"""`rapport pipeline list`: the pipelines with their stages (probability, won/lost, the
fields required to enter each), as a user (`--as`)."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, format_table
from rapport.identity import policy
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.models import Action

from ...models import Opportunity, Pipeline


class Command(CliCommand):
    help = gettext_lazy("Pipelines and their stages.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="{list}")
        listing = commands.add_parser("list", help=gettext_lazy("Pipelines and their stages."))
        add_actor_argument(listing)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
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
