"""The "Satisfaction" card of the account and contact 360 pages: CSAT %, NPS and the latest
answers of the customer's surveys the reader may see (restricted like every read)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from rapport.identity import policy
from rapport.identity.models import Action

from . import satisfaction
from .models import Survey

SHOWN = 5


def render_satisfaction(request: HttpRequest, record: Any) -> str:
    user = request.user
    if not policy.has_grant(user, Survey.security_type, Action.VIEW):
        return ""
    field = "account" if record.security_type == "customers.account" else "contact"
    surveys = satisfaction.visible(user).filter(**{field: record}, sent_at__isnull=False)
    latest = list(
        surveys.filter(answered_at__isnull=False)
        .select_related("ticket")
        .order_by("-answered_at", "-id")[:SHOWN]
    )
    summary = satisfaction.summary(surveys)
    if not summary["sent"]:
        return ""
    return render_to_string(
        "service/surveys/_panel.html",
        {"summary": summary, "latest": latest, "record": record},
        request=request,
    )


def register() -> None:
    from rapport.customers.detail_views import Panel, register_panel
    from rapport.customers.models import Account, Contact

    for model in (Account, Contact):
        register_panel(
            model.security_type,
            Panel(
                key="satisfaction", title=_("Satisfaction"), render=render_satisfaction, order=160
            ),
        )
