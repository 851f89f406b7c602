"""`rapport order list|confirm|ship`: sales orders from the shell, as a user (`--as`),
through the same services and restrictions as the pages and the API."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, format_table
from rapport.core.errors import PermissionDenied
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.models import Action

from ...models import Order, OrderStatus
from ...services import orders as order_services


def refusal(error: ValidationError) -> CommandError:
    lines = []
    for name, messages in getattr(error, "message_dict", {"": error.messages}).items():
        lines.extend(f"{name}: {message}" if name else message for message in messages)
    return CommandError("\n".join(lines))


def find(model, actor, reference: str, action: str, what: str):
    """A record by its number (SO2026-000001) or id, if `actor` may `action` it."""
    records = model.objects.restrict(actor, action)
    found = (
        records.filter(pk=int(reference)).first()
        if reference.isdigit()
        else records.filter(number=reference).first()
    )
    if found is None:
        raise CommandError(
            _("%(what)s: No %(what)s %(ref)s you may see.") % {"what": what, "ref": reference}
        )
    return found


class Command(CliCommand):
    help = gettext_lazy("Sales orders: list, confirm (reserves stock), ship.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{list,confirm,ship}"
        )
        listing = commands.add_parser("list", help=gettext_lazy("Orders you may see."))
        listing.add_argument("--status", choices=OrderStatus.values)
        listing.add_argument("--mine", action="store_true", help=gettext_lazy("Only yours."))
        listing.add_argument("--limit", type=int, default=50)
        add_actor_argument(listing)
        for name, text in (
            ("confirm", gettext_lazy("Confirm a draft order (reserves its stock).")),
            ("ship", gettext_lazy("Ship a confirmed order.")),
        ):
            move = commands.add_parser(name, help=text)
            move.add_argument("order", help=gettext_lazy("Number or id."))
            add_actor_argument(move)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        try:
            getattr(self, "do_" + options["subcommand"])(actor, options)
        except ValidationError as error:
            raise refusal(error) from None
        except PermissionDenied as error:
            raise CommandError(str(error.message)) from None

    def do_list(self, actor, options) -> None:
        orders = Order.objects.restrict(actor, Action.VIEW).select_related("account", "owner")
        if options["status"]:
            orders = orders.filter(status=options["status"])
        if options["mine"]:
            orders = orders.filter(owner=actor)
        rows = [
            [
                order.number,
                order.get_status_display(),
                order.account.name,
                f"{order.currency} {order.total}",
                str(order.invoiced_total),
                order.order_date.isoformat(),
                str(order.owner),
            ]
            for order in orders.order_by("-id")[: max(1, options["limit"])]
        ]
        headers = [
            _("number"),
            _("status"),
            _("account"),
            _("total"),
            _("invoiced"),
            _("order date"),
            _("owner"),
        ]
        self.stdout.write(format_table(headers, rows))

    def _move(self, actor, options, service, done: str) -> None:
        order = find(Order, actor, options["order"], Action.CHANGE, _("order"))
        order = service(actor=actor, order=order)
        self.stdout.write(done % {"number": order.number, "status": order.get_status_display()})

    def do_confirm(self, actor, options) -> None:
        self._move(actor, options, order_services.order_confirm, _("%(number)s: %(status)s"))

    def do_ship(self, actor, options) -> None:
        self._move(actor, options, order_services.order_ship, _("%(number)s: %(status)s"))
