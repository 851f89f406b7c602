"""`rapport queue`: a manager sets a queue up and hands out its tickets; an agent steps away
and comes back — from the shell, through the same services."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from rapport.identity.models import Team
from rapport.service import services
from rapport.service.models import AgentProfile, QueueSettings

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("queue", *args, stdout=out)
    return out.getvalue()


def test_queues_from_the_shell(org):
    team = Team.objects.create(name="华南客服", department=org["departments"]["south"])
    team.members.add(org["agent"])
    waiting = services.ticket_create(actor=org["admin"], subject="排队", team=team)
    assert "Round robin" in run(
        "set", "华南客服", "--mode", "round_robin", "--limit", "3", "--as", "svcmgr"
    )
    assert QueueSettings.objects.get(team=team).max_open_per_agent == 3
    assert "1 waiting" in run("distribute", "华南客服", "--as", "svcmgr")
    waiting.refresh_from_db()
    assert waiting.assignee == org["agent"]
    listing = run("list", "--as", "svcmgr")
    assert "华南客服" in listing and "available" in listing
    run("away", "--hours", "2", "--as", "agent")
    assert AgentProfile.objects.get(user=org["agent"]).available is False
    assert "away" in run("list", "--as", "svcmgr")
    run("back", "--as", "agent")
    assert AgentProfile.objects.get(user=org["agent"]).available is True
    with pytest.raises(CommandError, match="max_open_per_agent"):
        run("set", "华南客服", "--limit", "-1", "--as", "svcmgr")
    with pytest.raises(CommandError):
        run("set", "华南客服", "--mode", "off", "--as", "agent")
    with pytest.raises(CommandError, match="team"):
        run("distribute", "没有的队", "--as", "svcmgr")
