"""`rapport quote list|show|pdf|send|accept`: quotes from the shell, as a user (`--as`),
through the same services and restrictions as the pages and the API. A quote is named by
its id or its number (Q2026-000001: the latest version you may see)."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, format_table
from rapport.core.errors import PermissionDenied
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.models import Action

from ... import quote_pdf
from ...models import Quote, QuoteStatus
from ...services import quotes as quote_services


def _refusal(error: ValidationError) -> CommandError:
    lines = []
    for name, messages in getattr(error, "message_dict", {"": error.messages}).items():
        lines.extend(f"{name}: {message}" if name else message for message in messages)
    return CommandError("\n".join(lines))


class Command(CliCommand):
    help = gettext_lazy("Quotes: list, show, save as PDF, send, accept.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{list,show,pdf,send,accept}"
        )
        listing = commands.add_parser("list", help=gettext_lazy("Quotes you may see."))
        listing.add_argument("--mine", action="store_true", help=gettext_lazy("Only yours."))
        listing.add_argument("--status", choices=QuoteStatus.values)
        listing.add_argument("--account", type=int, help=gettext_lazy("Account id."))
        listing.add_argument("--limit", type=int, default=50)
        add_actor_argument(listing)
        show = commands.add_parser("show", help=gettext_lazy("A quote and its lines."))
        show.add_argument("quote", help=gettext_lazy("Id or number."))
        add_actor_argument(show)
        pdf = commands.add_parser("pdf", help=gettext_lazy("Save the quote as a PDF file."))
        pdf.add_argument("quote", help=gettext_lazy("Id or number."))
        pdf.add_argument("--output", "-o", help=gettext_lazy("File (default: NUMBER-vN.pdf)."))
        add_actor_argument(pdf)
        send = commands.add_parser(
            "send", help=gettext_lazy("E-mail an approved quote's PDF to its contact.")
        )
        send.add_argument("quote", help=gettext_lazy("Id or number."))
        send.add_argument("--message", default="")
        add_actor_argument(send)
        accept = commands.add_parser(
            "accept", help=gettext_lazy("The customer accepted: make the order.")
        )
        accept.add_argument("quote", help=gettext_lazy("Id or number."))
        add_actor_argument(accept)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        try:
            getattr(self, "do_" + options["subcommand"])(actor, options)
        except ValidationError as error:
            raise _refusal(error) from None
        except PermissionDenied as error:
            raise CommandError(str(error.message)) from None

    def _quote(self, actor, name: str, action: str = Action.VIEW) -> Quote:
        quotes = Quote.objects.restrict(actor, action).select_related("account", "contact")
        text = str(name).strip()
        quote = (
            quotes.filter(pk=int(text)).first()
            if text.isdigit()
            else quotes.filter(number=text).order_by("-version").first()
        )
        if quote is None:
            raise CommandError(_("quote: No quote “%(name)s” you may see.") % {"name": text})
        return quote

    def do_list(self, actor, options) -> None:
        quotes = Quote.objects.restrict(actor, Action.VIEW).select_related("account", "owner")
        if options["mine"]:
            quotes = quotes.filter(owner=actor)
        if options["status"]:
            quotes = quotes.filter(status=options["status"])
        if options["account"]:
            quotes = quotes.filter(account_id=options["account"])
        rows = [
            [
                str(quote.pk),
                str(quote),
                quote.title,
                quote.get_status_display(),
                quote.account.name,
                f"{quote.currency} {quote.total:,.2f}",
                f"{quote.valid_until:%Y-%m-%d}" if quote.valid_until else "",
                str(quote.owner),
            ]
            for quote in quotes.order_by("-id")[: max(1, options["limit"])]
        ]
        headers = [
            _("id"),
            _("number"),
            _("title"),
            _("status"),
            _("account"),
            _("total"),
            _("valid until"),
            _("owner"),
        ]
        self.stdout.write(format_table(headers, rows))

    def do_show(self, actor, options) -> None:
        quote = self._quote(actor, options["quote"])
        self.stdout.write(f"{quote} {quote.title}".strip())
        self.stdout.write(
            f"{quote.get_status_display()} · {quote.account.name}"
            f"{' · ' + quote.contact.name if quote.contact else ''} · "
            + _("valid until %(date)s")
            % {"date": f"{quote.valid_until:%Y-%m-%d}" if quote.valid_until else "—"}
        )
        rows = [
            [
                str(line.position),
                line.description,
                f"{line.quantity.normalize()} {line.unit}".strip(),
                f"{line.unit_price:,.2f}",
                f"{line.discount_percent.normalize()}%",
                f"{line.tax_percent.normalize()}%",
                f"{line.net_amount:,.2f}",
            ]
            for line in quote.lines.order_by("position", "id")
        ]
        headers = [
            "#",
            _("description"),
            _("quantity"),
            _("unit price"),
            _("discount"),
            _("VAT"),
            _("net amount"),
        ]
        self.stdout.write(format_table(headers, rows))
        self.stdout.write(
            _("Subtotal %(subtotal)s · discounts %(discount)s (%(percent)s%%) · VAT %(tax)s")
            % {
                "subtotal": f"{quote.subtotal:,.2f}",
                "discount": f"{quote.discount_total:,.2f}",
                "percent": quote.effective_discount_percent,
                "tax": f"{quote.tax_total:,.2f}",
            }
        )
        self.stdout.write(_("Total %(total)s") % {"total": f"{quote.currency} {quote.total:,.2f}"})

    def do_pdf(self, actor, options) -> None:
        from rapport.core import trail

        quote = self._quote(actor, options["quote"])
        path = Path(options["output"] or quote_pdf.filename(quote))
        try:
            path.write_bytes(quote_pdf.render_quote_pdf(quote))
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}") from None
        trail.record(actor=actor, action="quote.pdf", target=quote)
        self.stdout.write(_("Saved %(path)s.") % {"path": path})

    def do_send(self, actor, options) -> None:
        quote = self._quote(actor, options["quote"], Action.CHANGE)
        quote = quote_services.quote_send(actor=actor, quote=quote, message=options["message"])
        self.stdout.write(
            _("%(quote)s sent to %(to)s.") % {"quote": quote, "to": quote_services.recipient(quote)}
        )

    def do_accept(self, actor, options) -> None:
        quote = self._quote(actor, options["quote"], Action.CHANGE)
        quote = quote_services.quote_accept(actor=actor, quote=quote)
        order = quote.orders.first()
        self.stdout.write(
            _("%(quote)s accepted: order %(order)s.")
            % {"quote": quote, "order": order.number if order else "—"}
        )
