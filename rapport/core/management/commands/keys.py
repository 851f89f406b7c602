"""`rapport keys generate|status|rotate`: the key ring of fields encrypted at rest."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core import keys
from rapport.core.commands import CliCommand, format_table
from rapport.core.crypto import DecryptionError, active_key_id, generate_key, key_ring


class Command(CliCommand):
    help = gettext_lazy(
        "Keys of the fields encrypted at rest (RAPPORT_FIELD_KEYS): make a new key, count the "
        "values each key encrypted, re-encrypt everything with the first key of the ring."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{generate,status,rotate}"
        )
        generate = commands.add_parser(
            "generate", help=gettext_lazy("Print a new random key entry for RAPPORT_FIELD_KEYS.")
        )
        generate.add_argument("--id", default="", help=gettext_lazy("Key id (default: k + date)."))
        commands.add_parser(
            "status", help=gettext_lazy("How many stored values each key encrypted.")
        )
        rotate = commands.add_parser(
            "rotate",
            help=gettext_lazy(
                "Re-encrypt every value with the first key of the ring (a resumable job)."
            ),
        )
        rotate.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help=gettext_lazy("Records per batch (10–5000, default 500)."),
        )
        rotate.add_argument(
            "--as",
            dest="acting_as",
            metavar="USERNAME",
            help=gettext_lazy("Recorded as this user."),
        )

    def handle(self, *args, **options):
        getattr(self, f"do_{options['subcommand']}")(options)

    def do_generate(self, options) -> None:
        from django.utils import timezone

        key_id = options["id"] or timezone.now().strftime("k%Y%m%d")
        self.stdout.write(f"{key_id}:{generate_key()}")
        self.stderr.write(
            _(
                "Put it first in RAPPORT_FIELD_KEYS (keep the old keys after it), restart, then "
                "run “rapport keys rotate”."
            )
        )

    def do_status(self, options) -> None:
        ring = [key_id for key_id, _key in key_ring()]
        rows = []
        for column, counts in keys.field_keys_status().items():
            if not counts:
                rows.append([column, "—", 0])
            for key_id, count in sorted(counts.items()):
                note = key_id
                if key_id == active_key_id():
                    note = _("%(key)s (active)") % {"key": key_id}
                elif key_id != keys.PLAIN and key_id not in ring:
                    note = _("%(key)s (missing from the ring!)") % {"key": key_id}
                rows.append([column, note, count])
        self.stdout.write(format_table([_("Field"), _("Key"), _("Values")], rows))

    def do_rotate(self, options) -> None:
        if not 10 <= options["batch_size"] <= 5000:
            raise CommandError(_("batch-size: Choose between 10 and 5000 records."))
        actor = None
        if options["acting_as"]:
            actor = get_user_model().objects.filter(username__iexact=options["acting_as"]).first()
            if actor is None:
                raise CommandError(
                    _("as: No user “%(username)s”.") % {"username": options["acting_as"]}
                )
        job = keys.unfinished_rotation()
        if job is not None:
            self.stdout.write(
                _("Resuming job %(id)d after %(done)d values.")
                % {"id": job.pk, "done": job.processed}
            )
        try:
            job = keys.field_keys_rotate(actor=actor, job=job, batch_size=options["batch_size"])
        except DecryptionError as error:
            raise CommandError(
                _("A stored value does not open with any key of the ring (%(error)s).")
                % {"error": error}
            ) from error
        self.stdout.write(
            _("Re-encrypted %(count)d of %(total)d values with key %(key)s (job %(id)d).")
            % {
                "count": job.succeeded,
                "total": job.processed,
                "key": active_key_id(),
                "id": job.pk,
            }
        )
