"""`rapport invoice list|create|issue|pay`: invoices from the shell, as a user (`--as`),
through the same services and restrictions as the pages and the API."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core import trail
from rapport.core.commands import CliCommand, format_table
from rapport.core.errors import PermissionDenied
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.models import Action

from ... import invoice_pdf
from ...invoice_selectors import with_balance
from ...models import Invoice, InvoiceStatus, Order, PaymentMethod
from ...services import invoices as invoice_services
from .order import find, refusal


class Command(CliCommand):
    help = gettext_lazy("Invoices: list, create from an order, issue, record a payment.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{list,create,issue,pay,pdf}"
        )
        listing = commands.add_parser("list", help=gettext_lazy("Invoices you may see."))
        listing.add_argument("--status", choices=InvoiceStatus.values)
        listing.add_argument("--overdue", action="store_true")
        listing.add_argument("--limit", type=int, default=50)
        add_actor_argument(listing)
        create = commands.add_parser(
            "create", help=gettext_lazy("A draft invoice of what is left to invoice on an order.")
        )
        create.add_argument("order", help=gettext_lazy("Order number or id."))
        create.add_argument(
            "--line",
            action="append",
            default=[],
            metavar="POSITION=QUANTITY",
            help=gettext_lazy("Invoice only this quantity of the line at this position."),
        )
        add_actor_argument(create)
        issue = commands.add_parser("issue", help=gettext_lazy("Issue a draft invoice."))
        issue.add_argument("invoice", help=gettext_lazy("Number or id."))
        add_actor_argument(issue)
        pay = commands.add_parser("pay", help=gettext_lazy("Record a payment."))
        pay.add_argument("invoice", help=gettext_lazy("Number or id."))
        pay.add_argument("amount")
        pay.add_argument("--currency", help=gettext_lazy("Default: the invoice's."))
        pay.add_argument("--received-on", type=date.fromisoformat)
        pay.add_argument("--method", default=PaymentMethod.BANK_TRANSFER)
        pay.add_argument("--reference", default="")
        add_actor_argument(pay)
        pdf = commands.add_parser("pdf", help=gettext_lazy("Save the invoice as a PDF file."))
        pdf.add_argument("invoice", help=gettext_lazy("Number or id."))
        pdf.add_argument("--output", "-o", help=gettext_lazy("File (default: NUMBER.pdf)."))
        pdf.add_argument("--language", choices=invoice_pdf.LANGUAGES, default="zh-hans")
        add_actor_argument(pdf)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        try:
            getattr(self, "do_" + options["subcommand"])(actor, options)
        except ValidationError as error:
            raise refusal(error) from None
        except PermissionDenied as error:
            raise CommandError(str(error.message)) from None

    def do_list(self, actor, options) -> None:
        invoices = with_balance(
            Invoice.objects.restrict(actor, Action.VIEW).select_related("account", "order")
        )
        if options["status"]:
            invoices = invoices.filter(status=options["status"])
        if options["overdue"]:
            invoices = invoices.filter(
                status__in=invoice_services.OPEN, due_date__lt=timezone.localdate()
            )
        rows = [
            [
                invoice.number,
                invoice.get_kind_display(),
                invoice.get_status_display(),
                invoice.account.name,
                invoice.order.number,
                f"{invoice.currency} {invoice.total}",
                str(invoice.owed),
                invoice.due_date.isoformat() if invoice.due_date else "",
            ]
            for invoice in invoices.order_by("-id")[: max(1, options["limit"])]
        ]
        headers = [
            _("number"),
            _("type"),
            _("status"),
            _("account"),
            _("order"),
            _("total"),
            _("owed"),
            _("due date"),
        ]
        self.stdout.write(format_table(headers, rows))

    def do_create(self, actor, options) -> None:
        order = find(Order, actor, options["order"], Action.VIEW, _("order"))
        lines = None
        if options["line"]:
            by_position = {line.position: line.pk for line in order.lines.all()}
            lines = []
            for given in options["line"]:
                position, _sep, quantity = given.partition("=")
                if not position.strip().isdigit() or int(position) not in by_position:
                    raise CommandError(_("line: No line at position %(p)s.") % {"p": position})
                lines.append({"order_line": by_position[int(position)], "quantity": quantity})
        invoice = invoice_services.invoice_create_from_order(actor=actor, order=order, lines=lines)
        self.stdout.write(
            _("%(number)s drafted: %(currency)s %(total)s")
            % {"number": invoice.number, "currency": invoice.currency, "total": invoice.total}
        )

    def do_pdf(self, actor, options) -> None:
        invoice = find(Invoice, actor, options["invoice"], Action.VIEW, _("invoice"))
        path = Path(options["output"] or invoice_pdf.filename(invoice))
        try:
            path.write_bytes(invoice_pdf.render_invoice_pdf(invoice, options["language"]))
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}") from None
        trail.record(actor=actor, action="invoice.pdf", target=invoice)
        self.stdout.write(_("Saved %(path)s.") % {"path": path})

    def do_issue(self, actor, options) -> None:
        invoice = find(Invoice, actor, options["invoice"], Action.CHANGE, _("invoice"))
        invoice = invoice_services.invoice_issue(actor=actor, invoice=invoice)
        self.stdout.write(
            _("%(number)s issued, due %(due)s")
            % {"number": invoice.number, "due": invoice.due_date.isoformat()}
        )

    def do_pay(self, actor, options) -> None:
        invoice = find(Invoice, actor, options["invoice"], Action.CHANGE, _("invoice"))
        invoice_services.payment_record(
            actor=actor,
            invoice=invoice,
            amount=options["amount"],
            currency=options["currency"] or invoice.currency,
            received_on=options["received_on"] or timezone.localdate(),
            method=options["method"],
            reference=options["reference"],
        )
        invoice.refresh_from_db()
        self.stdout.write(
            _("%(number)s: %(status)s, %(owed)s still owed")
            % {
                "number": invoice.number,
                "status": invoice.get_status_display(),
                "owed": invoice_services.amount_due(invoice),
            }
        )
