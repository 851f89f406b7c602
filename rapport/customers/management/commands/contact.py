"""`rapport contact list|show`: contacts from the terminal, with field rules; `show` is audited."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, ServiceCall, format_table
from rapport.core.errors import DomainError
from rapport.customers import services
from rapport.customers.models import Account, Contact
from rapport.customers.querysets import contact_display_values, with_owner
from rapport.identity import policy
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.models import Action


def label(name: str) -> str:
    return str(Contact._meta.get_field(name).verbose_name)


def joined(value) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value or "")


class Command(CliCommand):
    help = gettext_lazy("Contacts (people): list, show.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="{list,show}")
        listing = commands.add_parser("list", help=gettext_lazy("List the contacts you may see."))
        listing.add_argument("--q", default="", help=gettext_lazy("Text in the name."))
        listing.add_argument(
            "--account", type=int, help=gettext_lazy("Only contacts of this account id.")
        )
        listing.add_argument(
            "--limit", type=int, default=50, help=gettext_lazy("At most this many rows (1–1000).")
        )
        add_actor_argument(listing)
        show = commands.add_parser("show", help=gettext_lazy("Show one contact (an audited read)."))
        show.add_argument("id", type=int, help=gettext_lazy("Contact id."))
        add_actor_argument(show)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        if options["subcommand"] == "list":
            self.do_list(actor, options)
        else:
            self.do_show(actor, options)

    def do_list(self, actor, options) -> None:
        if not 1 <= options["limit"] <= 1000:
            raise CommandError(_("limit: Choose between 1 and 1000 rows."))
        contacts = with_owner(Contact.objects.restrict(actor, Action.VIEW))
        if options["q"].strip():
            contacts = contacts.filter(name__icontains=options["q"].strip())
        if options["account"]:
            try:
                account = policy.get_for(actor, Action.VIEW, Account, options["account"])
            except DomainError as error:
                raise CommandError(f"account: {error.message}") from error
            contacts = contacts.filter(accounts=account)
        rows = []
        for contact in contacts.order_by("name", "id")[: options["limit"]]:
            values = policy.apply_field_rules(
                actor, Contact.security_type, contact_display_values(contact)
            )
            rows.append(
                [
                    contact.pk,
                    contact.name,
                    *(joined(values.get(f, "")) for f in ("title", "phones", "emails")),
                    contact.owner,
                ]
            )
        headers = [
            "id",
            label("name"),
            label("title"),
            label("phones"),
            label("emails"),
            label("owner"),
        ]
        self.stdout.write(format_table(headers, rows))

    def do_show(self, actor, options) -> None:
        try:
            contact = policy.get_for(actor, Action.VIEW, Contact, options["id"])
        except DomainError as error:
            raise CommandError(f"id: {error.message}") from error
        with ServiceCall(actor):
            services.record_viewed(actor=actor, record=contact)
        values = policy.apply_field_rules(
            actor, Contact.security_type, contact_display_values(contact)
        )
        accounts = (
            Account.objects.restrict(actor, Action.VIEW).filter(contacts=contact).order_by("name")
        )
        rows = [[label("name"), contact.name]]
        rows += [[label(name), joined(value)] for name, value in values.items()]
        rows += [
            [label("accounts"), ", ".join(account.name for account in accounts)],
            [label("owner"), contact.owner],
        ]
        self.stdout.write(format_table([_("field"), _("value")], rows))
