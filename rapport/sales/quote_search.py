"""Quotes in the one search index (`rapport.core.search`): found by number, title, and their
customer's name, in Chinese or pinyin, restricted like every read."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from rapport.core import search
from rapport.identity.models import User

from .models import Quote


def quote_document(quote: Quote) -> search.Document:
    customer = [quote.account.name, quote.contact.name if quote.contact else ""]
    return search.Document(
        title=f"{quote.number} {quote.title}".strip(),
        subtitle=" · ".join(part for part in customer if part),
        texts=[quote.number, str(quote.pk), quote.notes[:2000], *customer],
    )


def quotes_for_indexing(quotes: QuerySet) -> QuerySet:
    return quotes.select_related("account", "contact")


def quotes_for_display(user: User, quotes: QuerySet) -> QuerySet:
    return quotes.select_related("account")


def present_quote(user: User, quote: Quote) -> search.Hit:
    return search.Hit(
        id=quote.pk,
        title=f"{quote} {quote.title}".strip(),
        subtitle=" · ".join(
            part
            for part in [
                quote.get_status_display(),
                quote.account.name,
                f"{quote.currency} {quote.total:,.2f}",
            ]
            if part
        ),
        url=reverse("sales:quote_detail", args=[quote.pk]),
    )


def register() -> None:
    search.register(
        Quote.security_type,
        model=Quote,
        document=quote_document,
        label=_("Quotes"),
        for_indexing=quotes_for_indexing,
        for_display=quotes_for_display,
        present=present_quote,
    )
