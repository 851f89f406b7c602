"""`rapport import run|failed|rollback`: import a CSV/XLSX file from the shell, get the failed
rows back as a file, roll an import back — thin over `rapport.dataops.importing`."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core import imports
from rapport.core.commands import CliCommand
from rapport.core.errors import NotFound, PermissionDenied
from rapport.identity.commands import add_actor_argument, resolve_actor

from ... import importing
from ...models import ImportMode, ImportRun


def _types() -> dict[str, str]:
    """{short name: type}: account, contact, interaction, lead … (`core.imports`)."""
    return {kind.object_type.split(".")[-1]: kind.object_type for kind in imports.types()}


def _problems(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items()
        )
    return " ".join(error.messages)


class Command(CliCommand):
    help = gettext_lazy(
        "Import accounts, contacts, interactions or leads from a CSV or XLSX file; failed "
        "rows; roll back."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{run,failed,rollback}"
        )
        run = commands.add_parser(
            "run",
            help=gettext_lazy("Import a file (columns mapped from its headers unless --map)."),
        )
        run.add_argument("file", help=gettext_lazy("The CSV or XLSX file."))
        run.add_argument("--type", choices=sorted(_types()), required=True)
        run.add_argument("--mode", choices=ImportMode.values, default=ImportMode.CREATE)
        run.add_argument(
            "--key",
            default="",
            help=gettext_lazy("The field that finds existing records (update, upsert)."),
        )
        run.add_argument(
            "--map",
            help=gettext_lazy(
                'Column mapping as JSON, {"column number": "field"}; default: suggested from the headers.'
            ),
        )
        run.add_argument(
            "--dry-run", action="store_true", help=gettext_lazy("Check every row, store nothing.")
        )
        add_actor_argument(run)
        failed = commands.add_parser(
            "failed", help=gettext_lazy("Write an import's failed rows, with an error column.")
        )
        failed.add_argument("run", type=int, help=gettext_lazy("The import's number (id)."))
        failed.add_argument(
            "-o", "--output", required=True, help=gettext_lazy("The CSV file to write.")
        )
        add_actor_argument(failed)
        rollback = commands.add_parser("rollback", help=gettext_lazy("Roll an import back."))
        rollback.add_argument("run", type=int, help=gettext_lazy("The import's number (id)."))
        add_actor_argument(rollback)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        try:
            getattr(self, "do_" + options["subcommand"])(actor, options)
        except ValidationError as error:
            raise CommandError(_problems(error)) from None
        except (PermissionDenied, NotFound) as error:
            raise CommandError(
                _("as: %(username)s: %(error)s")
                % {"username": actor.username, "error": getattr(error, "message", error)}
            ) from None

    def _run(self, actor, run_id: int) -> ImportRun:
        run = ImportRun.objects.filter(pk=run_id, created_by=actor).first()
        if run is None:
            raise CommandError(_("run: There is no import %(id)s of yours.") % {"id": run_id})
        return run

    def do_run(self, actor, options) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("file: “%(path)s” is not a file.") % {"path": path})
        with path.open("rb") as stream:
            run = importing.import_create(
                actor=actor,
                object_type=_types()[options["type"]],
                upload=File(stream, name=path.name),
                file_name=path.name,
            )
        mapping = run.mapping
        if options.get("map"):
            try:
                mapping = json.loads(options["map"])
            except json.JSONDecodeError as error:
                raise CommandError(_("map: not JSON: %(error)s") % {"error": error}) from None
        importing.import_configure(
            actor=actor, run=run, mapping=mapping, mode=options["mode"], key=options["key"]
        )
        for column, name in sorted(run.mapping.items(), key=lambda item: int(item[0])):
            self.stdout.write(f"  {run.headers[int(column)]} → {name}")
        for earlier in importing.earlier_imports(run):
            self.stdout.write(
                _("Note: this file was imported before (import %(id)s).") % {"id": earlier.pk}
            )
        job = importing.import_start(actor=actor, run=run, dry_run=options["dry_run"])

        job = importing.import_execute(job)
        counts = (job.result or {}).get("counts", {})
        self.stdout.write(
            _("Import %(id)s: %(counts)s")
            % {
                "id": run.pk,
                "counts": ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
                or "—",
            }
        )
        for failure in (job.result or {}).get("failures", [])[:20]:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in failure["errors"].items())
            self.stdout.write(
                _("Row %(row)d: %(problems)s") % {"row": failure["row"], "problems": problems}
            )

    def do_failed(self, actor, options) -> None:
        run = self._run(actor, options["run"])
        Path(options["output"]).write_bytes(importing.failed_rows(run))
        self.stdout.write(_("Written: %(path)s") % {"path": options["output"]})

    def do_rollback(self, actor, options) -> None:
        run = importing.import_rollback(actor=actor, run=self._run(actor, options["run"]))
        self.stdout.write(_("Import %(id)s rolled back.") % {"id": run.pk})
