"""Tickets through their services: who sees which (queues by team, managers by department),
validation naming the field, status moves, the conversation, audit, events, notifications."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from rapport.audit.models import AuditEvent
from rapport.core import events
from rapport.core.errors import PermissionDenied
from rapport.core.notifications.models import Notification
from rapport.customers import services as customer_services
from rapport.identity.models import Team
from rapport.service import services
from rapport.service.models import MessageKind, Ticket, TicketCategory, TicketStatus
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(org):
    """Two service teams: the South desk (the agent, in the south department) and the East
    desk (another agent); a customer with a contact."""
    south = Team.objects.create(name="华南客服", department=org["departments"]["south"])
    south.members.add(org["agent"])
    east_agent = UserFactory(
        username="agent_east", department=org["departments"]["east"], roles=["service_agent"]
    )
    east = Team.objects.create(name="华东客服", department=org["departments"]["east"])
    east.members.add(east_agent)
    account = customer_services.account_create(actor=org["admin"], name="北京华信软件有限公司")
    contact = customer_services.contact_create(
        actor=org["admin"], name="张伟", accounts=[account], phones=["13812345678"]
    )
    return {
        "south": south,
        "east": east,
        "east_agent": east_agent,
        "account": account,
        "contact": contact,
    }


def visible(user) -> set[str]:
    return set(Ticket.objects.restrict(user, "view").values_list("subject", flat=True))


def test_queues_decide_who_sees_a_ticket(org, desk):
    admin = org["admin"]
    services.ticket_create(actor=admin, subject="南方队列", team=desk["south"])
    services.ticket_create(actor=admin, subject="东方队列", team=desk["east"])
    services.ticket_create(actor=admin, subject="给东方坐席", assignee=desk["east_agent"])
    services.ticket_create(actor=admin, subject="无人认领")
    assert visible(org["agent"]) == {"南方队列"}
    assert visible(desk["east_agent"]) == {"东方队列", "给东方坐席"}
    # the service manager's department is the south: its teams' queues and its people's tickets
    assert visible(org["service_manager"]) == {"南方队列"}
    assert (
        visible(org["auditor"])
        == visible(admin)
        == {"南方队列", "东方队列", "给东方坐席", "无人认领"}
    )
    assert visible(org["rep_east"]) == set()


def test_an_agent_takes_a_ticket_from_the_queue_and_answers_it(org, desk):
    agent = org["agent"]
    ticket = services.ticket_create(
        actor=agent, subject="无法登录", contact=desk["contact"], team=desk["south"]
    )
    assert ticket.account == desk["account"]  # brought by the contact
    assert ticket.status == TicketStatus.NEW and ticket.created_by == agent
    services.ticket_assign(actor=agent, ticket=ticket, assignee=agent)
    note = services.ticket_message_add(actor=agent, ticket=ticket, kind="note", body="先查日志")
    ticket.refresh_from_db()
    assert ticket.first_response_at is None and ticket.status == TicketStatus.NEW
    reply = services.ticket_message_add(
        actor=agent, ticket=ticket, kind=MessageKind.REPLY, body="请清除浏览器缓存后重试。"
    )
    ticket.refresh_from_db()
    assert ticket.first_response_at == reply.created_at and ticket.status == TicketStatus.OPEN
    assert list(ticket.messages.values_list("pk", flat=True)) == [note.pk, reply.pk]
    services.ticket_set_status(actor=agent, ticket=ticket, status="resolved")
    ticket.refresh_from_db()
    assert ticket.resolved_at is not None
    services.ticket_set_status(actor=agent, ticket=ticket, status="open")  # reopened
    ticket.refresh_from_db()
    assert ticket.resolved_at is None
    actions = list(
        AuditEvent.objects.filter(object_type="service.ticket", object_id=str(ticket.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "assign", "message", "message", "status", "status"]


def test_bad_input_names_every_field_and_stores_nothing(org, desk):
    retired = TicketCategory.objects.create(name="旧分类", is_active=False)
    with pytest.raises(ValidationError) as refused:
        services.ticket_create(
            actor=org["agent"],
            subject="  ",
            priority="whenever",
            category=retired,
            account="深圳某公司",  # not an account record: what a bad picker value becomes
            assignee=org["rep_east"],
        )
    assert set(refused.value.message_dict) == {
        "subject",
        "priority",
        "category",
        "account",
        "assignee",
    }
    assert not Ticket.objects.exists()


def test_status_moves_follow_the_workflow(org, desk):
    ticket = services.ticket_create(actor=org["admin"], subject="打印机卡纸")
    services.ticket_set_status(actor=org["admin"], ticket=ticket, status="closed")
    with pytest.raises(ValidationError) as refused:
        services.ticket_set_status(actor=org["admin"], ticket=ticket, status="pending")
    assert refused.value.error_dict["status"][0].code == "invalid_move"
    with pytest.raises(ValidationError):
        services.ticket_set_status(actor=org["admin"], ticket=ticket, status="lost")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED and ticket.closed_at and ticket.resolved_at


def test_people_outside_the_queue_cannot_act_on_a_ticket(org, desk):
    ticket = services.ticket_create(actor=org["admin"], subject="东方的", team=desk["east"])
    for outsider in (org["agent"], org["rep_east"]):
        with pytest.raises(PermissionDenied):
            services.ticket_message_add(actor=outsider, ticket=ticket, kind="reply", body="hi")
        with pytest.raises(PermissionDenied):
            services.ticket_assign(actor=outsider, ticket=ticket, assignee=outsider)
    with pytest.raises(PermissionDenied):
        services.ticket_create(actor=org["rep_east"], subject="销售不能建工单")
    assert not ticket.messages.exists()


def test_the_assignee_is_told_and_events_follow_commit(
    org, desk, django_capture_on_commit_callbacks
):
    seen = []

    def heard(topic, payload):
        seen.append(payload)

    events.subscribe("ticket.assigned", heard)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ticket = services.ticket_create(actor=org["admin"], subject="合同问题")
            services.ticket_assign(
                actor=org["admin"], ticket=ticket, team=desk["south"], assignee=org["agent"]
            )
    finally:
        events.unsubscribe("ticket.assigned", heard)
    assert seen and seen[-1]["assignee"] == org["agent"].pk
    notification = Notification.objects.get(recipient=org["agent"], kind="ticket.assigned")
    assert f"#{ticket.pk}" in notification.text


def test_editing_changes_only_the_ticket_s_own_fields(org, desk):
    ticket = services.ticket_create(actor=org["admin"], subject="发票抬头")
    with pytest.raises(ValidationError) as refused:
        services.ticket_update(actor=org["admin"], ticket=ticket, status="closed")
    assert "status" in refused.value.message_dict
    services.ticket_update(actor=org["admin"], ticket=ticket, priority="urgent", kind="request")
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.kind) == ("urgent", "request")
    event = AuditEvent.objects.filter(action="update", object_type="service.ticket").get()
    assert event.changes["priority"] == ["normal", "urgent"]
