"""`rapport audit verify|purge`: prove the hash chain; apply the retention period."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from rapport.audit import chain, services
from rapport.core.commands import CliCommand


class Command(CliCommand):
    help = gettext_lazy("Audit trail: verify the hash chain, purge events past retention.")
    leave_locale_alone = True

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="{verify,purge}")
        commands.add_parser(
            "verify",
            help=gettext_lazy(
                "Recompute every event's hash. Exit status 0 if the chain is intact, 1 naming "
                "the first broken event otherwise."
            ),
        )
        purge = commands.add_parser(
            "purge",
            help=gettext_lazy(
                "Delete events older than the retention period, keeping the chain verifiable."
            ),
        )
        purge.add_argument(
            "--days",
            type=int,
            help=gettext_lazy("Retention in days (default: RAPPORT_AUDIT_RETENTION_DAYS)."),
        )

    def handle(self, *args, **options):
        if options["subcommand"] == "verify":
            self.verify()
        else:
            self.purge(options["days"])

    def verify(self) -> None:
        result = chain.verify()
        if not result.ok:
            raise CommandError(
                _(
                    "The audit chain is broken at event #%(seq)s: %(reason)s "
                    "(%(checked)d events before it are intact)."
                )
                % {"seq": result.first_bad_seq, "reason": result.reason, "checked": result.checked},
                returncode=1,
            )
        self.stdout.write(
            _("The audit chain is intact: %(checked)d events checked.")
            % {"checked": result.checked}
        )

    def purge(self, days: int | None) -> None:
        if days is not None and days < 1:
            raise CommandError(_("days: The retention period must be at least 1 day."))
        deleted = services.audit_purge_expired(retention_days=days)
        self.stdout.write(
            ngettext(
                "Deleted %(n)d event older than %(days)d days.",
                "Deleted %(n)d events older than %(days)d days.",
                deleted,
            )
            % {"n": deleted, "days": settings.AUDIT_RETENTION_DAYS if days is None else days}
        )
