"""`rapport ticket`: an agent works a ticket from the shell, restricted like everywhere."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from rapport.identity.models import Team
from rapport.service import services
from rapport.service.models import Ticket, TicketStatus

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("ticket", *args, stdout=out)
    return out.getvalue()


def test_an_agent_works_a_ticket_from_the_shell(org):
    Team.objects.create(name="华南客服").members.add(org["agent"])
    assert "created" in run("create", "打印机卡纸", "--priority", "high", "--as", "agent")
    ticket = Ticket.objects.get()
    assert ticket.team.name == "华南客服"
    run("assign", str(ticket.pk), "--to", "agent", "--as", "agent")
    run("reply", str(ticket.pk), "已派工程师上门", "--as", "agent")
    run("status", str(ticket.pk), "resolved", "--as", "agent")
    shown = run("show", str(ticket.pk), "--as", "agent")
    assert "打印机卡纸" in shown and "已派工程师上门" in shown and "Resolved" in shown
    assert "打印机卡纸" in run("list", "--status", "resolved", "--as", "agent")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED and ticket.assignee == org["agent"]


def test_refusals_name_the_field_and_hidden_tickets_are_not_found(org):
    east = Team.objects.create(name="华东客服")
    hidden = services.ticket_create(actor=org["admin"], subject="东方的", team=east)
    with pytest.raises(CommandError, match="ticket: "):
        run("show", str(hidden.pk), "--as", "agent")
    with pytest.raises(CommandError, match="subject: "):
        run("create", " ", "--as", "agent")
    with pytest.raises(CommandError, match="priority: "):
        run("create", "x", "--priority", "whenever", "--as", "agent")
    with pytest.raises(CommandError):
        run("create", "销售不能建工单", "--as", "rep_east")
    assert Ticket.objects.count() == 1
