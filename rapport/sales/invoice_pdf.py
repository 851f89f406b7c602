"""An invoice or credit note as a PDF (a billing statement, beside the official fapiao the
tax system issues): the company's letterhead, the customer, the order, the lines with VAT,
the totals, what was paid and what is still owed, the bank details — in the reader's
language or the one asked for (WeasyPrint with the Noto CJK fonts; nothing outside the page
is fetched, as for quotes)."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import translation

from .config import get_settings
from .models import Invoice, InvoiceKind
from .quote_pdf import _logo, amount, letterhead
from .services import invoices as invoice_services

LANGUAGES = ("zh-hans", "en")


def invoice_html(invoice: Invoice, language: str) -> str:
    language = language if language in LANGUAGES else "zh-hans"
    current = get_settings()
    lines = list(invoice.lines.select_related("product").order_by("position", "id"))
    is_invoice = invoice.kind == InvoiceKind.INVOICE
    with translation.override(language):
        return render_to_string(
            "sales/invoices/pdf.html",
            {
                "invoice": invoice,
                "is_invoice": is_invoice,
                "company": current,
                "head": letterhead(current, language),
                "logo": _logo(current),
                "lines": [
                    {
                        "line": line,
                        "unit_price": amount(line.unit_price),
                        "net": amount(line.net_amount),
                        "total": amount(line.total_amount),
                    }
                    for line in lines
                ],
                "amounts": {
                    "subtotal": amount(invoice.subtotal),
                    "tax_total": amount(invoice.tax_total),
                    "total": amount(invoice.total),
                    "paid": amount(invoice.paid_total),
                    "credited": amount(invoice_services.credited_total(invoice))
                    if is_invoice
                    else None,
                    "due": amount(invoice_services.amount_due(invoice)) if is_invoice else None,
                },
                "language": language,
            },
        )


def render_invoice_pdf(invoice: Invoice, language: str) -> bytes:
    from weasyprint import HTML, URLFetcher

    html = invoice_html(invoice, language)
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=("data",))).write_pdf()


def filename(invoice: Invoice) -> str:
    return f"{invoice.number or f'draft-{invoice.pk}'}.pdf"
