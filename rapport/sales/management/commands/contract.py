"""`rapport contract list|remind`: contracts from the shell, as a user (`--as`); `remind`
runs the daily renewal reminders and expiry now (what the beat task does)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, format_table
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.models import Action

from ...models import Contract, ContractStatus
from ...services import contracts as contract_services
from .order import refusal


class Command(CliCommand):
    help = gettext_lazy("Contracts: list; remind owners of renewals and expire ended ones now.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="{list,remind}")
        listing = commands.add_parser("list", help=gettext_lazy("Contracts you may see."))
        listing.add_argument("--status", choices=ContractStatus.values)
        listing.add_argument(
            "--ending-before", type=date.fromisoformat, help=gettext_lazy("YYYY-MM-DD")
        )
        listing.add_argument("--limit", type=int, default=50)
        add_actor_argument(listing)
        remind = commands.add_parser(
            "remind",
            help=gettext_lazy("Send due renewal reminders and expire ended contracts (daily)."),
        )
        remind.add_argument("--today", type=date.fromisoformat, help=gettext_lazy("YYYY-MM-DD"))
        add_actor_argument(remind)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        try:
            getattr(self, "do_" + options["subcommand"])(actor, options)
        except ValidationError as error:
            raise refusal(error) from None
        except PermissionDenied as error:
            raise CommandError(str(error.message)) from None

    def do_list(self, actor, options) -> None:
        contracts = Contract.objects.restrict(actor, Action.VIEW).select_related("account", "owner")
        if options["status"]:
            contracts = contracts.filter(status=options["status"])
        if options["ending_before"]:
            contracts = contracts.filter(end_date__lte=options["ending_before"])
        rows = [
            [
                contract.number,
                contract.title,
                contract.get_status_display(),
                contract.account.name,
                f"{contract.currency} {contract.value}",
                contract.start_date.isoformat(),
                contract.end_date.isoformat() if contract.end_date else "",
                str(contract.owner),
            ]
            for contract in contracts.order_by("-id")[: max(1, options["limit"])]
        ]
        headers = [
            _("number"),
            _("title"),
            _("status"),
            _("account"),
            _("value"),
            _("start"),
            _("end"),
            _("owner"),
        ]
        self.stdout.write(format_table(headers, rows))

    def do_remind(self, actor, options) -> None:
        # the system's daily job: only someone who may change every contract runs it by hand
        if policy.best_scope(actor, Contract.security_type, Action.CHANGE) != "all":
            raise CommandError(_("You may not run the contract reminders."))
        result = contract_services.contracts_daily(today=options["today"])
        self.stdout.write(
            _("%(reminded)d reminded, %(expired)d expired or renewed")
            % {"reminded": result["reminded"], "expired": result["expired"]}
        )
