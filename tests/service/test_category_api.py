"""Ticket categories through the API: read by agents (to file tickets), changed by managers,
errors naming the field."""

from __future__ import annotations

import pytest

from rapport.audit.models import AuditEvent
from rapport.service.models import TicketCategory
from tests.service.test_ticket_api import api_for

pytestmark = pytest.mark.django_db
URL = "/api/v1/service/ticket-categories/"


def test_managers_keep_categories_and_agents_read_them(org):
    manager = api_for(org["service_manager"])
    billing = manager.post(URL, {"name": "账单", "name_en": "Billing"}, format="json")
    assert billing.status_code == 201 and billing.json()["display_name"] == "Billing"
    child = manager.post(
        URL, {"name": "发票", "parent": billing.json()["id"]}, format="json"
    ).json()
    assert child["parent"] == billing.json()["id"]
    bad = manager.post(URL, {"name": ""}, format="json")
    assert bad.status_code == 400 and "name" in bad.json()["error"]["fields"]
    retired = manager.patch(f"{URL}{child['id']}/", {"is_active": False}, format="json")
    assert retired.json()["is_active"] is False
    agent = api_for(org["agent"])
    listed = agent.get(URL).json()["results"]
    assert [row["name"] for row in listed] == ["账单", "发票"]
    assert agent.post(URL, {"name": "x"}, format="json").status_code == 403
    assert api_for(org["rep_east"]).get(URL).status_code == 403
    assert TicketCategory.objects.count() == 2
    assert AuditEvent.objects.filter(object_type="service.ticketcategory").count() == 3
