"""Complaints in a real browser: an agent takes a complaint through its stages on the
ticket page — refused with the missing fields named beside them, then resolved and
confirmed — resolves the ticket, and opens the complaints report; in Chinese on a phone,
in English on a desktop."""

from __future__ import annotations

import re

import pytest

from rapport.customers import services as customer_services
from rapport.identity.models import Team
from rapport.service import services
from rapport.service.models import Complaint, ComplaintStage, Ticket, TicketStatus
from tests.browser.conftest import screenshot
from tests.browser.test_flows import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("language", "width"), [("zh-hans", 390), ("en", 1280)])
def test_an_agent_takes_a_complaint_to_confirmed(org, new_page, language, width):
    agent = org["agent"]
    agent.language = language
    agent.save()
    Team.objects.create(name="华南客服").members.add(agent)
    account = customer_services.account_create(actor=org["admin"], name="北京华信软件有限公司")
    contact = customer_services.contact_create(actor=org["admin"], name="张伟", accounts=[account])
    defect = services.complaint_cause_create(
        actor=org["admin"], name="产品质量缺陷", name_en="Product defect"
    )
    ticket = services.ticket_create(
        actor=agent,
        subject="打印机三次维修仍卡纸",
        description="客户要求退货并赔偿停工损失。",
        kind="complaint",
        account=account,
        contact=contact,
    )
    page = new_page(language=language, width=width)
    _login(page, agent.username)
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"/service/tickets/{ticket.pk}/")
    card = page.get_by_test_id("ticket-complaint")
    assert card.get_attribute("data-stage") == "registered"
    with page.expect_navigation():
        card.locator("[data-complaint-stage=investigating]").click()
    card = page.get_by_test_id("ticket-complaint")
    assert card.get_attribute("data-stage") == "investigating"
    # resolving without a cause and a corrective action: each named beside its field
    page.get_by_test_id("complaint-edit").locator("summary").click()
    page.fill("#id_product", "LaserJet 5200")
    page.fill("#id_findings", "定影组件批次缺陷")
    with page.expect_navigation():
        page.locator("[data-complaint-stage=resolved]").click()
    errors = page.locator("[data-field-error]")
    assert sorted(errors.evaluate_all("els => els.map(e => e.dataset.fieldError)")) == [
        "cause",
        "corrective_action",
    ]
    assert page.input_value("#id_findings") == "定影组件批次缺陷"  # nothing typed is lost
    screenshot(page, f"complaint-refused-{language}-{width}")
    assert Complaint.objects.get(ticket=ticket).findings == ""
    page.select_option("#id_cause", str(defect.pk))
    page.fill("#id_corrective_action", "更换定影组件，同批次主动召回")
    page.fill("#id_action_due", "2031-06-30")
    with page.expect_navigation():
        page.locator("[data-complaint-stage=resolved]").click()
    card = page.get_by_test_id("ticket-complaint")
    assert card.get_attribute("data-stage") == "resolved"
    page.get_by_test_id("complaint-edit").locator("summary").click()
    page.fill("#id_confirmation_note", "电话回访，客户确认满意")
    with page.expect_navigation():
        page.locator("[data-complaint-stage=confirmed]").click()
    card = page.get_by_test_id("ticket-complaint")
    assert card.get_attribute("data-stage") == "confirmed"
    assert "更换定影组件" in card.inner_text()
    with page.expect_navigation():
        page.locator("[data-status-action=resolved]").click()
    screenshot(page, f"complaint-{language}-{width}")
    complaint = Complaint.objects.get(ticket=ticket)
    assert complaint.stage == ComplaintStage.CONFIRMED and complaint.cause == defect
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.RESOLVED
    # the report, from the ticket list
    page.goto("/service/tickets/")
    with page.expect_navigation():
        page.get_by_test_id("complaints-report").click()
    total = page.get_by_test_id("complaints-summary").locator("[data-figure=total]")
    assert total.inner_text().strip() == "1"
    row = page.get_by_test_id("complaints-causes").locator(f"[data-row='{defect.pk}']")
    assert row.locator("[data-figure=total]").inner_text().strip() == "1"
    screenshot(page, f"complaints-report-{language}-{width}")
