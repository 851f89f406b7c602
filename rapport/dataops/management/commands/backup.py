"""`rapport backup`: write a verified backup of the database and attachments (or list them,
or verify an archive) — thin over `rapport.dataops.backup`."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, format_table

from ... import backup
from ...models import BackupRecord


class Command(CliCommand):
    help = gettext_lazy(
        "Back up the database and attachments (verified), list backups, or verify one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--list", action="store_true", help=gettext_lazy("List the backups."))
        parser.add_argument(
            "--verify",
            metavar="FILE",
            help=gettext_lazy("Verify an archive (restore it into a scratch database)."),
        )
        parser.add_argument(
            "--no-verify", action="store_true", help=gettext_lazy("Do not verify the new backup.")
        )
        parser.add_argument(
            "--keep",
            type=int,
            help=gettext_lazy("How many backups to keep (default RAPPORT_BACKUP_KEEP)."),
        )

    def handle(self, *args, **options):
        if options["list"]:
            rows = [
                [
                    r.pk,
                    r.created_at.strftime("%Y-%m-%d %H:%M"),
                    r.file_name,
                    r.get_state_display(),
                    _("yes") if r.verified else _("no"),
                    r.size,
                    _("removed") if r.pruned_at else "",
                ]
                for r in BackupRecord.objects.all()[:50]
            ]
            self.stdout.write(
                format_table(
                    [_("id"), _("time"), _("file"), _("state"), _("verified"), _("bytes"), ""], rows
                )
            )
            return
        if options["verify"]:
            ok, message = backup.backup_verify(Path(options["verify"]))
            if not ok:
                raise CommandError(message)
            self.stdout.write(message)
            return
        try:
            record = backup.backup_create(verify=not options["no_verify"], keep=options["keep"])
        except backup.BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            _("Backup written: %(file)s (%(size)d bytes).")
            % {"file": record.file_name, "size": record.size}
        )
        if record.verified_at:
            if not record.verified:
                raise CommandError(
                    _("The backup did not verify: %(message)s") % {"message": record.verify_message}
                )
            self.stdout.write(record.verify_message)
