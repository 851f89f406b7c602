"""`rapport quality compute|summary`: compute the data-quality scores, or show them (the
average, distribution, owners and departments, and the weakest records) — thin over
`rapport.dataops.quality`."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core import errors
from rapport.core.commands import CliCommand, format_table
from rapport.identity.commands import add_actor_argument, resolve_actor

from ... import quality

TYPES = sorted(quality.MODELS)


class Command(CliCommand):
    help = gettext_lazy(
        "Data quality: compute the scores of every account and contact, or show a summary."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{compute,summary}"
        )
        compute = commands.add_parser(
            "compute", help=gettext_lazy("Compute every score (resumes an interrupted run).")
        )
        add_actor_argument(compute)
        summary = commands.add_parser(
            "summary",
            help=gettext_lazy("Average, distribution, owners, departments and weakest records."),
        )
        summary.add_argument("--type", choices=TYPES, default=TYPES[0])
        summary.add_argument(
            "--limit",
            type=int,
            default=10,
            help=gettext_lazy("How many weakest records (default 10)."),
        )
        add_actor_argument(summary)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        getattr(self, "do_" + options["subcommand"])(actor, options)

    def do_compute(self, actor, options) -> None:
        try:
            job = quality.compute_start(actor=actor)
        except errors.PermissionDenied as error:
            raise CommandError(
                _("as: %(username)s: %(message)s")
                % {"username": actor.username, "message": error.message}
            ) from None

        def report(job) -> None:
            self.stdout.write(
                _("%(done)d of %(total)d records scored.")
                % {"done": job.processed, "total": job.total}
            )

        job = quality.compute_run(job, progress=report)
        for object_type, values in (job.result or {}).get("types", {}).items():
            self.stdout.write(
                _("%(type)s: %(count)d records, average %(average)s.")
                % {
                    "type": quality.TYPE_LABELS[object_type],
                    "count": values["count"],
                    "average": "—" if values["average"] is None else values["average"],
                }
            )
        self.stdout.write(_("Scores computed (job %(id)s).") % {"id": job.pk})

    def do_summary(self, actor, options) -> None:
        object_type = options["type"]
        scores = quality.visible_scores(actor, object_type)
        overview = quality.summary(scores)
        if not overview["count"]:
            self.stdout.write(_("No scores to show; run “rapport quality compute” first."))
            return
        self.stdout.write(
            _("%(type)s: %(count)d records, average %(average)d, computed at %(time)s.")
            % {
                "type": quality.TYPE_LABELS[object_type],
                "count": overview["count"],
                "average": overview["average"],
                "time": overview["computed_at"].strftime("%Y-%m-%d %H:%M"),
            }
        )
        self.stdout.write(
            "  ".join(
                f"{component['label']} {component['average']}"
                for component in overview["components"]
            )
        )
        self.stdout.write("")
        self.stdout.write(
            format_table(
                [_("band"), _("records"), "%"],
                [[band["label"], band["count"], band["percent"]] for band in overview["bands"]],
            )
        )
        for title, group in ((_("owner"), "owner"), (_("department"), "department")):
            self.stdout.write("")
            rows = [
                [item["name"], item["average"], item["count"], item["poor"]]
                for item in quality.by_group(scores, group)
            ]
            self.stdout.write(format_table([title, _("average"), _("records"), _("poor")], rows))
        weakest = list(scores.order_by("total", "record_id")[: max(1, options["limit"])])
        rows = [
            [
                score.record_id,
                score.record if score.record is not None else "",
                score.total,
                "; ".join(score.reason_texts),
            ]
            for score in quality.with_records(actor, weakest)
        ]
        self.stdout.write("")
        self.stdout.write(format_table([_("id"), _("record"), _("score"), _("why")], rows))
