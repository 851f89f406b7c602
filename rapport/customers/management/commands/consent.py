"""`rapport consent list|grant|withdraw`: a contact's consent per channel and purpose."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, ServiceCall, format_table
from rapport.core.errors import DomainError
from rapport.customers import services
from rapport.customers.models import ConsentChannel, ConsentPurpose, ConsentSource, Contact
from rapport.customers.querysets import consent_matrix
from rapport.identity import policy
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.models import Action


class Command(CliCommand):
    help = gettext_lazy("A contact's consent per channel and purpose: list, grant, withdraw.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{list,grant,withdraw}"
        )
        listing = commands.add_parser("list", help=gettext_lazy("The contact's answers."))
        listing.add_argument("contact", type=int, help=gettext_lazy("Contact id."))
        add_actor_argument(listing)
        for name, text in (
            ("grant", gettext_lazy("Record that the contact agreed (evidence required).")),
            ("withdraw", gettext_lazy("Record that the contact withdrew their consent.")),
        ):
            sub = commands.add_parser(name, help=text)
            sub.add_argument("contact", type=int, help=gettext_lazy("Contact id."))
            sub.add_argument("channel", choices=ConsentChannel.values)
            sub.add_argument("purpose", choices=ConsentPurpose.values)
            sub.add_argument("--source", choices=ConsentSource.values, default=ConsentSource.OTHER)
            sub.add_argument("--evidence", default="", help=gettext_lazy("How we know."))
            add_actor_argument(sub)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        try:
            contact = policy.get_for(actor, Action.VIEW, Contact, options["contact"])
        except DomainError as error:
            raise CommandError(f"contact: {error.message}") from error
        if options["subcommand"] != "list":
            with ServiceCall(actor):
                services.consent_record(
                    actor=actor,
                    contact=contact,
                    channel=options["channel"],
                    purpose=options["purpose"],
                    status="granted" if options["subcommand"] == "grant" else "withdrawn",
                    source=options["source"],
                    evidence=options["evidence"],
                )
        rows = []
        for row in consent_matrix(contact):
            for cell in row["cells"]:
                consent = cell.consent
                rows.append(
                    [
                        row["label"],
                        cell.purpose_label,
                        consent.get_status_display() if consent else _("Not asked"),
                        _("Yes") if cell.allowed else _("No"),
                        consent.evidence if consent else "",
                    ]
                )
        headers = [_("Channel"), _("Purpose"), _("Answer"), _("Allowed"), _("Evidence")]
        self.stdout.write(format_table(headers, rows))
