"""The demo's complaints: over the last year, by cause and product, through the workflow,
so the report has numbers."""

from __future__ import annotations

import random

import pytest

from rapport.customers import services as customer_services
from rapport.identity.models import Team
from rapport.service import complaint_report
from rapport.service.models import Complaint, ComplaintStage, TicketStatus
from rapport.web import demo_complaints

pytestmark = pytest.mark.django_db


def test_the_demo_complaints_fill_the_report(org):
    Team.objects.create(name="华南客服").members.add(org["agent"])
    account = customer_services.account_create(actor=org["admin"], name="北京华信软件有限公司")
    customer_services.contact_create(actor=org["admin"], name="张伟", accounts=[account])
    users = {"service_agent": org["agent"], "service_manager": org["service_manager"]}
    made = demo_complaints.generate_complaints(users=users, count=15, rng=random.Random(1))
    assert made == 15
    stages = {complaint.stage for complaint in Complaint.objects.all()}
    assert {ComplaintStage.INVESTIGATING, ComplaintStage.RESOLVED, ComplaintStage.CONFIRMED} <= (
        stages
    )
    for complaint in Complaint.objects.filter(stage=ComplaintStage.CONFIRMED):
        assert complaint.ticket.status == TicketStatus.RESOLVED
        assert complaint.cause and complaint.findings and complaint.confirmation_note
    figures = complaint_report.report(org["admin"])
    assert figures["total"] == 15
    assert len(figures["by_cause"]) >= 4 and len(figures["by_product"]) >= 4
    assert sum(1 for count in figures["month_totals"] if count) >= 6  # spread over the year
    assert figures["overdue_count"] >= 1
    # a second run adds no causes twice
    demo_complaints.ensure_causes(actor=org["service_manager"])
    assert len(demo_complaints.CAUSES) == 6
