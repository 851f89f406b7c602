"""`{% ticket_complaint_card ticket %}`: the ticket page's complaint card — its stage with
the next-step buttons, what was found and done, and the form for those who may change the
ticket; nothing for a ticket of another type."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string

register = template.Library()


@register.simple_tag(takes_context=True)
def ticket_complaint_card(context: dict[str, Any], ticket) -> str:
    from ..complaint_views import card_context

    request = context.get("request")
    if ticket is None or request is None or getattr(request, "user", None) is None:
        return ""
    card = card_context(request, ticket)
    if card is None:
        return ""
    return render_to_string("service/complaints/_card.html", card, request=request)
