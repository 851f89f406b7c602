"""`{% ticket_survey_card ticket %}`: the ticket page's satisfaction card — the ticket's CSAT
survey as the reader may see it (one restricted query), or nothing."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string

from rapport.identity import policy
from rapport.identity.models import Action

from ..models import Survey, SurveyKind, TicketStatus

register = template.Library()


@register.simple_tag(takes_context=True)
def ticket_survey_card(context: dict[str, Any], ticket) -> str:
    request = context.get("request")
    user = getattr(request, "user", None)
    if (
        ticket is None
        or user is None
        or not policy.has_grant(user, Survey.security_type, Action.VIEW)
    ):
        return ""
    survey = (
        Survey.objects.restrict(user, Action.VIEW)
        .filter(ticket_id=ticket.pk, kind=SurveyKind.CSAT)
        .first()
    )
    if survey is None and ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return ""
    return render_to_string(
        "service/surveys/_ticket_survey.html", {"survey": survey, "ticket": ticket}, request=request
    )
