"""The "Quotes" card of the account 360 page: the account's latest quotes the reader may
see (restricted like every read), how many are open, and "New quote" for the account."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from rapport.identity import policy
from rapport.identity.models import Action

from .models import Quote, QuoteStatus

SHOWN = 5
OPEN = (QuoteStatus.DRAFT, QuoteStatus.PENDING_APPROVAL, QuoteStatus.APPROVED, QuoteStatus.SENT)


def render_quotes(request: HttpRequest, record: Any) -> str:
    user = request.user
    if not policy.has_grant(user, Quote.security_type, Action.VIEW):
        return ""
    quotes = Quote.objects.restrict(user, Action.VIEW).filter(account=record)
    latest = list(quotes.select_related("owner").order_by("-id")[:SHOWN])
    can_add = policy.has_grant(user, Quote.security_type, Action.ADD)
    if not latest and not can_add:
        return ""
    return render_to_string(
        "sales/quotes/_panel.html",
        {
            "quotes": latest,
            "open_count": quotes.filter(status__in=OPEN).count(),
            "can_add": can_add,
            "record": record,
        },
        request=request,
    )


def register() -> None:
    from rapport.customers.detail_views import Panel, register_panel
    from rapport.customers.models import Account

    register_panel(
        Account.security_type,
        Panel(key="quotes", title=_("Quotes"), render=render_quotes, order=130),
    )
