"""A quote as a PDF: the company's letterhead (`SalesSettings`), the lines, discounts, VAT,
totals, validity and terms, in the quote's language (WeasyPrint with the Noto CJK fonts).

Nothing outside the page is fetched: the logo is embedded in the page as a data URI and the
fetcher allows only that scheme, so a value that looks like a link stays text."""

from __future__ import annotations

import base64
import mimetypes
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import translation

from .config import get_settings
from .models import Quote, SalesSettings


def amount(value: Decimal | None) -> str:
    """An amount in figures, 1,234,567.80 (Decimal, never a float)."""
    return f"{Decimal(value or 0):,.2f}"


def _logo(current: SalesSettings) -> str:
    if not current.logo:
        return ""
    try:
        with current.logo.open("rb") as handle:
            content = handle.read()
    except OSError:
        return ""
    kind = mimetypes.guess_type(current.logo.name)[0] or "image/png"
    return f"data:{kind};base64,{base64.b64encode(content).decode('ascii')}"


def letterhead(current: SalesSettings, language: str) -> dict[str, str]:
    """The company's name and address in `language` (falling back to the other one)."""
    english = language == "en"
    return {
        "name": (current.company_name_en if english else "")
        or current.company_name
        or current.company_name_en,
        "address": (current.address_en if english else "") or current.address or current.address_en,
    }


def quote_html(quote: Quote) -> str:
    current = get_settings()
    lines = list(quote.lines.select_related("product").order_by("position", "id"))
    with translation.override(quote.language or "zh-hans"):
        return render_to_string(
            "sales/quotes/pdf.html",
            {
                "quote": quote,
                "company": current,
                "head": letterhead(current, quote.language),
                "logo": _logo(current),
                "lines": [
                    {
                        "line": line,
                        "unit_price": amount(line.unit_price),
                        "net": amount(line.net_amount),
                        "tax": amount(line.tax_amount),
                        "total": amount(line.total_amount),
                    }
                    for line in lines
                ],
                "amounts": {
                    name: amount(getattr(quote, name))
                    for name in ("subtotal", "discount_total", "tax_total", "total")
                },
                "net_total": amount(quote.total - quote.tax_total),
                "language": quote.language,
            },
        )


def render_quote_pdf(quote: Quote) -> bytes:
    """The quote's PDF."""
    from weasyprint import HTML, URLFetcher

    html = quote_html(quote)
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=("data",))).write_pdf()


def filename(quote: Quote) -> str:
    return f"{quote.number}-v{quote.version}.pdf"
