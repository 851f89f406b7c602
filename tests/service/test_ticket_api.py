"""The ticket API: what each caller sees, the workflow through its endpoints, errors naming
the field, and nothing about tickets the caller may not see."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from rapport.customers import services as customer_services
from rapport.identity.models import Team
from rapport.identity.services import token_create
from rapport.service import services
from rapport.service.models import Ticket

pytestmark = pytest.mark.django_db
URL = "/api/v1/service/tickets/"


def api_for(user, language="en") -> APIClient:
    user.language = language
    user.save(update_fields=["language"])
    _token, secret = token_create(actor=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + secret)
    return client


@pytest.fixture
def south(org):
    team = Team.objects.create(name="华南客服", department=org["departments"]["south"])
    team.members.add(org["agent"])
    return team


def test_an_agent_works_a_ticket_through_the_api(org, south):
    agent = api_for(org["agent"])
    account = customer_services.account_create(actor=org["admin"], name="北京华信软件有限公司")
    created = agent.post(
        URL, {"subject": "无法登录", "account": account.pk, "priority": "high"}, format="json"
    )
    assert created.status_code == 201, created.json()
    ticket = created.json()
    assert ticket["channel"] == "api" and ticket["team"]["name"] == "华南客服"
    assert ticket["account"]["id"] == account.pk and ticket["status"] == "new"
    detail = f"{URL}{ticket['id']}/"
    taken = agent.post(f"{detail}assign/", {"assignee": org["agent"].pk}, format="json")
    assert taken.json()["assignee"]["id"] == org["agent"].pk
    reply = agent.post(f"{detail}messages/", {"kind": "reply", "body": "已处理"}, format="json")
    assert reply.status_code == 201
    conversation = agent.get(f"{detail}messages/").json()
    assert [m["body"] for m in conversation] == ["已处理"]
    resolved = agent.post(f"{detail}status/", {"status": "resolved"}, format="json")
    assert resolved.json()["status"] == "resolved" and resolved.json()["first_response_at"]
    listed = agent.get(URL, {"status": "resolved", "team": south.pk}).json()["results"]
    assert [row["id"] for row in listed] == [ticket["id"]]


def test_errors_name_the_field_in_the_callers_language(org, south):
    client = api_for(org["agent"], "zh-hans")
    bad = client.post(URL, {"subject": "", "priority": "whenever"}, format="json")
    assert bad.status_code == 400
    fields = bad.json()["error"]["fields"]
    assert set(fields) == {"subject", "priority"}
    assert fields["subject"][0]["message"] == "请输入主题。"
    ticket = services.ticket_create(actor=org["agent"], subject="x")
    move = client.post(f"{URL}{ticket.pk}/status/", {"status": "pending"}, format="json")
    assert move.status_code == 200
    services.ticket_set_status(actor=org["agent"], ticket=ticket, status="closed")
    refused = client.post(f"{URL}{ticket.pk}/status/", {"status": "pending"}, format="json")
    assert refused.status_code == 400 and "status" in refused.json()["error"]["fields"]
    unknown = client.patch(f"{URL}{ticket.pk}/", {"status": "open"}, format="json")
    assert unknown.status_code == 400 and "status" in unknown.json()["error"]["fields"]
    assert Ticket.objects.count() == 1


def test_other_queues_tickets_are_not_found(org, south):
    east = Team.objects.create(name="华东客服", department=org["departments"]["east"])
    hidden = services.ticket_create(actor=org["admin"], subject="东方的", team=east)
    agent = api_for(org["agent"])
    assert agent.get(f"{URL}{hidden.pk}/").status_code == 404
    assert (
        agent.post(
            f"{URL}{hidden.pk}/messages/", {"kind": "note", "body": "x"}, format="json"
        ).status_code
        == 404
    )
    assert hidden.pk not in [row["id"] for row in agent.get(URL).json()["results"]]
    assert api_for(org["rep_east"]).get(URL).status_code == 403


def test_the_list_takes_the_same_queries_however_many_tickets(
    org, south, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_for(org["admin"])
    account = customer_services.account_create(actor=org["admin"], name="华信")
    services.ticket_create(actor=org["admin"], subject="一", team=south, account=account)
    client.get(URL)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured)

    one = queries()
    for n in range(5):
        services.ticket_create(
            actor=org["admin"],
            subject=f"工单{n}",
            team=south,
            account=account,
            assignee=org["agent"],
        )
    assert queries() == one
