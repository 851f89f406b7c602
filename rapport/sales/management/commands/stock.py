"""`rapport stock list|receive|adjust|transfer`: stock from the shell, as a user (`--as`),
through the same services and grants as the pages and the API. Products by SKU, warehouses
by code (the default warehouse when not given)."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db.models import F, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core import search
from rapport.core.commands import CliCommand, ServiceCall, format_table
from rapport.identity import policy
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.models import Action

from ...models import Product, StockLevel, Warehouse
from ...services import inventory as inventory_services
from ...services.inventory import quantity_text


class Command(CliCommand):
    help = gettext_lazy("Stock: list levels, receive goods, count, transfer.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{list,receive,adjust,transfer}"
        )
        listing = commands.add_parser("list", help=gettext_lazy("Stock per product and warehouse."))
        listing.add_argument("-q", "--query", default="", help=gettext_lazy("SKU, name, pinyin."))
        listing.add_argument("--warehouse", help=gettext_lazy("Warehouse code."))
        listing.add_argument("--low", action="store_true", help=gettext_lazy("Low stock only."))
        listing.add_argument("--limit", type=int, default=100)
        add_actor_argument(listing)
        receive = commands.add_parser("receive", help=gettext_lazy("Goods received."))
        receive.add_argument("sku")
        receive.add_argument("quantity")
        receive.add_argument("--warehouse", help=gettext_lazy("Warehouse code (default one)."))
        receive.add_argument("--note", default="")
        add_actor_argument(receive)
        adjust = commands.add_parser("adjust", help=gettext_lazy("A stock count."))
        adjust.add_argument("sku")
        adjust.add_argument("counted", help=gettext_lazy("The quantity counted."))
        adjust.add_argument("--warehouse", help=gettext_lazy("Warehouse code (default one)."))
        adjust.add_argument("--note", required=True, help=gettext_lazy("Why the stock changes."))
        add_actor_argument(adjust)
        transfer = commands.add_parser("transfer", help=gettext_lazy("Between warehouses."))
        transfer.add_argument("sku")
        transfer.add_argument("quantity")
        transfer.add_argument("--from", dest="source", required=True, metavar="CODE")
        transfer.add_argument("--to", dest="destination", required=True, metavar="CODE")
        transfer.add_argument("--note", default="")
        add_actor_argument(transfer)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        handler = {
            "list": self._list,
            "receive": self._receive,
            "adjust": self._adjust,
            "transfer": self._transfer,
        }[options["subcommand"]]
        handler(actor, options)

    def _warehouse(self, code: str | None, option: str = "warehouse") -> Warehouse:
        if not code:
            warehouse = inventory_services.default_warehouse()
            if warehouse is None:
                raise CommandError(_("warehouse: There is no default warehouse; give one."))
            return warehouse
        warehouse = Warehouse.objects.filter(code__iexact=code).first()
        if warehouse is None:
            raise CommandError(
                _("%(option)s: No warehouse with code %(code)s.") % {"option": option, "code": code}
            )
        return warehouse

    def _product(self, sku: str) -> Product:
        product = Product.objects.filter(sku__iexact=sku).first()
        if product is None:
            raise CommandError(_("sku: No product with SKU %(sku)s.") % {"sku": sku})
        return product

    def _list(self, actor, options):
        if not policy.has_grant(actor, Warehouse.security_type, Action.VIEW):
            raise CommandError(_("You may not see the stock."))
        levels = StockLevel.objects.select_related("product", "warehouse")
        if options["warehouse"]:
            levels = levels.filter(warehouse=self._warehouse(options["warehouse"]))
        if options["low"]:
            levels = levels.filter(
                product__low_stock_threshold__isnull=False,
                on_hand__lte=F("product__low_stock_threshold"),
            )
        query = options["query"].strip()
        if query:
            products = search.filter_queryset(
                Product.objects.all(), query, also=Q(sku__istartswith=query)
            )
            levels = levels.filter(product__in=products.values("pk"))
        rows = [
            (
                level.product.sku,
                level.product.display_name,
                level.warehouse.code,
                quantity_text(level.on_hand),
                quantity_text(level.reserved),
                quantity_text(level.available),
                "!"
                if level.product.low_stock_threshold is not None
                and level.on_hand <= level.product.low_stock_threshold
                else "",
            )
            for level in levels.order_by("product__sku", "warehouse__code")[: options["limit"]]
        ]
        headers = [
            _("SKU"),
            _("Name"),
            _("Warehouse"),
            _("On hand"),
            _("Reserved"),
            _("Available"),
            _("Low"),
        ]
        self.stdout.write(format_table(headers, rows))

    def _done(self, movement) -> None:
        self.stdout.write(
            _("%(sku)s in %(warehouse)s: %(quantity)s, now %(on_hand)s on hand.")
            % {
                "sku": movement.product.sku,
                "warehouse": movement.warehouse.code,
                "quantity": f"{movement.quantity:+f}".rstrip("0").rstrip("."),
                "on_hand": quantity_text(movement.on_hand_after),
            }
        )

    def _receive(self, actor, options):
        product, warehouse = self._product(options["sku"]), self._warehouse(options["warehouse"])
        with ServiceCall(actor):
            movement = inventory_services.stock_receive(
                actor=actor,
                warehouse=warehouse,
                product=product,
                quantity=options["quantity"],
                note=options["note"],
            )
        self._done(movement)

    def _adjust(self, actor, options):
        product, warehouse = self._product(options["sku"]), self._warehouse(options["warehouse"])
        with ServiceCall(actor):
            movement = inventory_services.stock_adjust(
                actor=actor,
                warehouse=warehouse,
                product=product,
                counted=options["counted"],
                note=options["note"],
            )
        if movement is None:
            self.stdout.write(_("The count matches the stock; nothing changed."))
        else:
            self._done(movement)

    def _transfer(self, actor, options):
        product = self._product(options["sku"])
        source = self._warehouse(options["source"], "from")
        destination = self._warehouse(options["destination"], "to")
        with ServiceCall(actor):
            leaving, arriving = inventory_services.stock_transfer(
                actor=actor,
                product=product,
                source=source,
                destination=destination,
                quantity=options["quantity"],
                note=options["note"],
            )
        self._done(leaving)
        self._done(arriving)
