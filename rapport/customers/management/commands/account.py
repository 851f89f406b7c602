"""`rapport account list|show|create|deactivate`: accounts from the terminal, thin over services.

Reads go through `restrict()` and field rules exactly as in the web and the API; `show` is an
audited read of the account's details.
"""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, ServiceCall, format_table
from rapport.core.errors import DomainError
from rapport.customers import services
from rapport.customers.models import Account
from rapport.customers.querysets import account_display_values, accounts_matching, with_owner
from rapport.identity import policy
from rapport.identity.commands import add_actor_argument, get_user, resolve_actor
from rapport.identity.models import Action

LIST_COLUMNS = ("tier", "lifecycle_stage", "province", "city", "phone")


def shown(actor, account: Account) -> dict:
    return policy.apply_field_rules(actor, Account.security_type, account_display_values(account))


def label(name: str) -> str:
    return str(Account._meta.get_field(name).verbose_name)


def fetch(actor, action: str, pk: int) -> Account:
    try:
        return policy.get_for(actor, action, Account, pk)
    except DomainError as error:
        raise CommandError(f"id: {error.message}") from error


class Command(CliCommand):
    help = gettext_lazy("Accounts (companies): list, show, create, deactivate.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{list,show,create,deactivate}"
        )
        listing = commands.add_parser("list", help=gettext_lazy("List the accounts you may see."))
        listing.add_argument(
            "--q", default="", help=gettext_lazy("Text in the name or credit code.")
        )
        listing.add_argument("--tier", help=gettext_lazy("Only this tier (its code)."))
        listing.add_argument(
            "--stage",
            help=gettext_lazy("Only this lifecycle stage (its code)."),
        )
        listing.add_argument("--province", help=gettext_lazy("Only this province."))
        listing.add_argument("--owner", help=gettext_lazy("Only records of this owner (username)."))
        listing.add_argument(
            "--limit", type=int, default=50, help=gettext_lazy("At most this many rows (1–1000).")
        )
        add_actor_argument(listing)

        show = commands.add_parser("show", help=gettext_lazy("Show one account (an audited read)."))
        show.add_argument("id", type=int, help=gettext_lazy("Account id."))
        add_actor_argument(show)

        create = commands.add_parser("create", help=gettext_lazy("Create an account."))
        create.add_argument("name", help=gettext_lazy("Account name."))
        for option, field in (
            ("--short-name", "short_name"),
            ("--credit-code", "credit_code"),
            ("--industry", "industry"),
            ("--province", "province"),
            ("--city", "city"),
            ("--address", "address"),
            ("--phone", "phone"),
            ("--website", "website"),
            ("--tier", "tier"),
            ("--stage", "lifecycle_stage"),
        ):
            create.add_argument(
                option, dest=field, help=Account._meta.get_field(field).verbose_name
            )
        create.add_argument("--owner", help=gettext_lazy("Owner's username (default: you)."))
        add_actor_argument(create)

        deactivate = commands.add_parser("deactivate", help=gettext_lazy("Deactivate an account."))
        deactivate.add_argument("id", type=int, help=gettext_lazy("Account id."))
        add_actor_argument(deactivate)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        getattr(self, f"do_{options['subcommand']}")(actor, options)

    def do_list(self, actor, options) -> None:
        if not 1 <= options["limit"] <= 1000:
            raise CommandError(_("limit: Choose between 1 and 1000 rows."))
        accounts = with_owner(Account.objects.restrict(actor, Action.VIEW))
        accounts = accounts_matching(accounts, options["q"], actor)
        for option, field in (
            ("tier", "tier"),
            ("stage", "lifecycle_stage"),
            ("province", "province"),
        ):
            if options[option]:
                accounts = accounts.filter(**{field: options[option]})
        if options["owner"]:
            accounts = accounts.filter(owner=get_user(options["owner"], field="owner"))
        rows = []
        for account in accounts.order_by("name", "id")[: options["limit"]]:
            values = shown(actor, account)
            rows.append(
                [
                    account.pk,
                    account.name,
                    *(values.get(name, "") for name in LIST_COLUMNS),
                    account.owner,
                ]
            )
        headers = ["id", label("name"), *(label(name) for name in LIST_COLUMNS), label("owner")]
        self.stdout.write(format_table(headers, rows))

    def do_show(self, actor, options) -> None:
        account = fetch(actor, Action.VIEW, options["id"])
        with ServiceCall(actor):
            services.record_viewed(actor=actor, record=account)
        values = shown(actor, account)
        rows = [[label("name"), account.name]]
        rows += [[label(name), value] for name, value in values.items()]
        rows += [
            [label("owner"), account.owner],
            [label("is_active"), _("yes") if account.is_active else _("no")],
        ]
        self.stdout.write(format_table([_("field"), _("value")], rows))

    def do_create(self, actor, options) -> None:
        fields = (
            "short_name",
            "credit_code",
            "industry",
            "province",
            "city",
            "address",
            "phone",
            "website",
            "tier",
            "lifecycle_stage",
        )
        values = {field: options[field] for field in fields if options.get(field) is not None}
        owner = get_user(options["owner"], field="owner") if options["owner"] else None
        with ServiceCall(actor):
            account = services.account_create(
                actor=actor, owner=owner, name=options["name"], **values
            )
        self.stdout.write(
            _("Created account %(id)d: %(name)s") % {"id": account.pk, "name": account.name}
        )

    def do_deactivate(self, actor, options) -> None:
        account = fetch(actor, Action.DELETE, options["id"])
        with ServiceCall(actor):
            services.account_deactivate(actor=actor, account=account)
        self.stdout.write(_("Deactivated account %(id)d.") % {"id": account.pk})
