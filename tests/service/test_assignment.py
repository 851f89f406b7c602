"""Automatic assignment: queues hand new tickets out in turn or to the least loaded agent,
only to available agents under the queue's capacity, preferring skill and language; agents
set their own availability, managers the rest; everything validated and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.core.notifications.models import Notification
from rapport.identity.models import Team
from rapport.service import assignment, services
from rapport.service.models import AgentProfile, QueueSettings, Ticket, TicketCategory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(org):
    """The South desk: three agents (a, b, c by id) and the service manager as lead."""
    south = org["departments"]["south"]
    team = Team.objects.create(name="华南客服", department=south, lead=org["service_manager"])
    agents = [
        UserFactory(username=f"agent_{name}", department=south, roles=["service_agent"])
        for name in "abc"
    ]
    team.members.add(*agents)
    return {"team": team, "agents": agents}


def configure(org, team, **values) -> QueueSettings:
    return services.queue_settings_update(actor=org["service_manager"], team=team, **values)


def new(org, team, subject="问题", **values) -> Ticket:
    return services.ticket_create(actor=org["admin"], subject=subject, team=team, **values)


def test_without_automatic_assignment_tickets_wait_in_the_queue(org, queue):
    assert new(org, queue["team"]).assignee is None
    configure(org, queue["team"], auto_assign="off")
    assert new(org, queue["team"]).assignee is None


def test_round_robin_goes_in_turn_and_skips_the_absent(org, queue):
    a, b, c = queue["agents"]
    configure(org, queue["team"], auto_assign="round_robin")
    services.agent_profile_update(actor=b, agent=b, available=False)  # b steps away
    given = [new(org, queue["team"], f"第{n}个").assignee for n in range(4)]
    # the lead (service manager) works on tickets too and takes turns by id
    lead = org["service_manager"]
    order = sorted([a, c, lead], key=lambda user: user.pk)
    assert given == [order[0], order[1], order[2], order[0]]
    ticket = Ticket.objects.filter(assignee=order[0]).first()
    event = AuditEvent.objects.get(
        object_type="service.ticket", object_id=str(ticket.pk), action="assign"
    )
    assert event.extra["automatic"] == "round_robin"
    assert Notification.objects.filter(recipient=order[0], kind="ticket.assigned").exists()


def test_least_loaded_and_capacity(org, queue):
    a, b, c = queue["agents"]
    lead = org["service_manager"]
    configure(org, queue["team"], auto_assign="least_loaded", max_open_per_agent=2)
    for agent, count in ((a, 2), (b, 1), (lead, 2)):
        for n in range(count):
            services.ticket_create(
                actor=org["admin"],
                subject=f"{agent.username}{n}",
                team=queue["team"],
                assignee=agent,
            )
    given = [new(org, queue["team"], f"新{n}").assignee for n in range(4)]
    # c has none, then b and c have one each (b next in turn after c), then c; then all
    # are full and the last one waits in the queue
    assert given == [c, b, c, None]
    loads = {agent.user: agent.load for agent in assignment.team_agents(queue["team"])}
    assert loads == {a: 2, b: 2, c: 2, lead: 2}


def test_skills_and_language_are_preferred_not_required(org, queue):
    a, b, c = queue["agents"]
    manager = org["service_manager"]
    billing = services.category_create(actor=manager, name="账单")
    invoices = services.category_create(actor=manager, name="发票", parent=billing)
    configure(org, queue["team"], auto_assign="round_robin")
    services.agent_profile_update(actor=manager, agent=c, skills=[billing], languages=["zh-hans"])
    services.agent_profile_update(actor=manager, agent=b, languages=["en"])
    # a child category counts for an agent skilled in its parent
    assert new(org, queue["team"], category=invoices).assignee == c
    assert new(org, queue["team"], category=invoices).assignee == c
    assert new(org, queue["team"], language="en").assignee == b
    # nobody skilled in this one: everyone stays a candidate
    other = TicketCategory.objects.create(name="其他")
    assert new(org, queue["team"], category=other).assignee is not None


def test_away_until_a_time_counts_back_by_itself(org, queue):
    a, b, c = queue["agents"]
    profile = services.agent_profile_update(
        actor=a, agent=a, away_until=timezone.now() + timedelta(hours=2)
    )
    assert profile.available is False
    agents = {agent.user: agent for agent in assignment.team_agents(queue["team"])}
    assert agents[a].available is False
    later = timezone.now() + timedelta(hours=3)
    agents = {agent.user: agent for agent in assignment.team_agents(queue["team"], now=later)}
    assert agents[a].available is True


def test_distributing_the_waiting_tickets(org, queue):
    waiting = [new(org, queue["team"], f"等{n}") for n in range(3)]
    assert all(ticket.assignee is None for ticket in waiting)
    configure(org, queue["team"], auto_assign="round_robin")
    given = services.queue_distribute(actor=org["service_manager"], team=queue["team"])
    assert given == 3
    assert Ticket.objects.filter(pk__in=[t.pk for t in waiting], assignee__isnull=True).count() == 0
    assert services.queue_distribute(actor=org["service_manager"], team=queue["team"]) == 0


def test_moving_a_ticket_into_an_assigning_queue_assigns_it(org, queue):
    other = Team.objects.create(name="其他队")
    ticket = services.ticket_create(actor=org["admin"], subject="转队列", team=other)
    configure(org, queue["team"], auto_assign="round_robin")
    services.ticket_assign(actor=org["admin"], ticket=ticket, team=queue["team"])
    ticket.refresh_from_db()
    assert ticket.assignee is not None and ticket.team == queue["team"]


def test_who_may_change_what_and_bad_input(org, queue):
    a, b, c = queue["agents"]
    with pytest.raises(PermissionDenied):
        services.queue_settings_update(actor=a, team=queue["team"], auto_assign="round_robin")
    with pytest.raises(PermissionDenied):
        services.agent_profile_update(actor=a, agent=b, available=False)
    with pytest.raises(PermissionDenied):
        services.agent_profile_update(actor=a, agent=a, languages=["en"])
    with pytest.raises(ValidationError) as error:
        configure(org, queue["team"], auto_assign="sometimes", max_open_per_agent=-1)
    assert set(error.value.message_dict) == {"auto_assign", "max_open_per_agent"}
    assert not QueueSettings.objects.exists()  # nothing stored
    with pytest.raises(ValidationError) as error:
        services.agent_profile_update(
            actor=org["service_manager"],
            agent=a,
            languages=["klingon"],
            away_until=timezone.now() - timedelta(hours=1),
        )
    assert set(error.value.message_dict) == {"languages", "away_until"}
    assert not AgentProfile.objects.filter(user=a).exists()
    with pytest.raises(ValidationError) as error:
        services.agent_profile_update(actor=org["service_manager"], agent=org["rep_east"])
    assert "agent" in error.value.message_dict
    configure(org, queue["team"], auto_assign="least_loaded")
    assert AuditEvent.objects.filter(object_type="service.queuesettings", action="update").exists()
