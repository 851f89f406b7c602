"""`rapport queue list|set|distribute|away|back`: service queues and agents from the shell, as
a user (`--as`), through the assignment services (grants, validation, audit)."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from rapport.core.commands import CliCommand, format_table
from rapport.core.errors import PermissionDenied
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.models import Team

from ... import assignment
from ...models import AutoAssign
from ...services import assignment as assignment_services
from .ticket import _refusal


class Command(CliCommand):
    help = gettext_lazy(
        "Service queues: list them with their agents, set how they assign, hand out waiting "
        "tickets; mark yourself away or back."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{list,set,distribute,away,back}"
        )
        listing = commands.add_parser("list", help=gettext_lazy("Queues and their agents."))
        add_actor_argument(listing)
        setting = commands.add_parser("set", help=gettext_lazy("How a queue assigns tickets."))
        setting.add_argument("team", help=gettext_lazy("Team name."))
        setting.add_argument("--mode", choices=AutoAssign.values)
        setting.add_argument("--limit", type=int, help=gettext_lazy("Open tickets per agent."))
        setting.add_argument("--skills", choices=["yes", "no"])
        setting.add_argument("--language", choices=["yes", "no"])
        add_actor_argument(setting)
        distribute = commands.add_parser(
            "distribute", help=gettext_lazy("Hand out a queue's waiting tickets now.")
        )
        distribute.add_argument("team", help=gettext_lazy("Team name."))
        add_actor_argument(distribute)
        away = commands.add_parser("away", help=gettext_lazy("Take no new tickets."))
        away.add_argument("--hours", type=int, help=gettext_lazy("Back by itself after this."))
        add_actor_argument(away)
        back = commands.add_parser("back", help=gettext_lazy("Take new tickets again."))
        add_actor_argument(back)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        try:
            getattr(self, "do_" + options["subcommand"])(actor, options)
        except ValidationError as error:
            raise _refusal(error) from None
        except PermissionDenied as error:
            raise CommandError(str(error.message)) from None

    def _team(self, name: str) -> Team:
        team = Team.objects.filter(name=name).first()
        if team is None:
            raise CommandError(_("team: No team “%(name)s”.") % {"name": name})
        return team

    def do_list(self, actor, options) -> None:
        if not assignment_services.can_manage(actor):
            raise CommandError(_("You may not configure service queues and agents."))
        rows = []
        for row in assignment.queues_overview():
            queue = row["queue"]
            mode = queue.get_auto_assign_display() if queue else AutoAssign.OFF.label
            for agent in row["agents"] or [None]:
                rows.append(
                    [
                        row["team"].name,
                        mode,
                        row["waiting"],
                        str(agent.user) if agent else "—",
                        (
                            pgettext("agent state", "available")
                            if agent.available
                            else pgettext("agent state", "away")
                        )
                        if agent
                        else "",
                        agent.load if agent else "",
                    ]
                )
        headers = [
            _("queue"),
            _("assigns"),
            pgettext("tickets in a queue", "waiting"),
            _("agent"),
            _("state"),
            pgettext("tickets of an agent", "open"),
        ]
        self.stdout.write(format_table(headers, rows))

    def do_set(self, actor, options) -> None:
        values = {}
        if options["mode"]:
            values["auto_assign"] = options["mode"]
        if options["limit"] is not None:
            values["max_open_per_agent"] = options["limit"]
        if options["skills"]:
            values["match_skills"] = options["skills"] == "yes"
        if options["language"]:
            values["match_language"] = options["language"] == "yes"
        queue = assignment_services.queue_settings_update(
            actor=actor, team=self._team(options["team"]), **values
        )
        self.stdout.write(
            _("%(team)s: %(mode)s.")
            % {"team": queue.team.name, "mode": queue.get_auto_assign_display()}
        )

    def do_distribute(self, actor, options) -> None:
        given = assignment_services.queue_distribute(actor=actor, team=self._team(options["team"]))
        self.stdout.write(
            ngettext("%(n)d waiting ticket handed out.", "%(n)d waiting tickets handed out.", given)
            % {"n": given}
        )

    def do_away(self, actor, options) -> None:
        hours = options["hours"]
        values = (
            {"away_until": timezone.now() + timedelta(hours=hours)}
            if hours
            else {"available": False}
        )
        assignment_services.agent_profile_update(actor=actor, agent=actor, **values)
        self.stdout.write(_("You are away: queues give you no new tickets."))

    def do_back(self, actor, options) -> None:
        assignment_services.agent_profile_update(actor=actor, agent=actor, available=True)
        self.stdout.write(_("You are available for new tickets."))
