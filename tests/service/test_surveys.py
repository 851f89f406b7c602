"""Satisfaction surveys through their services: CSAT sent once when a ticket is resolved (with
consent, to an address), NPS by the periodic job (idempotent), the customer's link (forged,
expired, answered twice, concurrent answers, only hashes stored), validation, low-score
follow-up, restriction, privacy."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from rapport.audit.models import AuditEvent
from rapport.core import events
from rapport.customers import services as customer_services
from rapport.customers.models import Interaction
from rapport.identity.models import Team
from rapport.service import services
from rapport.service.models import Survey, SurveyNotSent, TicketStatus
from rapport.service.services import surveys as survey_services
from rapport.service.services.surveys import SurveyLinkError
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^\s\"<>]+/s/([A-Za-z0-9_\-]+)/")


def grant_research(actor, contact) -> None:
    customer_services.consent_record(
        actor=actor,
        contact=contact,
        channel="email",
        purpose="research",
        status="granted",
        source="web_form",
        evidence="表单 2026-11-01",
    )


@pytest.fixture
def desk(org):
    south = Team.objects.create(name="华南客服", department=org["departments"]["south"])
    south.members.add(org["agent"])
    east_agent = UserFactory(
        username="agent_east", department=org["departments"]["east"], roles=["service_agent"]
    )
    east = Team.objects.create(name="华东客服", department=org["departments"]["east"])
    east.members.add(east_agent)
    account = customer_services.account_create(actor=org["admin"], name="北京华信软件有限公司")
    contact = customer_services.contact_create(
        actor=org["admin"], name="张伟", accounts=[account], emails=["zhang.wei@example.com"]
    )
    grant_research(org["admin"], contact)
    return {
        "south": south,
        "east": east,
        "east_agent": east_agent,
        "account": account,
        "contact": contact,
    }


def resolve(actor, ticket, capture):
    with capture(execute=True):
        services.ticket_set_status(actor=actor, ticket=ticket, status=TicketStatus.RESOLVED)


def new_ticket(org, desk, *, contact=None, team=None, subject="无法登录"):
    agent = org["agent"]
    ticket = services.ticket_create(
        actor=org["admin"],
        subject=subject,
        contact=contact if contact is not None else desk["contact"],
        team=team or desk["south"],
        assignee=agent,
    )
    return ticket


def link_token(message) -> str:
    found = LINK.search(message.body)
    assert found, message.body
    return found.group(1)


def test_resolving_sends_one_csat_with_a_working_link(
    org, desk, django_capture_on_commit_callbacks
):
    ticket = new_ticket(org, desk)
    resolve(org["agent"], ticket, django_capture_on_commit_callbacks)
    survey = Survey.objects.get(ticket=ticket)
    assert survey.kind == "csat" and survey.sent_at is not None and survey.not_sent_reason == ""
    assert survey.agent == org["agent"] and survey.team == desk["south"]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["zhang.wei@example.com"]
    assert ticket.number in message.subject
    token = link_token(message)
    assert f"/s/{token}/" in message.alternatives[0][0]
    # only the hash is stored; the secret is nowhere in the table or the audit trail
    assert survey.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not Survey.objects.filter(token_hash=token).exists()
    for event in AuditEvent.objects.filter(object_type="service.survey"):
        assert token not in str(event.changes) and token not in str(event.extra)
    assert survey_services.survey_for_token(token).pk == survey.pk
    # reopened and resolved again: no second survey, no second e-mail
    services.ticket_set_status(actor=org["agent"], ticket=ticket, status=TicketStatus.OPEN)
    resolve(org["agent"], ticket, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_set_status(actor=org["agent"], ticket=ticket, status=TicketStatus.CLOSED)
    assert Survey.objects.filter(ticket=ticket).count() == 1
    assert len(mail.outbox) == 1


def test_no_consent_no_email_no_contact_are_recorded_not_sent(
    org, desk, django_capture_on_commit_callbacks
):
    admin = org["admin"]
    silent = customer_services.contact_create(
        actor=admin, name="李娜", accounts=[desk["account"]], emails=["li.na@example.com"]
    )
    no_mail = customer_services.contact_create(
        actor=admin, name="王芳", accounts=[desk["account"]], title="采购"
    )
    grant_research(admin, no_mail)
    withdrawn = customer_services.contact_create(
        actor=admin, name="赵强", accounts=[desk["account"]], emails=["zhao@example.com"]
    )
    grant_research(admin, withdrawn)
    customer_services.consent_withdraw(
        actor=admin, contact=withdrawn, channel="email", purpose="research"
    )
    cases = {
        silent: SurveyNotSent.NO_CONSENT,
        no_mail: SurveyNotSent.NO_EMAIL,
        withdrawn: SurveyNotSent.NO_CONSENT,
    }
    for contact, reason in cases.items():
        ticket = new_ticket(org, desk, contact=contact, subject=contact.name)
        resolve(org["agent"], ticket, django_capture_on_commit_callbacks)
        survey = Survey.objects.get(ticket=ticket)
        assert (survey.not_sent_reason, survey.sent_at, survey.token_hash) == (reason, None, None)
    nobody = services.ticket_create(actor=admin, subject="匿名来电", team=desk["south"])
    resolve(admin, nobody, django_capture_on_commit_callbacks)
    assert Survey.objects.get(ticket=nobody).not_sent_reason == SurveyNotSent.NO_CONTACT
    assert mail.outbox == []
    # consent given later: resolving again after a reopen sends it then, once
    grant_research(admin, silent)
    ticket = Survey.objects.get(contact=silent).ticket
    services.ticket_set_status(actor=admin, ticket=ticket, status=TicketStatus.OPEN)
    resolve(admin, ticket, django_capture_on_commit_callbacks)
    survey = Survey.objects.get(ticket=ticket)
    assert survey.sent_at is not None and survey.not_sent_reason == ""
    assert len(mail.outbox) == 1


def test_a_contact_without_e_mail_gets_the_link_by_sms_with_sms_consent(
    org, desk, settings, django_capture_on_commit_callbacks
):
    from rapport.core import sms

    settings.RAPPORT_SMS_BACKEND = "rapport.core.sms.LogSMSBackend"
    sms.LogSMSBackend.sent.clear()
    admin = org["admin"]
    mobile = customer_services.contact_create(
        actor=admin, name="王芳", accounts=[desk["account"]], phones=["13912345678"]
    )
    ticket = new_ticket(org, desk, contact=mobile, subject="短信")
    resolve(org["agent"], ticket, django_capture_on_commit_callbacks)
    survey = Survey.objects.get(ticket=ticket)
    assert survey.not_sent_reason == SurveyNotSent.NO_CONSENT  # a phone, but no SMS consent
    customer_services.consent_record(
        actor=admin,
        contact=mobile,
        channel="sms",
        purpose="research",
        status="granted",
        source="phone",
        evidence="电话录音 2026-11-30",
    )
    services.ticket_set_status(actor=admin, ticket=ticket, status=TicketStatus.OPEN)
    resolve(admin, ticket, django_capture_on_commit_callbacks)
    survey.refresh_from_db()
    assert survey.channel == "sms" and survey.sent_at is not None
    (message,) = sms.LogSMSBackend.sent
    assert message.to == "+8613912345678" and ticket.number in message.text
    token = LINK.search(message.text).group(1)
    assert survey_services.survey_for_token(token).pk == survey.pk
    assert mail.outbox == []


def _sent_survey(org, desk, capture):
    ticket = new_ticket(org, desk)
    resolve(org["agent"], ticket, capture)
    return Survey.objects.get(ticket=ticket), link_token(mail.outbox[-1])


def test_a_forged_an_expired_and_an_answered_link_change_nothing(
    org, desk, django_capture_on_commit_callbacks
):
    survey, token = _sent_survey(org, desk, django_capture_on_commit_callbacks)
    for forged in ("", "x", token[:-1] + ("A" if token[-1] != "A" else "B"), "a" * 32, token * 4):
        with pytest.raises(SurveyLinkError) as refused:
            survey_services.survey_answer(token=forged, score=5)
        assert refused.value.code == "invalid"
    with django_capture_on_commit_callbacks(execute=True):
        survey_services.survey_answer(token=token, score=5, comment="很快解决了")
    with pytest.raises(SurveyLinkError) as refused:
        survey_services.survey_answer(token=token, score=1, comment="改主意了")
    assert refused.value.code == "answered"
    survey.refresh_from_db()
    assert (survey.score, survey.comment) == (5, "很快解决了")
    # expired
    other, other_token = _sent_survey(org, desk, django_capture_on_commit_callbacks)
    Survey.objects.filter(pk=other.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(SurveyLinkError) as refused:
        survey_services.survey_answer(token=other_token, score=4)
    assert refused.value.code == "expired"
    other.refresh_from_db()
    assert other.answered_at is None and other.score is None


def test_the_expiry_follows_the_setting(org, desk, settings, django_capture_on_commit_callbacks):
    settings.RAPPORT_SURVEY_EXPIRY_DAYS = 3
    survey, _token = _sent_survey(org, desk, django_capture_on_commit_callbacks)
    assert timedelta(days=3) - timedelta(minutes=1) < survey.expires_at - survey.created_at
    assert survey.expires_at - survey.created_at < timedelta(days=3, minutes=1)


@pytest.mark.parametrize(
    ("score", "comment", "fields"),
    [
        ("", "", {"score"}),
        ("6", "", {"score"}),
        ("0", "", {"score"}),
        ("4.5", "", {"score"}),
        ("五", "", {"score"}),
        ("3", "长" * 2001, {"comment"}),
        ("-1", "长" * 2001, {"score", "comment"}),
    ],
)
def test_bad_answers_name_the_field_and_store_nothing(
    org, desk, django_capture_on_commit_callbacks, score, comment, fields
):
    survey, token = _sent_survey(org, desk, django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError) as refused:
        survey_services.survey_answer(token=token, score=score, comment=comment)
    assert set(refused.value.message_dict) == fields
    survey.refresh_from_db()
    assert survey.answered_at is None and survey.score is None and survey.comment == ""
    # the link still works after a refused answer
    survey_services.survey_answer(token=token, score=3, comment="长" * 2000)
    survey.refresh_from_db()
    assert survey.score == 3 and len(survey.comment) == 2000


def test_a_low_score_opens_one_follow_up_task_and_emits_once(
    org, desk, django_capture_on_commit_callbacks
):
    seen = []

    def handler(topic, payload):
        seen.append((topic, payload["id"], payload["score"]))

    events.subscribe("survey.low_score", handler)
    try:
        survey, token = _sent_survey(org, desk, django_capture_on_commit_callbacks)
        with django_capture_on_commit_callbacks(execute=True):
            survey_services.survey_answer(token=token, score=2, comment="等了三天")
        survey.refresh_from_db()
        assert survey.follow_up is not None and survey.follow_up_done
        task = survey.follow_up
        assert task.kind == "task" and task.assignee == org["agent"]
        assert task.contact == desk["contact"] and "等了三天" in task.body
        # again: nothing new
        survey_services.survey_follow_up(survey_id=survey.pk)
        assert Interaction.objects.filter(kind="task", assignee=org["agent"]).count() == 1
        assert seen == [("survey.low_score", survey.pk, 2)]
        # a good score opens nothing
        happy, happy_token = _sent_survey(org, desk, django_capture_on_commit_callbacks)
        with django_capture_on_commit_callbacks(execute=True):
            survey_services.survey_answer(token=happy_token, score=4)
        happy.refresh_from_db()
        assert happy.follow_up is None and not happy.follow_up_done
        assert len(seen) == 1
    finally:
        events.unsubscribe("survey.low_score", handler)


def test_an_agent_sees_only_their_queues_surveys(org, desk, django_capture_on_commit_callbacks):
    south_ticket = new_ticket(org, desk, subject="南方")
    resolve(org["agent"], south_ticket, django_capture_on_commit_callbacks)
    east_ticket = services.ticket_create(
        actor=org["admin"],
        subject="东方",
        contact=desk["contact"],
        team=desk["east"],
        assignee=desk["east_agent"],
    )
    resolve(desk["east_agent"], east_ticket, django_capture_on_commit_callbacks)

    def visible(user):
        return set(Survey.objects.restrict(user, "view").values_list("ticket__subject", flat=True))

    assert visible(org["agent"]) == {"南方"}
    assert visible(desk["east_agent"]) == {"东方"}
    assert visible(org["service_manager"]) == {"南方"}  # the south department's queue
    assert visible(org["admin"]) == visible(org["auditor"]) == {"南方", "东方"}
    assert visible(org["rep_east"]) == set()


def test_nps_job_sends_to_consenting_contacts_once_per_window(
    org, desk, settings, django_capture_on_commit_callbacks
):
    admin = org["admin"]
    settings.RAPPORT_NPS_INTERVAL_DAYS = 0
    assert survey_services.nps_send_due() == {"sent": 0, "not_sent": 0, "skipped": 0}
    settings.RAPPORT_NPS_INTERVAL_DAYS = 90
    no_consent = customer_services.contact_create(
        actor=admin, name="李娜", accounts=[desk["account"]], emails=["li.na@example.com"]
    )
    no_account = customer_services.contact_create(
        actor=admin, name="散客", emails=["walkin@example.com"]
    )
    grant_research(admin, no_account)
    second = customer_services.contact_create(
        actor=admin, name="周敏", accounts=[desk["account"]], emails=["zhou@example.com"]
    )
    grant_research(admin, second)
    with django_capture_on_commit_callbacks(execute=True):
        first_run = survey_services.nps_send_due(limit=1)
    assert first_run == {"sent": 1, "not_sent": 0, "skipped": 0}  # bounded batch
    with django_capture_on_commit_callbacks(execute=True):
        assert survey_services.nps_send_due()["sent"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert survey_services.nps_send_due() == {"sent": 0, "not_sent": 0, "skipped": 0}
    asked = set(Survey.objects.filter(kind="nps").values_list("contact__name", flat=True))
    assert asked == {"张伟", "周敏"}
    assert no_consent.pk not in asked and len(mail.outbox) == 2
    nps = Survey.objects.filter(kind="nps").first()
    assert nps.account == desk["account"] and nps.agent == desk["account"].owner
    # 91 days later they are due again
    later = timezone.now() + timedelta(days=91)
    with django_capture_on_commit_callbacks(execute=True):
        assert survey_services.nps_send_due(now=later)["sent"] == 2


def test_privacy_bundle_lists_answers_and_erasure_drops_comments(
    org, desk, django_capture_on_commit_callbacks
):
    survey, token = _sent_survey(org, desk, django_capture_on_commit_callbacks)
    survey_services.survey_answer(token=token, score=5, comment="张伟说很好")
    rows = survey_services.survey_rows_for_contacts([desk["contact"].pk])[desk["contact"].pk]
    assert rows[0]["score"] == 5 and rows[0]["comment"] == "张伟说很好"
    assert survey_services.surveys_redact(actor=org["admin"], contact_id=desk["contact"].pk) == 1
    survey.refresh_from_db()
    assert survey.score == 5 and survey.comment == "" and survey.token_hash is None
    assert AuditEvent.objects.filter(object_type="service.survey", action="redact").count() == 1


def test_a_low_nps_answer_goes_to_the_account_owner(
    org, desk, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert survey_services.nps_send_due(days=30)["sent"] == 1
    survey = Survey.objects.get(kind="nps")
    token = link_token(mail.outbox[-1])
    assert "/s/" in mail.outbox[-1].alternatives[0][0]
    with django_capture_on_commit_callbacks(execute=True):
        survey_services.survey_answer(token=token, score=6, comment="价格偏高")
    survey.refresh_from_db()
    owner = desk["account"].owner
    assert survey.follow_up is not None and survey.follow_up.assignee == owner
    assert survey.follow_up.account == desk["account"]


def test_the_nps_job_is_scheduled_with_beat():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="service.nps_send")
    assert task.enabled and task.interval is not None
