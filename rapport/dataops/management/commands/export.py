"""`rapport export account|contact`: a list (filter, sort, columns) to a CSV or XLSX file,
restricted and masked as the user's list is, audited — thin over `dataops.exporting`."""

from __future__ import annotations

import shutil

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand
from rapport.core.errors import NotFound, PermissionDenied
from rapport.identity.commands import add_actor_argument, resolve_actor

from ... import exporting

TYPES = {"account": "customers.account", "contact": "customers.contact"}


class Command(CliCommand):
    help = gettext_lazy(
        "Export accounts or contacts to a CSV or XLSX file, as the list shows them."
    )

    def add_arguments(self, parser):
        parser.add_argument("type", choices=sorted(TYPES))
        parser.add_argument(
            "-o", "--output", required=True, help=gettext_lazy("The file to write (.csv or .xlsx).")
        )
        parser.add_argument(
            "--filter", default="", help=gettext_lazy('Filter language, e.g. "tier in (A, B)".')
        )
        parser.add_argument(
            "--columns",
            default="",
            help=gettext_lazy("Column keys, comma-separated (default: the list's)."),
        )
        parser.add_argument("--sort", default="")
        add_actor_argument(parser)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        output = options["output"]
        file_format = "xlsx" if output.lower().endswith(".xlsx") else "csv"
        state = {
            "filter": options["filter"],
            "sort": options["sort"],
            "columns": [key.strip() for key in options["columns"].split(",") if key.strip()]
            or None,
        }
        try:
            job = exporting.export_start(
                actor=actor,
                object_type=TYPES[options["type"]],
                state=state,
                file_format=file_format,
            )
            job = exporting.export_execute(job)
            path = exporting.export_file(actor=actor, job=job)
        except ValidationError as error:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
            ) from None
        except (PermissionDenied, NotFound) as error:
            raise CommandError(
                _("as: %(username)s: %(error)s")
                % {"username": actor.username, "error": getattr(error, "message", error)}
            ) from None
        shutil.copyfile(path, output)
        self.stdout.write(
            _("%(rows)d rows written to %(path)s.")
            % {"rows": job.result.get("rows", 0), "path": output}
        )
