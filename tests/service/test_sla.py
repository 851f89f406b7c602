"""SLA clocks: the policy a ticket gets, due times in working time on the policy's calendar,
the pause while waiting on the customer, and the sweep that warns and reports breaches once."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from rapport.core import events
from rapport.core.notifications.models import Notification
from rapport.customers import services as customer_services
from rapport.identity.models import Team
from rapport.service import services, sla
from rapport.service.models import BusinessCalendar, SlaPolicy, Ticket

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
FRIDAY_5PM = datetime(2026, 11, 27, 17, tzinfo=SHANGHAI)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def policies(org):
    """Urgent tickets: answer in 1 working hour, solve in 4; tier-A customers: 2 / 8;
    everything else: 8 / 40. Office hours 09:00–12:00, 13:00–18:00 (the default calendar)."""
    return {
        "urgent": SlaPolicy.objects.create(
            name="紧急",
            priorities=["urgent"],
            first_response_minutes=60,
            resolution_minutes=240,
            position=1,
        ),
        "tier_a": SlaPolicy.objects.create(
            name="A 类客户",
            tiers=["A"],
            first_response_minutes=120,
            resolution_minutes=480,
            position=2,
        ),
        "standard": SlaPolicy.objects.create(
            name="标准", first_response_minutes=480, resolution_minutes=2400, position=3
        ),
    }


def created_at(ticket: Ticket, moment: datetime) -> Ticket:
    """The ticket as if it had come in at `moment`, its clocks computed again."""
    Ticket.objects.filter(pk=ticket.pk).update(created_at=moment)
    ticket.refresh_from_db()
    sla.apply(ticket)
    ticket.save()
    return ticket


def test_the_first_matching_policy_applies(org, policies):
    admin = org["admin"]
    tier_a = customer_services.account_create(actor=admin, name="华信", tier="A")
    urgent = services.ticket_create(actor=admin, subject="宕机", priority="urgent", account=tier_a)
    valued = services.ticket_create(actor=admin, subject="咨询", account=tier_a)
    plain = services.ticket_create(actor=admin, subject="咨询")
    assert (urgent.sla_policy, valued.sla_policy, plain.sla_policy) == (
        policies["urgent"],
        policies["tier_a"],
        policies["standard"],
    )
    # raising the priority chooses again
    services.ticket_update(actor=admin, ticket=plain, priority="urgent")
    plain.refresh_from_db()
    assert plain.sla_policy == policies["urgent"]
    SlaPolicy.objects.update(is_active=False)
    none = services.ticket_create(actor=admin, subject="无策略")
    assert none.sla_policy is None and none.first_response_due_at is None


def test_due_times_count_working_time_only(org, policies):
    ticket = services.ticket_create(actor=org["admin"], subject="宕机", priority="urgent")
    ticket = created_at(ticket, FRIDAY_5PM)
    # one working hour from Friday 17:00 is Friday 18:00; four are Monday 12:00
    assert ticket.first_response_due_at == local(2026, 11, 27, 18)
    assert ticket.first_response_warn_at == local(2026, 11, 27, 17, 48)  # 80 %
    assert ticket.resolution_due_at == local(2026, 11, 30, 12)


def test_waiting_on_the_customer_stops_the_resolution_clock(org, policies):
    admin = org["admin"]
    ticket = created_at(
        services.ticket_create(actor=admin, subject="宕机", priority="urgent"),
        local(2026, 11, 30, 9),  # Monday 09:00: resolution due 13:00 (lunch 12–13)
    )
    assert ticket.resolution_due_at == local(2026, 11, 30, 14)
    Ticket.objects.filter(pk=ticket.pk).update(status="open")
    ticket.refresh_from_db()
    ticket.sla_paused_at = local(2026, 11, 30, 10)  # waiting from 10:00 …
    ticket.resolution_due_at = None
    ticket.status = "pending"
    ticket.save()
    sla.resume(ticket, now=local(2026, 11, 30, 15))  # … to 15:00: four working hours
    assert ticket.sla_paused_seconds == 4 * 3600
    assert ticket.resolution_due_at == local(2026, 11, 30, 18)
    # through the service: pending stops it, open starts it again
    services.ticket_set_status(actor=admin, ticket=ticket, status="pending")
    ticket.refresh_from_db()
    assert ticket.sla_paused_at is not None and ticket.resolution_due_at is None
    services.ticket_set_status(actor=admin, ticket=ticket, status="open")
    ticket.refresh_from_db()
    assert ticket.sla_paused_at is None and ticket.resolution_due_at is not None


def test_the_sweep_warns_then_reports_a_breach_once(org, policies):
    admin, agent, manager = org["admin"], org["agent"], org["service_manager"]
    south = org["departments"]["south"]
    team = Team.objects.create(name="华南客服", department=south, lead=manager)
    team.members.add(agent)
    ticket = created_at(
        services.ticket_create(
            actor=admin, subject="宕机", priority="urgent", team=team, assignee=agent
        ),
        local(2026, 11, 30, 9),
    )
    answered = created_at(
        services.ticket_create(actor=admin, subject="已回复", priority="urgent", team=team),
        local(2026, 11, 30, 9),
    )
    services.ticket_message_add(actor=admin, ticket=answered, kind="reply", body="收到")
    heard = []

    def listen(topic, payload):
        heard.append((topic, payload["id"], payload["target"]))

    events.subscribe("ticket.sla_warning", listen)
    events.subscribe("ticket.sla_breached", listen)
    try:
        warned = sla.sweep(now=local(2026, 11, 30, 9, 50))
        assert warned["first_response_warning"] == 1 and warned["first_response_breach"] == 0
        breached = sla.sweep(now=local(2026, 11, 30, 10, 1))
        assert breached["first_response_breach"] == 1
        assert sum(sla.sweep(now=local(2026, 11, 30, 10, 2)).values()) == 0  # once each
    finally:
        events.unsubscribe("ticket.sla_warning", listen)
        events.unsubscribe("ticket.sla_breached", listen)
    ticket.refresh_from_db()
    assert ticket.first_response_warned and ticket.first_response_breached
    assert not Ticket.objects.get(pk=answered.pk).first_response_breached  # answered in time
    breach_notes = Notification.objects.filter(kind="ticket.sla_breached")
    assert {note.recipient for note in breach_notes} == {agent, manager}
    assert Notification.objects.filter(kind="ticket.sla_warning", recipient=agent).count() == 1


def test_a_ticket_waiting_on_the_customer_does_not_breach_its_resolution(org, policies):
    admin = org["admin"]
    ticket = created_at(
        services.ticket_create(actor=admin, subject="等客户", priority="urgent"),
        local(2026, 11, 30, 9),
    )
    services.ticket_message_add(actor=admin, ticket=ticket, kind="reply", body="请提供日志")
    services.ticket_set_status(actor=admin, ticket=ticket, status="pending")
    counts = sla.sweep(now=local(2026, 12, 30, 9))
    assert counts["resolution_breach"] == 0
    assert BusinessCalendar.objects.filter(is_default=True).exists()


def test_the_ticket_page_shows_its_clocks(org, policies):
    from django.test import Client
    from django.urls import reverse

    admin = org["admin"]
    ticket = services.ticket_create(actor=admin, subject="宕机", priority="urgent")
    Ticket.objects.filter(pk=ticket.pk).update(first_response_breached=True)
    client = Client()
    admin.language = "zh-hans"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    page = client.get(reverse("service:ticket_detail", args=[ticket.pk])).content.decode()
    assert 'data-testid="ticket-sla"' in page and "紧急" in page
    assert 'data-testid="sla-breached"' in page
    services.ticket_message_add(actor=admin, ticket=ticket, kind="reply", body="收到")
    services.ticket_set_status(actor=admin, ticket=ticket, status="pending")
    page = client.get(reverse("service:ticket_detail", args=[ticket.pk])).content.decode()
    assert 'data-testid="sla-paused"' in page


def test_the_list_shows_the_next_clock_of_each_ticket(org, policies):
    from django.test import Client
    from django.urls import reverse

    admin = org["admin"]
    waiting = services.ticket_create(actor=admin, subject="等客户", priority="urgent")
    services.ticket_message_add(actor=admin, ticket=waiting, kind="reply", body="请提供日志")
    services.ticket_set_status(actor=admin, ticket=waiting, status="pending")
    late = services.ticket_create(actor=admin, subject="超时了", priority="urgent")
    Ticket.objects.filter(pk=late.pk).update(first_response_breached=True)
    client = Client()
    client.force_login(admin)
    page = client.get(reverse("service:ticket_list"), {"view": "all"}).content.decode()
    rows = {
        ticket.pk: page.split(f'data-ticket-row="{ticket.pk}"', 1)[1].split("</tr>", 1)[0]
        for ticket in (waiting, late)
    }
    assert 'data-sla-state="paused"' in rows[waiting.pk]
    assert 'data-sla-next="first_response"' in rows[late.pk]
    assert 'data-sla-state="breached"' in rows[late.pk]


def test_the_cli_lists_policies_and_sweeps(org, policies):
    from io import StringIO

    from django.core.management import call_command
    from django.utils import translation

    ticket = services.ticket_create(actor=org["admin"], subject="宕机", priority="urgent")
    Ticket.objects.filter(pk=ticket.pk).update(
        first_response_due_at=local(2026, 1, 1, 9), first_response_warn_at=local(2026, 1, 1, 8)
    )
    out = StringIO()
    with translation.override("en"):
        call_command("sla", "list", stdout=out)
        call_command("sla", "sweep", stdout=out)
        call_command("sla", "sweep", stdout=out)
    text = out.getvalue()
    assert "紧急" in text and "urgent" in text
    assert "Warnings: 0, breaches: 1." in text and "Warnings: 0, breaches: 0." in text


def test_the_board_counts_per_person_and_queue_in_a_fixed_number_of_queries(org, policies):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    admin, agent = org["admin"], org["agent"]
    team = Team.objects.create(name="华南客服", department=org["departments"]["south"])
    team.members.add(agent)
    late = services.ticket_create(
        actor=admin, subject="超时", priority="urgent", assignee=agent, team=team
    )
    Ticket.objects.filter(pk=late.pk).update(
        first_response_breached=True, first_response_warned=True
    )
    soon = services.ticket_create(actor=admin, subject="快到期", assignee=agent, team=team)
    Ticket.objects.filter(pk=soon.pk).update(first_response_warned=True)
    services.ticket_create(actor=admin, subject="排队", team=team)
    client = Client()
    client.force_login(org["service_manager"])
    url = reverse("service:ticket_board")
    page = client.get(url).content.decode()
    row = page.split(f'data-board-person="{agent.pk}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-count="soon">1<' in row and ">1</span>" in row  # one due soon, one missed
    queue = page.split(f'data-board-queue="{team.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "华南客服" in queue

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        return len(captured)

    before = queries()
    for n in range(4):
        services.ticket_create(actor=admin, subject=f"更多{n}", assignee=agent, team=team)
    assert queries() == before
    assert Client().get(url).status_code == 302  # signed out: to the login page


def test_on_postgresql_the_board_has_its_covering_index_and_the_sweep_open_only_indexes():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("covering and partial index definitions are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'service_ticket'"
        )
        indexes = dict(cursor.fetchall())
    assert "INCLUDE" in indexes["service_ticket_board_idx"]
    for short in ("frw", "frd", "rw", "rd"):
        assert "WHERE" in indexes[f"service_ticket_{short}_open_idx"]
