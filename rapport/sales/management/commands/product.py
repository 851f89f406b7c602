"""`rapport product list|create|import-prices`: the catalogue from the shell, as a user
(`--as`), through the same services and grants as the pages and the API.
`import-prices LIST FILE.csv` sets a price list's prices from rows of `sku,unit_price[,
min_quantity]`; one bad row stores nothing and names its line."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from rapport.core import search
from rapport.core.commands import CliCommand, ServiceCall, format_table, service_error_message
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.models import Action

from ...models import PriceList, Product, ProductCategory
from ...services import catalogue as catalogue_services


def _quantity(value) -> str:
    return f"{value.normalize():f}" if value is not None else ""


class Command(CliCommand):
    help = gettext_lazy("Products: list, create, import a price list's prices.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{list,create,import-prices}"
        )
        listing = commands.add_parser("list", help=gettext_lazy("Products by SKU."))
        listing.add_argument("-q", "--query", default="", help=gettext_lazy("SKU, name, pinyin."))
        listing.add_argument("--category", help=gettext_lazy("Category name (and below)."))
        listing.add_argument("--inactive", action="store_true", help=gettext_lazy("Retired too."))
        listing.add_argument("--limit", type=int, default=50)
        add_actor_argument(listing)
        create = commands.add_parser("create", help=gettext_lazy("A new product or variant."))
        create.add_argument("sku")
        create.add_argument("name")
        create.add_argument("--name-en", default="")
        create.add_argument("--price", default="0", help=gettext_lazy("List price."))
        create.add_argument("--currency", default="CNY")
        create.add_argument("--unit", default="个")
        create.add_argument("--category", help=gettext_lazy("Category name."))
        create.add_argument("--variant-of", help=gettext_lazy("SKU of the product it varies."))
        create.add_argument("--service", action="store_true", help=gettext_lazy("No stock."))
        create.add_argument("--low-stock", help=gettext_lazy("Low-stock alert at."))
        add_actor_argument(create)
        prices = commands.add_parser(
            "import-prices", help=gettext_lazy("Set a price list's prices from a CSV file.")
        )
        prices.add_argument("price_list", help=gettext_lazy("Price list name or id."))
        prices.add_argument(
            "file", help=gettext_lazy("CSV: sku,unit_price[,min_quantity]; - for stdin.")
        )
        add_actor_argument(prices)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        handler = {
            "list": self._list,
            "create": self._create,
            "import-prices": self._import_prices,
        }[options["subcommand"]]
        handler(actor, options)

    def _category(self, name: str | None) -> ProductCategory | None:
        if not name:
            return None
        category = ProductCategory.objects.filter(Q(name=name) | Q(name_en__iexact=name)).first()
        if category is None:
            raise CommandError(_("category: No category “%(name)s”.") % {"name": name})
        return category

    def _list(self, actor, options):
        products = Product.objects.restrict(actor, Action.VIEW).select_related("category")
        if not policy.has_grant(actor, Product.security_type, Action.VIEW):
            raise CommandError(_("You may not see the catalogue."))
        if not options["inactive"]:
            products = products.filter(is_active=True)
        category = self._category(options["category"])
        if category is not None:
            products = products.filter(category__path__startswith=category.path)
        query = options["query"].strip()
        if query:
            products = search.filter_queryset(products, query, also=Q(sku__istartswith=query))
        rows = [
            (
                product.sku,
                product.display_name,
                product.category.display_name if product.category_id else "",
                f"{product.list_price} {product.currency}",
                product.unit,
                "" if product.is_active else _("retired"),
            )
            for product in products.order_by("sku")[: options["limit"]]
        ]
        headers = [_("SKU"), _("Name"), _("Category"), _("List price"), _("Unit"), ""]
        self.stdout.write(format_table(headers, rows))

    def _create(self, actor, options):
        parent = None
        if options["variant_of"]:
            parent = Product.objects.filter(sku__iexact=options["variant_of"]).first()
            if parent is None:
                raise CommandError(
                    _("variant-of: No product with SKU %(sku)s.") % {"sku": options["variant_of"]}
                )
        with ServiceCall(actor):
            product = catalogue_services.product_create(
                actor=actor,
                sku=options["sku"],
                name=options["name"],
                name_en=options["name_en"],
                list_price=options["price"],
                currency=options["currency"],
                unit=options["unit"],
                category=self._category(options["category"]),
                parent=parent,
                track_inventory=not options["service"],
                low_stock_threshold=options["low_stock"],
            )
        self.stdout.write(_("Product %(sku)s created.") % {"sku": product.sku})

    def _import_prices(self, actor, options):
        key = options["price_list"]
        price_list = PriceList.objects.filter(
            Q(name=key) | Q(pk=int(key)) if key.isdigit() else Q(name=key)
        ).first()
        if price_list is None:
            raise CommandError(_("No price list “%(name)s”.") % {"name": key})
        if options["file"] == "-":
            text = sys.stdin.read()
        else:
            try:
                text = Path(options["file"]).read_text(encoding="utf-8-sig")
            except OSError as error:
                raise CommandError(str(error)) from error
        rows = [row for row in csv.reader(text.splitlines()) if row and any(row)]
        if rows and rows[0] and rows[0][0].strip().lower() == "sku":
            rows = rows[1:]
        given = [row[0].strip() for row in rows]
        products = {
            product.sku.lower(): product for product in Product.objects.filter(sku__in=given)
        }
        try:
            with transaction.atomic():
                for line, row in enumerate(rows, start=1):
                    sku = row[0].strip()
                    product = (
                        products.get(sku.lower()) or Product.objects.filter(sku__iexact=sku).first()
                    )
                    if product is None or len(row) < 2:
                        raise CommandError(
                            _("line %(line)d: No product with SKU %(sku)s.")
                            % {"line": line, "sku": sku}
                            if product is None
                            else _("line %(line)d: Give the unit price.") % {"line": line}
                        )
                    try:
                        catalogue_services.price_list_item_set(
                            actor=actor,
                            price_list=price_list,
                            product=product,
                            unit_price=row[1].strip(),
                            min_quantity=(row[2].strip() if len(row) > 2 and row[2].strip() else 1),
                        )
                    except ValidationError as error:
                        raise CommandError(
                            "\n".join(
                                _("line %(line)d: %(field)s: %(message)s")
                                % {"line": line, "field": field, "message": message}
                                for field, messages in error.message_dict.items()
                                for message in messages
                            )
                        ) from error
        except CommandError:
            raise
        except (PermissionDenied, ValidationError) as error:  # nothing stored
            raise CommandError(service_error_message(error)) from error
        count = len(rows)
        self.stdout.write(
            ngettext("%(count)d price set.", "%(count)d prices set.", count) % {"count": count}
        )
