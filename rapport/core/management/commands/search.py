"""`rapport search rebuild [--type T] | statistics [--type T] | query TEXT --as USER`: the
search index from a terminal."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, format_table
from rapport.core.models import Job
from rapport.core.search import rebuild, registry, statistics
from rapport.core.search import search as search_index


def _type_option(parser, help_text) -> None:
    """`--type T` (repeatable) on a subcommand; checked against the registry in `handle`."""
    parser.add_argument("--type", action="append", dest="types", metavar="TYPE", help=help_text)


class Command(CliCommand):
    help = gettext_lazy(
        "The search index: rebuild it (a resumable job), or search it as a user would."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{rebuild,statistics,query}"
        )
        build = commands.add_parser(
            "rebuild",
            help=gettext_lazy(
                "Index every record again, in batches. An interrupted rebuild resumes from its "
                "last checkpoint."
            ),
        )
        _type_option(
            build, gettext_lazy("Only this object type, e.g. customers.account (repeatable).")
        )
        build.add_argument(
            "--restart",
            action="store_true",
            help=gettext_lazy("Start from the beginning even if an interrupted rebuild exists."),
        )
        build.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help=gettext_lazy("Records per batch (10–5000, default 500)."),
        )
        stats = commands.add_parser(
            "statistics",
            help=gettext_lazy(
                "Count the documents per term again, so the search tells popular fragments from "
                "rare ones (PostgreSQL; nightly on the scheduler)."
            ),
        )
        _type_option(stats, gettext_lazy("Only this object type (repeatable)."))
        query = commands.add_parser(
            "query", help=gettext_lazy("Search as a user: only what they may see, field rules on.")
        )
        query.add_argument("text", help=gettext_lazy("What to search for."))
        query.add_argument(
            "--as",
            dest="acting_as",
            metavar="USERNAME",
            required=True,
            help=gettext_lazy("Search as this user."),
        )
        _type_option(query, gettext_lazy("Only this object type (repeatable)."))
        query.add_argument(
            "--limit", type=int, default=10, help=gettext_lazy("Hits per type (1–100).")
        )

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        types = options.get("types")
        if types:
            unknown = [name for name in types if registry.get(name) is None]
            if unknown:
                raise CommandError(
                    _("type: Unknown object type “%(type)s”; choose from %(types)s.")
                    % {"type": unknown[0], "types": ", ".join(registry.object_types())}
                )
        getattr(self, f"do_{options['subcommand']}")(options)

    def do_rebuild(self, options) -> None:
        if not 10 <= options["batch_size"] <= 5000:
            raise CommandError(_("batch-size: Choose between 10 and 5000 records."))
        try:
            job = rebuild.start(actor=None, types=options["types"], restart=options["restart"])
        except rebuild.RebuildRunning as error:
            raise CommandError(
                _("Another rebuild (job %(id)d) is running; wait for it to finish.")
                % {"id": error.job.pk}
            ) from error
        if job.processed:
            self.stdout.write(
                _("Resuming job %(id)d after %(done)d of %(total)d records.")
                % {"id": job.pk, "done": job.processed, "total": job.total}
            )
        else:
            self.stdout.write(
                _("Job %(id)d: indexing %(total)d records.") % {"id": job.pk, "total": job.total}
            )
        job = rebuild.run(job, batch_size=options["batch_size"], progress=self._progress)
        self.stdout.write(
            _("Indexed %(count)d records (job %(id)d).") % {"count": job.processed, "id": job.pk}
        )

    def do_statistics(self, options) -> None:
        if not statistics.available():
            raise CommandError(
                _("The term statistics are for PostgreSQL; SQLite's index needs none.")
            )
        counted = statistics.refresh(options["types"])
        for object_type, documents in counted.items():
            self.stdout.write(
                _("%(type)s: %(documents)d documents, %(terms)d frequent terms.")
                % {
                    "type": object_type,
                    "documents": documents,
                    "terms": statistics.terms_kept(object_type),
                }
            )

    def _progress(self, job: Job) -> None:
        if self.verbosity >= 1:
            self.stdout.write(
                _("%(done)d of %(total)d records (%(percent)d%%)")
                % {"done": job.processed, "total": job.total, "percent": job.percent}
            )

    def do_query(self, options) -> None:
        if not 1 <= options["limit"] <= 100:
            raise CommandError(_("limit: Choose between 1 and 100 hits."))
        username = options["acting_as"]
        user = get_user_model().objects.filter(username__iexact=username).first()
        if user is None:
            raise CommandError(_("as: No user “%(username)s”.") % {"username": username})
        if not user.is_active:
            raise CommandError(
                _("as: The user “%(username)s” is deactivated.") % {"username": username}
            )
        results = search_index(
            user, options["text"], types=options["types"], limit=options["limit"]
        )
        if results.fuzzy:
            self.stdout.write(_("Nothing matched as typed; showing close spellings."))
        for group in results.groups:
            self.stdout.write(f"{group.label} ({len(group.hits)}{'+' if group.more else ''})")
            if group.hits:
                self.stdout.write(
                    format_table(
                        ["id", _("Title"), _("Details")],
                        [(hit.id, hit.title, hit.subtitle) for hit in group.hits],
                    )
                )
            self.stdout.write("")
