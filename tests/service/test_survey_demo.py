"""The small demo leaves answered and unanswered surveys on its resolved tickets, so the
satisfaction dashboard shows numbers; no survey pretends to reach someone without consent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from rapport.customers.querysets import consent_allows
from rapport.service import satisfaction
from rapport.service.models import Survey

pytestmark = pytest.mark.django_db


def test_the_small_demo_has_survey_answers(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "demo",
            "--size",
            "small",
            "--accounts",
            "40",
            "--contacts",
            "60",
            "--interactions",
            "20",
            "--seed",
            "7",
            stdout=StringIO(),
            stderr=StringIO(),
        )
    sent = Survey.objects.filter(sent_at__isnull=False)
    assert sent.filter(answered_at__isnull=False).exists()
    assert sent.filter(answered_at__isnull=True).exists()
    for survey in sent.select_related("contact"):
        assert consent_allows(survey.contact, channel="email", purpose="research")
    figures = satisfaction.summary(Survey.objects.filter(sent_at__isnull=False))
    assert figures["csat_percent"] is not None and figures["response_rate"] is not None
    # demo links are not e-mailed (ticket replies may be)
    assert not [message for message in mailoutbox if "/s/" in message.body]
