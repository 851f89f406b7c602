"""Satisfaction surveys for the small demo: most contacts of resolved tickets agreed to
surveys (a recorded consent with its evidence), their CSAT surveys went out over the last
year and most were answered; a few NPS answers too — so the satisfaction dashboard, the
ticket cards and the 360 cards show numbers. No e-mail leaves: links are not delivered."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from rapport.customers import services as customer_services
from rapport.customers.querysets import consent_allows
from rapport.identity.models import User
from rapport.service.models import Survey, SurveyKind, Ticket, TicketStatus
from rapport.service.services import surveys as survey_services

CSAT_SCORES = [5, 4, 3, 2, 1]
CSAT_WEIGHTS = [45, 30, 12, 8, 5]
NPS_SCORES = list(range(11))
NPS_WEIGHTS = [1, 1, 1, 2, 2, 3, 5, 10, 15, 25, 35]
COMMENTS = [
    "",
    "",
    "处理得很快，谢谢！",
    "客服态度很好，问题一次解决。",
    "等了比较久才有人回复。",
    "Quick and friendly, thank you.",
    "希望能提供更详细的操作说明。",
]


def generate_surveys(*, users: dict[str, User], rng: random.Random) -> int:
    """Surveys on the demo's resolved tickets; returns how many were sent."""
    admin = users.get("admin")
    if admin is None:
        return 0
    tickets = list(
        Ticket.objects.filter(
            status__in=[TicketStatus.RESOLVED, TicketStatus.CLOSED], contact__isnull=False
        )
        .select_related("contact")
        .order_by("id")
    )
    now = timezone.now()
    sent = 0
    with transaction.atomic():
        for ticket in tickets:
            contact = ticket.contact
            if rng.random() < 0.8 and not consent_allows(
                contact, channel="email", purpose="research"
            ):
                if not contact.emails:
                    continue
                customer_services.consent_record(
                    actor=admin,
                    contact=contact,
                    channel="email",
                    purpose="research",
                    status="granted",
                    source="web_form",
                    evidence="演示数据：客户在服务门户勾选了满意度调查 / demo consent",
                )
            survey = survey_services.csat_for_ticket(ticket=ticket, deliver=False)
            if survey is None or survey.not_sent_reason:
                continue
            sent_at = now - timedelta(days=rng.randint(0, 330), hours=rng.randint(0, 23))
            answered = rng.random() < 0.75
            score = rng.choices(CSAT_SCORES, CSAT_WEIGHTS)[0]
            survey_services.survey_record_demo_answer(
                survey=survey,
                score=score,
                comment=rng.choice(COMMENTS) if answered else "",
                sent_at=sent_at,
                answered_at=sent_at + timedelta(hours=rng.randint(1, 48)) if answered else None,
            )
            sent += 1
            if answered and score <= 2:
                survey_services.survey_follow_up(survey_id=survey.pk)
        counts = survey_services.nps_send_due(days=90, limit=40, deliver=False)
        for survey in Survey.objects.filter(kind=SurveyKind.NPS, sent_at__isnull=True).exclude(
            token_hash=None
        ):
            sent_at = now - timedelta(days=rng.randint(0, 330), hours=rng.randint(0, 23))
            answered = rng.random() < 0.6
            survey_services.survey_record_demo_answer(
                survey=survey,
                score=rng.choices(NPS_SCORES, NPS_WEIGHTS)[0],
                comment=rng.choice(COMMENTS) if answered else "",
                sent_at=sent_at,
                answered_at=sent_at + timedelta(hours=rng.randint(1, 72)) if answered else None,
            )
        sent += counts["sent"]
    return sent
