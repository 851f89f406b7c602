"""The "Quotes" card of the account 360 page and of the opportunity page: the latest quotes
the reader may see (restricted like every read), how many are open, and "New quote" for the
account (or for the opportunity, its account and contact filled in)."""

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
    return _render(request, {"account": record}, new_query=f"account={record.pk}")


def render_opportunity_quotes(request: HttpRequest, opportunity: Any) -> str:
    """The opportunity page's card (the page lays its cards out itself, so this one brings
    its own frame)."""
    body = _render(
        request,
        {"opportunity": opportunity},
        new_query=f"account={opportunity.account_id}&opportunity={opportunity.pk}",
    )
    if not body:
        return ""
    return render_to_string(
        "sales/opportunities/_document_card.html",
        {"title": _("Quotes"), "body": body, "key": "quotes"},
        request=request,
    )


def _render(request: HttpRequest, scope: dict[str, Any], *, new_query: str) -> str:
    user = request.user
    if not policy.has_grant(user, Quote.security_type, Action.VIEW):
        return ""
    quotes = Quote.objects.restrict(user, Action.VIEW).filter(**scope)
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
            "new_query": new_query,
        },
        request=request,
    )


def register() -> None:
    from rapport.customers.detail_views import Panel, register_panel
    from rapport.customers.models import Account

    from .opportunity_views import DETAIL_PANELS

    DETAIL_PANELS.append(render_opportunity_quotes)
    register_panel(
        Account.security_type,
        Panel(key="quotes", title=_("Quotes"), render=render_quotes, order=130),
    )
