"""Leads are automatable: a rule on the lead.created event sets a lead field and notifies
its owner, acting through the lead services as the automation actor."""

from __future__ import annotations

import pytest

from rapport.audit.models import AuditEvent
from rapport.automation import registry
from rapport.automation import services as rule_services
from rapport.automation.models import RuleRun, RunState
from rapport.core import filterlang
from rapport.sales.models import Lead, LeadPool
from rapport.sales.services import leads as services
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager(settings):
    """Celery tasks run inline (as with CELERY_TASK_ALWAYS_EAGER)."""
    from rapport.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def test_leads_are_registered_with_their_topics(org):
    assert registry.get("sales.lead") is not None
    assert {"lead.created", "lead.assigned", "lead.returned"} <= set(registry.topics())
    fields = filterlang.fields_for(org["admin"], "sales.lead")
    assert {"status", "source", "province", "owner", "pool"} <= set(fields)


def test_a_rule_rates_web_leads_from_guangdong_hot(org, eager, django_capture_on_commit_callbacks):
    LeadPool.objects.create(name="公海", team=TeamFactory(members=[org["rep_sh"]]), is_default=True)
    rule = rule_services.rule_create(
        actor=org["admin"],
        name="广东网站线索加热",
        object_type="sales.lead",
        trigger="event",
        trigger_config={"topic": "lead.created"},
        condition='province = "广东省" and source = web_form',
        is_active=True,
        actions=[{"type": "update_fields", "values": {"rating": "hot"}}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        lead = services.lead_create(
            actor=org["rep_sh"],
            owner=org["rep_sh"],
            name="粤客",
            province="广东",
            source="web_form",
        )
        other = services.lead_create(actor=org["rep_sh"], owner=org["rep_sh"], name="沪客")
    assert Lead.objects.get(pk=lead.pk).rating == "hot"
    assert Lead.objects.get(pk=other.pk).rating == ""
    (run,) = RuleRun.objects.filter(rule=rule)
    assert run.state == RunState.SUCCEEDED
    update = AuditEvent.objects.get(
        object_type="sales.lead", object_id=str(lead.pk), action="update"
    )
    assert update.actor.username == "automation"
