"""`rapport restore FILE`: restore a backup archive into a database (by default a scratch
one you name) and its attachments — thin over `rapport.dataops.backup.restore`."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand

from ... import backup


class Command(CliCommand):
    help = gettext_lazy(
        "Restore a backup archive into a database (e.g. a scratch one) and its files."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help=gettext_lazy("The backup archive (.tar.gz)."))
        parser.add_argument(
            "--database",
            required=True,
            help=gettext_lazy(
                "The target database URL, e.g. sqlite:///var/scratch.sqlite3 or postgres://…/scratch."
            ),
        )
        parser.add_argument(
            "--media", help=gettext_lazy("Where to put the attachments (default: not restored).")
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help=gettext_lazy("Replace a database that already holds data."),
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("file: “%(path)s” is not a file.") % {"path": path})
        try:
            manifest = backup.restore(
                path,
                database_url=options["database"],
                media_root=options["media"],
                force=options["force"],
            )
        except backup.BackupError as error:
            raise CommandError(str(error)) from None
        counts = ", ".join(f"{name} {count}" for name, count in manifest["counts"].items())
        self.stdout.write(
            _("Restored the backup of %(when)s: %(counts)s.")
            % {"when": manifest["created_at"], "counts": counts}
        )
