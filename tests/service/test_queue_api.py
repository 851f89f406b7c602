"""The assignment API: queues set by managers, agents' availability set by themselves,
skills by managers, errors naming the field."""

from __future__ import annotations

import pytest

from rapport.identity.models import Team
from rapport.service import services
from rapport.service.models import QueueSettings, Ticket, TicketCategory
from tests.service.test_ticket_api import api_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(org):
    team = Team.objects.create(name="华南客服", department=org["departments"]["south"])
    team.members.add(org["agent"])
    return team


def test_a_manager_sets_a_queue_and_hands_out_its_tickets(org, desk):
    waiting = services.ticket_create(actor=org["admin"], subject="排队", team=desk)
    manager = api_for(org["service_manager"])
    listed = manager.get("/api/v1/service/queues/").json()
    row = next(row for row in listed if row["team"] == desk.pk)
    assert row["auto_assign"] == "off" and row["waiting"] == 1
    assert [agent["id"] for agent in row["agents"]] == [org["agent"].pk]
    bad = manager.patch(
        f"/api/v1/service/queues/{desk.pk}/", {"auto_assign": "x", "max_open_per_agent": -1}
    )
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"auto_assign", "max_open_per_agent"}
    changed = manager.patch(
        f"/api/v1/service/queues/{desk.pk}/", {"auto_assign": "round_robin"}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["auto_assign"] == "round_robin"
    given = manager.post(f"/api/v1/service/queues/{desk.pk}/distribute/")
    assert given.json() == {"assigned": 1}
    waiting.refresh_from_db()
    assert waiting.assignee == org["agent"]
    assert api_for(org["agent"]).get("/api/v1/service/queues/").status_code == 403
    assert manager.get("/api/v1/service/queues/999999/").status_code == 404


def test_agents_set_their_own_availability_and_managers_their_skills(org, desk):
    agent = api_for(org["agent"])
    me = agent.get("/api/v1/service/agents/me/").json()
    assert me["id"] == org["agent"].pk and me["available"] is True
    away = agent.patch("/api/v1/service/agents/me/", {"available": False}, format="json")
    assert away.status_code == 200 and away.json()["available"] is False
    refused = agent.patch(
        f"/api/v1/service/agents/{org['agent'].pk}/", {"languages": ["en"]}, format="json"
    )
    assert refused.status_code == 403
    billing = TicketCategory.objects.create(name="账单")
    manager = api_for(org["service_manager"])
    set_skills = manager.patch(
        f"/api/v1/service/agents/{org['agent'].pk}/",
        {"skills": [billing.pk], "languages": ["zh-hans"]},
        format="json",
    )
    assert set_skills.status_code == 200
    assert set_skills.json()["skills"] == [billing.pk]
    bad = manager.patch(
        f"/api/v1/service/agents/{org['agent'].pk}/", {"languages": ["xx"]}, format="json"
    )
    assert bad.status_code == 400 and "languages" in bad.json()["error"]["fields"]
    listed = manager.get("/api/v1/service/agents/").json()
    assert org["agent"].pk in [row["id"] for row in listed]
    # a sales rep is not an agent
    assert manager.get(f"/api/v1/service/agents/{org['rep_east'].pk}/").status_code == 404
    assert not QueueSettings.objects.exists() and Ticket.objects.count() == 0
