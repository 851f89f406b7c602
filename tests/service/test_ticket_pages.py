"""The ticket pages: lists by view, new from a 360 page, the conversation, status and queue;
errors beside their field; other queues' tickets not found; a fixed number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.core import search
from rapport.customers import services as customer_services
from rapport.identity.models import Team
from rapport.service import services
from rapport.service.models import Ticket, TicketMessage, TicketStatus

pytestmark = pytest.mark.django_db


def signed_in(user, language="en") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def desk(org, django_capture_on_commit_callbacks):
    south = Team.objects.create(name="华南客服", department=org["departments"]["south"])
    south.members.add(org["agent"])
    east = Team.objects.create(name="华东客服", department=org["departments"]["east"])
    with django_capture_on_commit_callbacks(execute=True):
        account = customer_services.account_create(actor=org["admin"], name="北京华信软件有限公司")
        contact = customer_services.contact_create(
            actor=org["admin"], name="张伟", accounts=[account]
        )
    return {"south": south, "east": east, "account": account, "contact": contact}


def test_a_ticket_from_the_contact_360_page_to_resolved(
    org, desk, django_capture_on_commit_callbacks
):
    agent = org["agent"]
    client = signed_in(agent, "zh-hans")
    contact = desk["contact"]
    detail = client.get(reverse("customers:contact_detail", args=[contact.pk])).content.decode()
    new_url = reverse("service:ticket_create") + f"?contact={contact.pk}"
    assert 'data-testid="ticket-panel"' in detail and new_url.replace("&", "&amp;") in detail
    form = client.get(new_url).content.decode()
    assert f"{contact.pk} · 张伟" in form
    refused = client.post(new_url, {"subject": " ", "kind": "question", "priority": "normal"})
    assert refused.status_code == 200 and "请输入主题。" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            new_url,
            {
                "subject": "发票开错了",
                "description": "抬头应为北京华信软件有限公司",
                "kind": "request",
                "priority": "high",
                "contact": f"{contact.pk} · 张伟",
            },
        )
    ticket = Ticket.objects.get()
    assert created["Location"] == reverse("service:ticket_detail", args=[ticket.pk])
    assert ticket.contact == contact and ticket.account == desk["account"]
    # the agent takes it, answers, resolves
    client.post(reverse("service:ticket_take", args=[ticket.pk]))
    client.post(
        reverse("service:ticket_message", args=[ticket.pk]),
        {"kind": "reply", "body": "已重新开具，请查收。"},
    )
    empty = client.post(reverse("service:ticket_message", args=[ticket.pk]), {"kind": "note"})
    assert empty.status_code == 400 and "请写下内容。" in empty.content.decode()
    client.post(reverse("service:ticket_status", args=[ticket.pk]), {"status": "resolved"})
    ticket.refresh_from_db()
    assert ticket.assignee == agent and ticket.status == TicketStatus.RESOLVED
    page = client.get(reverse("service:ticket_detail", args=[ticket.pk])).content.decode()
    assert "已重新开具，请查收。" in page and 'data-status-action="open"' in page
    # the history says who did what, in words
    history = page.split('data-testid="ticket-history"', 1)[1]
    assert "状态已更改" in history and "处理中 → 已解决" in history  # reply opened it
    assert "— → Agent" in history  # taken
    assert TicketMessage.objects.count() == 1
    # found by the search box, by subject, and by pinyin initials
    found = search.search(agent, "fpkc")
    group = next(g for g in found.groups if g.object_type == "service.ticket")
    assert [hit.id for hit in group.hits] == [ticket.pk]
    # people who do not work on tickets get no Tickets group at all
    assert "service.ticket" not in {
        g.object_type for g in search.search(org["rep_east"], "fpkc").groups
    }


def test_lists_by_view_and_other_queues_stay_hidden(org, desk):
    admin = org["admin"]
    mine = services.ticket_create(actor=admin, subject="我的", assignee=org["agent"])
    queued = services.ticket_create(actor=admin, subject="队列里的", team=desk["south"])
    elsewhere = services.ticket_create(actor=admin, subject="别的队列", team=desk["east"])
    client = signed_in(org["agent"])
    url = reverse("service:ticket_list")

    def rows(view: str) -> set[int]:
        page = client.get(url, {"view": view}).content.decode()
        return {t.pk for t in (mine, queued, elsewhere) if f'data-ticket-row="{t.pk}"' in page}

    assert rows("mine") == {mine.pk}
    assert rows("queue") == {queued.pk}
    assert rows("open") == {mine.pk, queued.pk}
    assert client.get(reverse("service:ticket_detail", args=[elsewhere.pk])).status_code == 404
    stranger = signed_in(org["rep_east"])
    assert stranger.get(url).status_code == 403


def test_reassigning_from_the_ticket_page(org, desk):
    manager = signed_in(org["service_manager"])
    ticket = services.ticket_create(actor=org["admin"], subject="转给坐席", team=desk["south"])
    response = manager.post(
        reverse("service:ticket_assign", args=[ticket.pk]),
        {"team": desk["south"].pk, "assignee": org["agent"].pk},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == org["agent"]
    refused = manager.post(
        reverse("service:ticket_assign", args=[ticket.pk]), {"assignee": org["rep_east"].pk}
    )
    assert refused.status_code == 400
    ticket.refresh_from_db()
    assert ticket.assignee == org["agent"]


def test_the_list_and_the_ticket_take_the_same_queries_however_many_rows(org, desk):
    admin = org["admin"]
    client = signed_in(admin)
    first = services.ticket_create(
        actor=admin, subject="一", team=desk["south"], contact=desk["contact"]
    )
    services.ticket_message_add(actor=admin, ticket=first, kind="reply", body="好")
    url = reverse("service:ticket_list")
    detail = reverse("service:ticket_detail", args=[first.pk])
    client.get(url, {"view": "all"})

    def queries(path, params=None) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path, params or {}).status_code == 200
        return len(captured)

    before = (queries(url, {"view": "all"}), queries(detail))
    for n in range(6):
        other = services.ticket_create(
            actor=admin,
            subject=f"工单{n}",
            team=desk["east"],
            contact=desk["contact"],
            assignee=org["agent"],
        )
        services.ticket_message_add(actor=admin, ticket=first, kind="note", body=f"备注{n}")
        services.ticket_update(actor=admin, ticket=other, parent=first)
    assert (queries(url, {"view": "all"}), queries(detail)) == before
