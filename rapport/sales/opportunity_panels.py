"""The "Opportunities" card of the account and contact 360 pages: the customer's latest
opportunities the reader may see (restricted like every read), the open pipeline's count and
amount, and "New opportunity" with the customer filled in."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from rapport.identity import policy
from rapport.identity.models import Action

from .models import Opportunity, OpportunityStatus

SHOWN = 5


def render_opportunities(request: HttpRequest, record: Any) -> str:
    user = request.user
    if not policy.has_grant(user, Opportunity.security_type, Action.VIEW):
        return ""
    field = "account" if record.security_type == "customers.account" else "contact"
    opportunities = Opportunity.objects.restrict(user, Action.VIEW).filter(**{field: record})
    latest = list(opportunities.select_related("stage", "owner").order_by("-id")[:SHOWN])
    can_add = policy.has_grant(user, Opportunity.security_type, Action.ADD)
    if not latest and not can_add:
        return ""
    totals = opportunities.filter(status=OpportunityStatus.OPEN).aggregate(
        count=Count("id"), amount=Sum("amount")
    )
    return render_to_string(
        "sales/opportunities/_panel.html",
        {
            "opportunities": latest,
            "open_count": totals["count"],
            "open_amount": totals["amount"] or Decimal("0"),
            "can_add": can_add,
            "field": field,
            "record": record,
        },
        request=request,
    )


def register() -> None:
    from rapport.customers.detail_views import Panel, register_panel
    from rapport.customers.models import Account, Contact

    for model in (Account, Contact):
        register_panel(
            model.security_type,
            Panel(
                key="opportunities",
                title=_("Opportunities"),
                render=render_opportunities,
                order=120,
            ),
        )
