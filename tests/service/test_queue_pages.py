"""The service queues page, a queue's and an agent's settings, an agent's own availability and
handing out waiting tickets from the board — through the pages, grants checked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from rapport.audit.models import AuditEvent
from rapport.identity.models import Team
from rapport.service import services
from rapport.service.models import AgentProfile, QueueSettings, Ticket, TicketCategory
from tests.factories import UserFactory
from tests.query_counts import assert_flat

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(org):
    team = Team.objects.create(name="华南客服", department=org["departments"]["south"])
    team.members.add(org["agent"])
    return team


def signed_in(client, user):
    client.force_login(user)
    return client


def test_a_manager_sets_up_a_queue_and_an_agent(org, desk, client):
    manager = org["service_manager"]
    signed_in(client, manager)
    listing = client.get(reverse("service:queue_list")).content.decode()
    assert f'data-queue="{desk.pk}"' in listing and f'data-agent="{org["agent"].pk}"' in listing
    url = reverse("service:queue_edit", args=[desk.pk])
    refused = client.post(url, {"auto_assign": "sometimes", "max_open_per_agent": "-3"})
    assert refused.status_code == 400 and not QueueSettings.objects.exists()
    body = refused.content.decode()
    assert "auto_assign" in body and "max_open_per_agent" in body
    client.post(
        url, {"auto_assign": "least_loaded", "max_open_per_agent": "5", "match_skills": "on"}
    )
    queue = QueueSettings.objects.get(team=desk)
    assert (queue.auto_assign, queue.max_open_per_agent) == ("least_loaded", 5)
    assert queue.match_skills and not queue.match_language
    billing = TicketCategory.objects.create(name="账单")
    client.post(
        reverse("service:agent_edit", args=[org["agent"].pk]),
        {"available": "on", "skills": [str(billing.pk)], "languages": ["en", "zh-hans"]},
    )
    profile = AgentProfile.objects.get(user=org["agent"])
    assert list(profile.skills.all()) == [billing] and profile.languages == ["en", "zh-hans"]
    listing = client.get(reverse("service:queue_list")).content.decode()
    assert "账单" in listing
    # the queue now hands out tickets by itself
    ticket = services.ticket_create(actor=org["admin"], subject="自动分配", team=desk)
    assert ticket.assignee == org["agent"]


def test_agents_and_reps_may_not_configure_queues(org, desk, client):
    signed_in(client, org["agent"])
    assert client.get(reverse("service:queue_list")).status_code == 403
    assert client.get(reverse("service:agent_edit", args=[org["agent"].pk])).status_code == 403
    signed_in(client, org["rep_east"])
    assert client.get(reverse("service:queue_edit", args=[desk.pk])).status_code == 403


def test_an_agent_goes_away_and_comes_back(org, desk, client):
    agent = org["agent"]
    signed_in(client, agent)
    page = client.get(reverse("service:ticket_list")).content.decode()
    assert 'data-testid="availability-away"' in page
    client.post(reverse("service:availability"), {"state": "away", "hours": "4"})
    profile = AgentProfile.objects.get(user=agent)
    assert not profile.available
    assert timedelta(hours=3) < profile.away_until - timezone.now() <= timedelta(hours=4)
    page = client.get(reverse("service:ticket_list")).content.decode()
    assert 'data-testid="availability-back"' in page
    client.post(reverse("service:availability"), {"state": "available"})
    profile.refresh_from_db()
    assert profile.available and profile.away_until is None
    assert AuditEvent.objects.filter(object_type="service.agentprofile").count() == 2
    # an open redirect is not followed
    response = client.post(
        reverse("service:availability"), {"state": "available", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("service:ticket_list")
    # people who do not work on tickets have no availability
    signed_in(client, org["rep_east"])
    assert client.post(reverse("service:availability"), {"state": "away"}).status_code == 403


def test_the_board_hands_out_waiting_tickets(org, desk, client):
    waiting = [
        services.ticket_create(actor=org["admin"], subject=f"等待{n}", team=desk) for n in range(2)
    ]
    services.queue_settings_update(
        actor=org["service_manager"], team=desk, auto_assign="round_robin"
    )
    signed_in(client, org["service_manager"])
    board = client.get(reverse("service:ticket_board")).content.decode()
    assert 'data-testid="queue-distribute"' in board
    client.post(reverse("service:queue_distribute", args=[desk.pk]))
    assert not Ticket.objects.filter(pk__in=[t.pk for t in waiting], assignee__isnull=True).exists()
    board = client.get(reverse("service:ticket_board")).content.decode()
    assert (
        f'data-board-person="{org["agent"].pk}"' in board
        and 'data-agent-state="available"' in board
    )


def test_the_queues_page_takes_the_same_queries_however_many_teams(org, client):
    signed_in(client, org["service_manager"])
    made = []

    def grow(n):
        for _ in range(n):
            index = len(made)
            team = Team.objects.create(name=f"队列{index}", department=org["departments"]["south"])
            agent = UserFactory(
                username=f"q_agent_{index}",
                department=org["departments"]["south"],
                roles=["service_agent"],
            )
            team.members.add(agent)
            services.agent_profile_update(
                actor=org["service_manager"], agent=agent, languages=["en"]
            )
            services.ticket_create(actor=org["admin"], subject=f"t{index}", team=team)
            made.append(team)

    assert_flat(
        client,
        reverse("service:queue_list"),
        grow,
        few=1,
        many=4,
        rows=lambda body: body.count("data-queue="),
    )
