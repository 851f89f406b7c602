"""`rapport duplicates scan|list|check`: the duplicate scan, its review list and a check of
values before creating a record, from the shell."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core import duplicates
from rapport.core.commands import CliCommand, format_table
from rapport.identity import policy
from rapport.identity.commands import add_actor_argument, resolve_actor

from ... import scan, selectors

TYPES = sorted(selectors.MODELS)


class Command(CliCommand):
    help = gettext_lazy(
        "Duplicates: scan every account and contact, list the possible duplicates, check values."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{scan,list,check}"
        )
        run = commands.add_parser(
            "scan", help=gettext_lazy("Scan for duplicates (resumes an interrupted scan).")
        )
        add_actor_argument(run)
        listing = commands.add_parser("list", help=gettext_lazy("Possible duplicates, best first."))
        listing.add_argument("--type", choices=TYPES, default=TYPES[0])
        listing.add_argument(
            "--limit", type=int, default=50, help=gettext_lazy("How many (default 50).")
        )
        add_actor_argument(listing)
        check = commands.add_parser(
            "check", help=gettext_lazy("Likely duplicates of a record you are about to create.")
        )
        check.add_argument("--type", choices=TYPES, default=TYPES[0])
        check.add_argument(
            "values",
            nargs="+",
            metavar="FIELD=VALUE",
            help=gettext_lazy("e.g. name=北京华信软件 phone=01065521234"),
        )
        add_actor_argument(check)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        getattr(self, "do_" + options["subcommand"])(actor, options)

    def do_scan(self, actor, options) -> None:
        if not policy.has_grant(actor, "dataops.duplicate", "manage"):
            raise CommandError(
                _("as: %(username)s: You do not have permission to do this.")
                % {"username": actor.username}
            )
        job = scan.scan_start(actor=actor)

        def report(job) -> None:
            self.stdout.write(
                _("Step %(done)d of %(total)d done.") % {"done": job.processed, "total": job.total}
            )

        job = scan.scan_run(job, progress=report)
        for step, count in (job.result or {}).get("pairs", {}).items():
            label = scan.STEP_LABELS.get(step)
            self.stdout.write(str(label) % {"count": count} if label else f"{step}: {count}")
        self.stdout.write(_("Scan finished (job %(id)s).") % {"id": job.pk})

    def do_list(self, actor, options) -> None:
        pairs = list(selectors.pairs_for(actor, options["type"])[: max(1, options["limit"])])
        rows = [
            [pair.pk, pair.first, pair.second, pair.score, "; ".join(pair.reason_texts)]
            for pair in selectors.with_records(actor, pairs)
        ]
        headers = [_("id"), _("record"), _("looks like"), _("score"), _("why")]
        self.stdout.write(format_table(headers, rows))

    def do_check(self, actor, options) -> None:
        values = {}
        for item in options["values"]:
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise CommandError(_("values: “%(item)s” is not FIELD=VALUE.") % {"item": item})
            values[name.strip()] = value
        found = duplicates.find(actor, options["type"], values)
        rows = [
            [candidate.record.pk, candidate.record, candidate.score, "; ".join(candidate.reasons)]
            for candidate in found
        ]
        self.stdout.write(format_table([_("id"), _("record"), _("score"), _("why")], rows))
