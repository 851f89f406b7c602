"""Complaints through their services: a complaint ticket gets its workflow, stage moves and
refusals naming the field, nothing partial, the ticket's status guard, audit, events, who
may work on them, the root-cause categories, and the data-subject request."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from rapport.audit.models import AuditEvent
from rapport.core import events
from rapport.core.errors import PermissionDenied
from rapport.customers import services as customer_services
from rapport.identity.models import Team
from rapport.service import services
from rapport.service.models import (
    Complaint,
    ComplaintCause,
    ComplaintStage,
    TicketStatus,
)
from rapport.service.services import complaints as complaint_services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(org):
    """The South desk (the agent), the East desk (another agent), a customer, two causes."""
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
    product = services.complaint_cause_create(
        actor=org["service_manager"], name="产品缺陷", name_en="Product defect", position=1
    )
    delivery = services.complaint_cause_create(
        actor=org["service_manager"], name="交付延误", name_en="Late delivery", position=2
    )
    return {
        "south": south,
        "east": east,
        "east_agent": east_agent,
        "account": account,
        "contact": contact,
        "defect": product,
        "late": delivery,
    }


def complaint_ticket(org, desk, subject="打印机三次维修仍卡纸", team=None):
    return services.ticket_create(
        actor=org["agent"],
        subject=subject,
        kind="complaint",
        account=desk["account"],
        contact=desk["contact"],
        team=team or desk["south"],
    )


def stage_of(ticket) -> str:
    return Complaint.objects.get(ticket=ticket).stage


def test_a_complaint_ticket_gets_its_complaint_and_a_question_does_not(org, desk):
    ticket = complaint_ticket(org, desk)
    assert stage_of(ticket) == ComplaintStage.REGISTERED
    question = services.ticket_create(actor=org["agent"], subject="怎么导出", team=desk["south"])
    assert not Complaint.objects.filter(ticket=question).exists()
    services.ticket_update(actor=org["agent"], ticket=question, kind="complaint")
    assert stage_of(question) == ComplaintStage.REGISTERED
    assert Complaint.objects.count() == 2


def test_the_workflow_from_registered_to_confirmed(org, desk, django_capture_on_commit_callbacks):
    ticket = complaint_ticket(org, desk)
    complaint = ticket.complaint
    agent = org["agent"]
    seen = []

    def heard(topic, payload):
        seen.append(payload)

    events.subscribe("complaint.stage_changed", heard)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _work_through(org, desk, complaint)
    finally:
        events.unsubscribe("complaint.stage_changed", heard)
    complaint.refresh_from_db()
    assert complaint.stage == ComplaintStage.CONFIRMED and complaint.confirmed_at is not None
    assert [(e["before"], e["after"]) for e in seen] == [
        ("registered", "investigating"),
        ("investigating", "resolved"),
        ("resolved", "investigating"),
        ("investigating", "resolved"),
        ("resolved", "confirmed"),
    ]
    with pytest.raises(ValidationError) as refused:
        services.complaint_update(actor=agent, complaint=complaint, findings="改一下")
    assert set(refused.value.message_dict) == {"stage"}


def _work_through(org, desk, complaint):
    agent = org["agent"]
    services.complaint_update(
        actor=agent, complaint=complaint, stage="investigating", product="LaserJet 5200"
    )
    services.complaint_update(
        actor=agent,
        complaint=complaint,
        stage="resolved",
        cause=desk["defect"],
        findings="定影组件批次缺陷",
        corrective_action="更换定影组件并召回同批次",
        action_owner=org["service_manager"],
        action_due=date.today() + timedelta(days=7),
    )
    complaint.refresh_from_db()
    assert complaint.stage == ComplaintStage.RESOLVED and complaint.resolved_at is not None
    # back to investigating is allowed, and clears the resolution time
    services.complaint_update(actor=agent, complaint=complaint, stage="investigating")
    complaint.refresh_from_db()
    assert complaint.stage == ComplaintStage.INVESTIGATING and complaint.resolved_at is None
    services.complaint_update(actor=agent, complaint=complaint, stage="resolved")
    services.complaint_update(
        actor=agent, complaint=complaint, stage="confirmed", confirmation_note="电话回访，客户满意"
    )


def test_moves_outside_the_workflow_are_refused(org, desk):
    complaint = complaint_ticket(org, desk).complaint
    for stage in ("resolved", "confirmed", "whenever"):
        with pytest.raises(ValidationError) as refused:
            services.complaint_update(actor=org["agent"], complaint=complaint, stage=stage)
        assert set(refused.value.message_dict) == {"stage"}
    assert stage_of(complaint.ticket) == ComplaintStage.REGISTERED


def test_resolving_names_each_missing_field_and_stores_nothing(org, desk):
    complaint = complaint_ticket(org, desk).complaint
    services.complaint_update(actor=org["agent"], complaint=complaint, stage="investigating")
    with pytest.raises(ValidationError) as refused:
        services.complaint_update(
            actor=org["agent"], complaint=complaint, stage="resolved", product="LaserJet"
        )
    assert set(refused.value.message_dict) == {"cause", "findings", "corrective_action"}
    with pytest.raises(ValidationError) as refused:
        services.complaint_update(
            actor=org["agent"],
            complaint=complaint,
            stage="resolved",
            cause=desk["defect"],
            findings="查明原因",
            product="LaserJet",
        )
    assert set(refused.value.message_dict) == {"corrective_action"}
    complaint.refresh_from_db()
    assert complaint.product == "" and complaint.cause is None and complaint.findings == ""
    assert complaint.stage == ComplaintStage.INVESTIGATING
    # a bad value is named too, with the others, and nothing is kept
    with pytest.raises(ValidationError) as refused:
        services.complaint_update(
            actor=org["agent"],
            complaint=complaint,
            product="x" * 201,
            action_due="next week",
            findings="有发现",
        )
    assert set(refused.value.message_dict) == {"product", "action_due"}
    complaint.refresh_from_db()
    assert complaint.findings == ""


def test_confirming_needs_how_the_customer_confirmed(org, desk):
    complaint = complaint_ticket(org, desk).complaint
    services.complaint_update(actor=org["agent"], complaint=complaint, stage="investigating")
    services.complaint_update(
        actor=org["agent"],
        complaint=complaint,
        stage="resolved",
        cause=desk["late"],
        findings="物流延误",
        corrective_action="换物流商",
    )
    with pytest.raises(ValidationError) as refused:
        services.complaint_update(actor=org["agent"], complaint=complaint, stage="confirmed")
    assert set(refused.value.message_dict) == {"confirmation_note"}
    # a resolved complaint keeps what resolving needs
    with pytest.raises(ValidationError) as refused:
        services.complaint_update(actor=org["agent"], complaint=complaint, findings="")
    assert set(refused.value.message_dict) == {"findings"}
    assert stage_of(complaint.ticket) == ComplaintStage.RESOLVED


def test_the_ticket_cannot_be_resolved_before_its_complaint(org, desk):
    ticket = complaint_ticket(org, desk)
    for status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        with pytest.raises(ValidationError) as refused:
            services.ticket_set_status(actor=org["agent"], ticket=ticket, status=status)
        assert set(refused.value.message_dict) == {"status"}
        assert refused.value.error_dict["status"][0].code == "complaint_open"
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW
    complaint = ticket.complaint
    services.complaint_update(actor=org["agent"], complaint=complaint, stage="investigating")
    services.complaint_update(
        actor=org["agent"],
        complaint=complaint,
        stage="resolved",
        cause=desk["defect"],
        findings="批次缺陷",
        corrective_action="更换",
    )
    services.ticket_set_status(actor=org["agent"], ticket=ticket, status="resolved")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    # investigating again needs the ticket reopened first
    with pytest.raises(ValidationError) as refused:
        services.complaint_update(actor=org["agent"], complaint=complaint, stage="investigating")
    assert set(refused.value.message_dict) == {"stage"}
    # other types are not held back
    other = services.ticket_create(actor=org["agent"], subject="问题", team=desk["south"])
    services.ticket_set_status(actor=org["agent"], ticket=other, status="resolved")


def test_changes_are_audited_on_the_ticket_and_announced(
    org, desk, django_capture_on_commit_callbacks
):
    ticket = complaint_ticket(org, desk)
    updated = []

    def heard(topic, payload):
        updated.append(payload)

    events.subscribe("record.updated", heard)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.complaint_update(
                actor=org["agent"],
                complaint=ticket.complaint,
                stage="investigating",
                product="A3 打印机",
            )
    finally:
        events.unsubscribe("record.updated", heard)
    event = (
        AuditEvent.objects.filter(object_id=str(ticket.pk), action="complaint")
        .order_by("seq")
        .last()
    )
    assert event.actor_id == org["agent"].pk
    assert event.changes == {
        "complaint.stage": ["registered", "investigating"],
        "complaint.product": ["", "A3 打印机"],
    }
    assert updated[-1]["id"] == ticket.pk
    assert set(updated[-1]["fields"]) == {"complaint.stage", "complaint.product"}
    # nothing changed: nothing audited
    count = AuditEvent.objects.count()
    services.complaint_update(actor=org["agent"], complaint=ticket.complaint, product="A3 打印机")
    assert AuditEvent.objects.count() == count


def test_only_people_who_may_change_the_ticket_work_on_its_complaint(org, desk):
    ticket = complaint_ticket(org, desk)
    for outsider in (desk["east_agent"], org["rep_east"], org["auditor"]):
        with pytest.raises(PermissionDenied):
            services.complaint_update(
                actor=outsider, complaint=ticket.complaint, stage="investigating"
            )
    assert stage_of(ticket) == ComplaintStage.REGISTERED
    services.complaint_update(actor=org["admin"], complaint=ticket.complaint, stage="investigating")
    assert stage_of(ticket) == ComplaintStage.INVESTIGATING


def test_cause_categories_are_validated_audited_and_retired(org, desk):
    with pytest.raises(PermissionDenied):
        services.complaint_cause_create(actor=org["agent"], name="服务态度")
    with pytest.raises(ValidationError) as refused:
        services.complaint_cause_create(actor=org["admin"], name="产品缺陷", position=-1)
    assert set(refused.value.message_dict) == {"name", "position"}
    with pytest.raises(ValidationError) as refused:
        services.complaint_cause_create(actor=org["admin"], name="  ")
    assert set(refused.value.message_dict) == {"name"}
    attitude = services.complaint_cause_create(
        actor=org["admin"], name="服务态度", name_en="Staff attitude"
    )
    assert AuditEvent.objects.filter(action="create", object_id=str(attitude.pk)).exists()
    services.complaint_cause_update(actor=org["admin"], cause=attitude, is_active=False)
    attitude.refresh_from_db()
    assert not attitude.is_active
    event = AuditEvent.objects.filter(action="update", object_id=str(attitude.pk)).get()
    assert event.changes == {"is_active": [True, False]}
    # a retired cause is not offered to complaints
    complaint = complaint_ticket(org, desk).complaint
    with pytest.raises(ValidationError) as refused:
        services.complaint_update(actor=org["agent"], complaint=complaint, cause=attitude)
    assert set(refused.value.message_dict) == {"cause"}
    assert ComplaintCause.objects.filter(is_active=True).count() == 2


def test_erasure_masks_the_person_in_complaint_texts(org, desk):
    ticket = complaint_ticket(org, desk)
    services.complaint_update(
        actor=org["agent"],
        complaint=ticket.complaint,
        stage="investigating",
        findings="张伟 13812345678 反映三次维修未果",
    )
    changed = complaint_services.complaints_redact(
        actor=org["admin"], contact_id=desk["contact"].pk, terms=["张伟", "13812345678"]
    )
    assert changed == 1
    complaint = Complaint.objects.get(ticket=ticket)
    assert "张伟" not in complaint.findings and "13812345678" not in complaint.findings
    assert "维修" in complaint.findings
    assert AuditEvent.objects.filter(action="redact", object_id=str(ticket.pk)).exists()
    rows = complaint_services.complaint_rows_for_contacts([desk["contact"].pk])
    assert rows[desk["contact"].pk][0]["ticket"] == ticket.number
