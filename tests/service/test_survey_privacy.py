"""Data-subject requests cover survey answers: the access bundle lists them, an erasure drops
the person's comments and open links (the scores stay for the aggregates)."""

from __future__ import annotations

import json
import zipfile

import pytest

from rapport.audit.models import AuditEvent
from rapport.customers import services as customer_services
from rapport.dataops import privacy
from rapport.service import services as service_services
from rapport.service.models import Survey
from rapport.service.services import surveys as survey_services
from tests.dataops.test_privacy import confirm_all, make_person, media, new_request  # noqa: F401
from tests.service.test_surveys import link_token

pytestmark = pytest.mark.django_db


def test_answers_are_in_the_bundle_and_comments_go_on_erasure(
    org,
    media,  # noqa: F811
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    admin = org["admin"]
    contact, _colleague = make_person(admin, with_history=False)
    customer_services.consent_record(
        actor=admin,
        contact=contact,
        channel="email",
        purpose="research",
        status="granted",
        source="web_form",
        evidence="门户勾选",
    )
    ticket = service_services.ticket_create(actor=admin, subject="发票问题", contact=contact)
    with django_capture_on_commit_callbacks(execute=True):
        service_services.ticket_set_status(actor=admin, ticket=ticket, status="resolved")
    survey = Survey.objects.get(ticket=ticket)
    if survey.not_sent_reason:
        pytest.skip(f"the test person cannot be surveyed: {survey.not_sent_reason}")
    token = link_token(mailoutbox[-1])
    survey_services.survey_answer(token=token, score=2, comment="张伟：太慢了")

    access = new_request(admin)
    confirm_all(admin, access)
    privacy.bundle_execute(privacy.bundle_start(actor=admin, request=access))
    with zipfile.ZipFile(privacy.bundle_file(actor=admin, request=access)) as archive:
        data = json.loads(archive.read(f"request-{access.pk}.json"))
        html = archive.read(f"request-{access.pk}.html").decode()
    (shown,) = data["contacts"][0]["surveys"]
    assert shown["score"] == 2 and shown["comment"] == "张伟：太慢了"
    assert "张伟：太慢了" in html

    erasure = new_request(admin, kind="erasure")
    confirm_all(admin, erasure)
    done = privacy.request_erase(actor=admin, request=erasure)
    assert done.counts["surveys"] == 1
    survey.refresh_from_db()
    assert survey.comment == "" and survey.score == 2 and survey.token_hash is None
    assert AuditEvent.objects.filter(
        action="redact", object_type="service.survey", object_id=str(survey.pk)
    ).exists()
