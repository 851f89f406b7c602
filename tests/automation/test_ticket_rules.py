"""Escalation is automation: rules on tickets listen for the SLA events, reassign the ticket
(round robin over a team) and raise its priority through the ticket services, and notify the
person who has it — audited as the automation actor, like any rule."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from rapport.audit.models import AuditEvent
from rapport.automation import services as rule_services
from rapport.automation.models import RuleRun, RunState
from rapport.core import filterlang
from rapport.core.notifications.models import Notification
from rapport.identity.models import Team
from rapport.service import services, sla
from rapport.service.models import SlaPolicy, Ticket
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def desk(org):
    SlaPolicy.objects.create(
        name="紧急", priorities=["urgent"], first_response_minutes=60, resolution_minutes=240
    )
    south = Team.objects.create(name="华南客服", department=org["departments"]["south"])
    south.members.add(org["agent"])
    seniors = Team.objects.create(name="二线支持", department=org["departments"]["south"])
    senior = UserFactory(
        username="senior", department=org["departments"]["south"], roles=["service_agent"]
    )
    seniors.members.add(senior)
    return {"south": south, "seniors": seniors, "senior": senior}


def test_a_breached_ticket_is_escalated_by_a_rule(
    org, desk, eager, django_capture_on_commit_callbacks
):
    rule = rule_services.rule_create(
        actor=org["admin"],
        name="紧急工单超时升级",
        object_type="service.ticket",
        trigger="event",
        trigger_config={"topic": "ticket.sla_breached"},
        condition="priority = urgent and resolution_breached = false",
        is_active=True,
        actions=[
            {"type": "assign_owner", "round_robin": {"team": desk["seniors"].pk}},
            {"type": "notify", "to": "owner", "message": "紧急工单首次响应超时，已转给你"},
        ],
    )
    ticket = services.ticket_create(
        actor=org["admin"],
        subject="生产系统宕机",
        priority="urgent",
        team=desk["south"],
        assignee=org["agent"],
    )
    Ticket.objects.filter(pk=ticket.pk).update(created_at=local(2026, 11, 30, 9))
    ticket.refresh_from_db()
    sla.apply(ticket)
    ticket.save()
    with django_capture_on_commit_callbacks(execute=True):
        counts = sla.sweep(now=local(2026, 11, 30, 10, 5))
    assert counts["first_response_breach"] == 1
    ticket.refresh_from_db()
    assert ticket.assignee == desk["senior"]
    (run,) = RuleRun.objects.filter(rule=rule)
    assert run.state == RunState.SUCCEEDED and run.object_id == ticket.pk
    assert Notification.objects.filter(recipient=desk["senior"], kind="automation.rule").exists()
    assign = AuditEvent.objects.get(
        object_type="service.ticket", object_id=str(ticket.pk), action="assign"
    )
    assert assign.actor.username == "automation"
    # the senior agent now sees it (it is theirs)
    assert Ticket.objects.restrict(desk["senior"], "view").filter(pk=ticket.pk).exists()


def test_rules_can_set_ticket_fields_and_refuse_unknown_ones(org, desk):
    fields = filterlang.fields_for(org["admin"], "service.ticket")
    assert {"priority", "status", "team", "assignee", "resolution_breached"} <= set(fields)
    rule = rule_services.rule_create(
        actor=org["admin"],
        name="VIP 提升优先级",
        object_type="service.ticket",
        trigger="created",
        condition="channel = email",
        actions=[{"type": "update_fields", "values": {"priority": "high"}}],
    )
    assert rule.pk
    with pytest.raises(ValidationError) as refused:
        rule_services.rule_create(
            actor=org["admin"],
            name="坏规则",
            object_type="service.ticket",
            trigger="created",
            actions=[{"type": "update_fields", "values": {"status": "closed"}}],
        )
    assert "status" in str(refused.value)
