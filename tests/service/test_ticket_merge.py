"""Merging a duplicate ticket into another and splitting a second problem out of a ticket:
the conversation moves (e-mails thread on the kept ticket), notes on both, audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.service import mail, services
from rapport.service.models import MessageKind, Ticket, TicketStatus
from tests.service.test_mail import inbox  # noqa: F401 (fixture)
from tests.service.test_tickets import desk  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def received(subject, text="", **values):
    return mail.receive(
        mail.compose(
            sender="zhang.wei@huaxin.example", subject=subject, text=text or subject, **values
        )
    )


def test_a_duplicate_is_merged_and_its_e_mails_thread_on_the_kept_ticket(org, inbox):  # noqa: F811
    agent = org["agent"]
    kept = received("打印机卡纸").ticket
    duplicate = received("打印机又卡纸了", "还是卡纸")
    services.ticket_merge(actor=agent, ticket=duplicate.ticket, into=kept)
    dup = Ticket.objects.get(pk=duplicate.ticket.pk)
    assert dup.status == TicketStatus.CLOSED and dup.parent_id == kept.pk
    kinds = list(kept.messages.values_list("kind", flat=True))
    assert kinds.count(MessageKind.INBOUND) == 2 and MessageKind.NOTE in kinds
    assert dup.messages.get().kind == MessageKind.NOTE  # "merged into"
    # the customer answers the duplicate's e-mail: it lands on the kept ticket
    answer = received("Re: 打印机又卡纸了", "修好了吗", answers=duplicate.message.email_message_id)
    assert answer.ticket.pk == kept.pk
    assert set(AuditEvent.objects.filter(action="merge").values_list("object_id", flat=True)) == {
        str(kept.pk),
        str(dup.pk),
    }


def test_merge_refusals(org, inbox):  # noqa: F811
    agent = org["agent"]
    one = received("一").ticket
    two = received("二").ticket
    with pytest.raises(ValidationError) as error:
        services.ticket_merge(actor=agent, ticket=one, into=one)
    assert "into" in error.value.message_dict
    services.ticket_set_status(actor=agent, ticket=two, status=TicketStatus.CLOSED)
    with pytest.raises(ValidationError) as error:
        services.ticket_merge(actor=agent, ticket=one, into=two)
    assert "into" in error.value.message_dict
    assert Ticket.objects.get(pk=one.pk).status == TicketStatus.NEW  # nothing changed
    with pytest.raises(PermissionDenied):
        services.ticket_merge(actor=org["rep_east"], ticket=one, into=two)


def test_a_second_problem_is_split_into_its_own_ticket(org, inbox):  # noqa: F811
    agent = org["agent"]
    first = received("发票问题", "发票抬头错了")
    ticket = first.ticket
    second = received(
        f"[#{ticket.pk}] 发票问题", "另外，系统登录不上了", answers=first.message.email_message_id
    )
    new = services.ticket_split(actor=agent, ticket=ticket, message=second.message)
    assert new.parent_id == ticket.pk and new.contact == ticket.contact
    assert new.team == ticket.team and new.subject.endswith("另外，系统登录不上了")
    assert new.messages.get().pk == second.message.pk
    assert ticket.messages.filter(kind=MessageKind.NOTE).exists()
    assert AuditEvent.objects.filter(action="split", object_id=str(ticket.pk)).exists()
    # only what the customer wrote on this ticket can be split out
    note = services.ticket_message_add(actor=agent, ticket=ticket, kind="note", body="内部")
    with pytest.raises(ValidationError) as error:
        services.ticket_split(actor=agent, ticket=ticket, message=note)
    assert "message" in error.value.message_dict


def test_merge_and_split_from_the_ticket_page(org, inbox, client):  # noqa: F811
    agent = org["agent"]
    first = received("网站打不开", "首页 502")
    ticket = first.ticket
    second = received(
        f"[#{ticket.pk}] 网站打不开", "另外发票还没收到", answers=first.message.email_message_id
    )
    client.force_login(agent)
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert 'data-testid="ticket-split"' in page and 'data-testid="ticket-merge-form"' in page
    response = client.post(f"/service/tickets/{ticket.pk}/split/", {"message": second.message.pk})
    new = Ticket.objects.get(parent=ticket)
    assert response["Location"] == f"/service/tickets/{new.pk}/"
    # merge the new one back; a number the agent may not change is refused without a trace
    hidden = services.ticket_create(actor=org["admin"], subject="别的队列", team=inbox["east"])
    client.post(f"/service/tickets/{new.pk}/merge/", {"into": str(hidden.pk)})
    assert Ticket.objects.get(pk=new.pk).status == TicketStatus.NEW
    response = client.post(f"/service/tickets/{new.pk}/merge/", {"into": f"#{ticket.pk}"})
    assert response["Location"] == f"/service/tickets/{ticket.pk}/"
    assert Ticket.objects.get(pk=new.pk).status == TicketStatus.CLOSED
    history = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert 'data-testid="ticket-history"' in history


def test_merge_and_split_through_the_api_and_the_cli(org, inbox):  # noqa: F811
    from io import StringIO

    from django.core.management import call_command
    from django.utils import translation

    from tests.service.test_ticket_api import api_for

    first = received("API 合并")
    ticket = first.ticket
    second = received(
        f"[#{ticket.pk}] API 合并", "第二个问题", answers=first.message.email_message_id
    )
    api = api_for(org["agent"])
    split = api.post(
        f"/api/v1/service/tickets/{ticket.pk}/split/",
        {"message": second.message.pk, "subject": "第二个问题"},
        format="json",
    )
    assert split.status_code == 201 and split.json()["parent"] == ticket.pk
    bad = api.post(f"/api/v1/service/tickets/{ticket.pk}/split/", {"message": 0}, format="json")
    assert bad.status_code == 400 and "message" in bad.json()["error"]["fields"]
    out = StringIO()
    with translation.override("en"):
        call_command(
            "ticket", "merge", str(split.json()["id"]), str(ticket.pk), "--as", "agent", stdout=out
        )
    assert f"Merged into #{ticket.pk}" in out.getvalue()
    assert Ticket.objects.get(pk=split.json()["id"]).status == TicketStatus.CLOSED


def test_an_open_complaint_is_not_closed_by_a_merge(org, inbox):  # noqa: F811
    agent = org["agent"]
    kept = received("投诉合并").ticket
    complaint = services.ticket_create(
        actor=agent, subject="服务态度差", kind="complaint", contact=kept.contact, team=kept.team
    )
    with pytest.raises(ValidationError) as error:
        services.ticket_merge(actor=agent, ticket=complaint, into=kept)
    assert "status" in error.value.message_dict
    assert Ticket.objects.get(pk=complaint.pk).status == TicketStatus.NEW
