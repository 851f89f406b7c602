"""Tickets by e-mail: incoming e-mails become tickets or thread onto them (by Message-ID or the
ticket number), duplicates are stored once, hostile HTML and oversized attachments are handled
safely; replies go out by e-mail with the ticket number, threaded, never to someone who
withdrew e-mail consent for service."""

from __future__ import annotations

import imaplib

import pytest
from django.core.exceptions import ValidationError

from rapport.audit.models import AuditEvent
from rapport.customers import services as customer_services
from rapport.customers.models import Contact
from rapport.identity.models import Team
from rapport.service import intake, mail, services
from rapport.service.models import (
    MessageKind,
    Ticket,
    TicketAttachment,
    TicketChannel,
    TicketMessage,
    TicketStatus,
)
from tests.service.test_tickets import desk  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.fixture
def inbox(org, desk, settings):  # noqa: F811
    settings.SERVICE_INBOX_TEAM = desk["south"].name
    settings.SERVICE_MAILBOX = "service@rapport.example"
    customer_services.contact_update(
        actor=org["admin"], contact=desk["contact"], emails=["zhang.wei@huaxin.example"]
    )
    return desk


def test_an_e_mail_from_a_known_customer_opens_a_ticket_in_the_inbox_queue(
    org, inbox, mailoutbox, django_capture_on_commit_callbacks
):
    raw = mail.compose(
        sender="张伟 <Zhang.Wei@huaxin.example>",
        subject="发票无法下载",
        text="你好，\n\n我们的发票一直下载失败，请帮忙看看。\n\n张伟",
        attachments=[("截图.png", PNG, "image/png")],
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = mail.receive(raw)
    assert result.created and not result.duplicate
    ticket = Ticket.objects.get(pk=result.ticket.pk)
    assert ticket.subject == "发票无法下载"
    assert ticket.channel == TicketChannel.EMAIL and ticket.status == TicketStatus.NEW
    assert ticket.contact == inbox["contact"] and ticket.account == inbox["account"]
    assert ticket.team == inbox["south"] and ticket.assignee is None
    assert ticket.sla_policy_id is None or ticket.first_response_due_at is not None
    message = ticket.messages.get()
    assert message.kind == MessageKind.INBOUND and message.author is None
    assert "发票一直下载失败" in message.body
    assert message.email_address == "Zhang.Wei@huaxin.example"
    attachment = TicketAttachment.objects.get(message=message)
    assert attachment.name == "截图.png" and attachment.content_type == "image/png"
    assert attachment.size == len(PNG)
    # the agent of the inbox queue sees it; the customer is told its number
    assert Ticket.objects.restrict(org["agent"], "view").filter(pk=ticket.pk).exists()
    assert len(mailoutbox) == 1
    ack = mailoutbox[0]
    assert ack.to == ["Zhang.Wei@huaxin.example"] and f"[#{ticket.pk}]" in ack.subject
    assert f"#{ticket.pk}" in ack.body
    event = AuditEvent.objects.filter(object_type="service.ticket", object_id=str(ticket.pk))
    assert set(event.values_list("action", flat=True)) == {"create", "message"}
    assert event.filter(action="create").get().actor.username == "service-intake"


def test_an_unknown_sender_becomes_a_new_contact(org, inbox):
    result = mail.receive(
        mail.compose(sender="Li Na <li.na@newcorp.example>", subject="Pricing", text="Hi there")
    )
    contact = result.ticket.contact
    assert contact.name == "Li Na" and contact.emails == ["li.na@newcorp.example"]
    # owned by the inbox team's lead when it has one, else the mailbox; never invisible to all
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_the_same_e_mail_twice_is_stored_once(org, inbox):
    raw = mail.compose(sender="zhang.wei@huaxin.example", subject="重复", text="一次")
    first = mail.receive(raw)
    again = mail.receive(raw)
    assert again.duplicate and again.ticket.pk == first.ticket.pk
    assert Ticket.objects.filter(subject="重复").count() == 1
    assert TicketMessage.objects.filter(ticket=first.ticket).count() == 1


def test_answers_thread_by_message_id_and_reopen_a_waiting_ticket(
    org, inbox, mailoutbox, django_capture_on_commit_callbacks
):
    agent = org["agent"]
    first = mail.receive(
        mail.compose(sender="zhang.wei@huaxin.example", subject="登录失败", text="登录不了")
    )
    ticket = first.ticket
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_message_add(
            actor=agent, ticket=ticket, kind=MessageKind.REPLY, body="请告诉我们您的用户名。"
        )
    services.ticket_set_status(actor=agent, ticket=ticket, status=TicketStatus.PENDING)
    reply.refresh_from_db()
    sent = mailoutbox[-1]
    assert sent.to == ["zhang.wei@huaxin.example"]
    assert sent.subject == f"[#{ticket.pk}] 登录失败"
    assert "请告诉我们您的用户名。" in sent.body
    assert sent.extra_headers["Message-ID"] == reply.email_message_id
    assert sent.extra_headers["In-Reply-To"] == first.message.email_message_id
    assert reply.sent_at is not None and reply.not_sent_reason == ""

    answer = mail.receive(
        mail.compose(
            sender="zhang.wei@huaxin.example",
            subject=f"回复：[#{ticket.pk}] 登录失败",
            text="用户名是 zhangwei\n\n在 2026年11月30日 10:00，客服 写道：\n> 请告诉我们您的用户名。",
            answers=reply.email_message_id,
        )
    )
    assert not answer.created and answer.ticket.pk == ticket.pk
    assert answer.message.body == "用户名是 zhangwei"  # the quoted history is cut
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN  # no longer waiting on the customer
    assert ticket.sla_paused_at is None


def test_the_ticket_number_threads_only_for_the_ticket_s_own_customer(org, inbox):
    ticket = mail.receive(
        mail.compose(sender="zhang.wei@huaxin.example", subject="打印机", text="坏了")
    ).ticket
    mine = mail.receive(
        mail.compose(sender="zhang.wei@huaxin.example", subject=f"Re: [#{ticket.pk}]", text="更多")
    )
    assert mine.ticket.pk == ticket.pk and not mine.created
    stranger = mail.receive(
        mail.compose(sender="someone@else.example", subject=f"[#{ticket.pk}] 打印机", text="我也是")
    )
    assert stranger.created and stranger.ticket.pk != ticket.pk
    assert stranger.ticket.subject == "打印机"


def test_an_answer_to_a_closed_ticket_opens_a_follow_up(org, inbox):
    agent = org["agent"]
    ticket = mail.receive(
        mail.compose(sender="zhang.wei@huaxin.example", subject="旧问题", text="一")
    ).ticket
    services.ticket_set_status(actor=agent, ticket=ticket, status=TicketStatus.CLOSED)
    later = mail.receive(
        mail.compose(
            sender="zhang.wei@huaxin.example", subject=f"[#{ticket.pk}] 旧问题", text="又坏了"
        )
    )
    assert later.created and later.ticket.parent_id == ticket.pk
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED


def test_malicious_html_is_reduced_to_its_text(org, inbox):
    html = (
        "<html><head><style>p{}</style><script>alert('x')</script></head><body>"
        "<p>Hello <b>team</b>,</p><p>see <a href='javascript:steal()'>this</a> and "
        "<a href='https://docs.example/x'>the manual</a></p>"
        "<img src=x onerror=alert(1)><iframe src='https://evil.example'>frame</iframe>"
        "<blockquote>old quoted text</blockquote></body></html>"
    )
    result = mail.receive(mail.compose(sender="a@b.example", subject="HTML", html=html))
    body = result.message.body
    assert "Hello team," in body and "the manual (https://docs.example/x)" in body
    for bad in ("<", "alert", "javascript", "steal", "onerror", "frame", "old quoted text"):
        assert bad not in body


def test_a_50_mb_attachment_is_dropped_with_a_note_and_the_rest_kept(org, inbox):
    huge = b"%PDF" + b"0" * (50 * 1024 * 1024)
    result = mail.receive(
        mail.compose(
            sender="zhang.wei@huaxin.example",
            subject="合同扫描件",
            text="附件是合同",
            attachments=[
                ("合同.pdf", huge, "application/pdf"),
                ("photo.png", PNG, "image/png"),
                ("run.exe", b"MZ" + b"0" * 100, "application/octet-stream"),
            ],
        )
    )
    message = result.message
    assert [a.name for a in message.attachments.all()] == ["photo.png"]
    assert len(result.dropped) == 2
    assert "合同.pdf" in message.body and "run.exe" in message.body
    assert "附件是合同" in message.body


def test_unreadable_and_automatic_e_mails(org, inbox):
    with pytest.raises(ValidationError) as error:
        mail.receive(b"Subject: no sender\r\n\r\nhello")
    assert "message" in error.value.message_dict
    auto = mail.receive(
        mail.compose(
            sender="zhang.wei@huaxin.example",
            subject="Out of office",
            text="I am away",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    own = mail.receive(mail.compose(sender="service@rapport.example", subject="loop", text="x"))
    assert auto.ignored == "automatic" and own.ignored == "own_mail"
    assert not Ticket.objects.filter(subject__in=["Out of office", "loop"]).exists()


def test_no_reply_to_a_customer_who_withdrew_e_mail_consent_for_service(
    org, inbox, mailoutbox, django_capture_on_commit_callbacks
):
    ticket = mail.receive(
        mail.compose(sender="zhang.wei@huaxin.example", subject="退订", text="别再发邮件")
    ).ticket
    customer_services.consent_withdraw(
        actor=org["admin"],
        contact=inbox["contact"],
        channel="email",
        purpose="service",
        source="email",
        evidence="客户来信要求",
    )
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as error:
        services.ticket_message_add(
            actor=org["agent"], ticket=ticket, kind=MessageKind.REPLY, body="好的"
        )
    assert error.value.message_dict["body"][0].startswith("张伟")
    assert ticket.messages.filter(kind=MessageKind.REPLY).count() == 0
    assert not any("好的" in m.body for m in mailoutbox)
    # an internal note is still possible
    services.ticket_message_add(actor=org["agent"], ticket=ticket, kind="note", body="已退订")


def test_a_reply_without_an_address_is_kept_with_the_reason(
    org, inbox, mailoutbox, django_capture_on_commit_callbacks
):
    contact = customer_services.contact_create(actor=org["admin"], name="王芳")
    ticket = services.ticket_create(actor=org["agent"], subject="电话报修", contact=contact)
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_message_add(
            actor=org["agent"], ticket=ticket, kind=MessageKind.REPLY, body="已安排上门"
        )
    assert reply.sent_at is None and reply.not_sent_reason
    assert mailoutbox == []


def test_a_refused_send_keeps_the_reply_with_the_reason(
    org, inbox, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.service.test_mail.RefusingBackend"
    ticket = services.ticket_create(
        actor=org["agent"], subject="x", contact=inbox["contact"], team=inbox["south"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_message_add(
            actor=org["agent"], ticket=ticket, kind=MessageKind.REPLY, body="answer"
        )
    reply.refresh_from_db()
    assert reply.sent_at is None and "550" in reply.not_sent_reason
    # sending again does nothing twice: the claim is kept by the reason
    assert mail.reply_email_send(message_id=reply.pk) is False


class RefusingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise OSError("550 mailbox unavailable")


class FakeImap:
    """An IMAP server holding a few e-mails, recording what the poller marks."""

    mailbox: dict[bytes, bytes] = {}
    flags: dict[bytes, set[str]] = {}

    def __init__(self, host, port, timeout=None):
        self.host = host

    def login(self, user, password):
        assert (user, password) == ("desk", "secret")

    def select(self, folder):
        assert folder == "INBOX"

    def uid(self, command, *args):
        if command == "SEARCH":
            unseen = [u for u in self.mailbox if "\\Seen" not in self.flags.get(u, set())]
            return "OK", [b" ".join(unseen)]
        if command == "FETCH":
            uid = args[0]
            return "OK", [(b"1 (UID " + uid + b" BODY[] {n}", self.mailbox[uid]), b")"]
        if command == "STORE":
            uid, _op, flags = args
            self.flags.setdefault(uid, set()).update(flags.strip("()").split())
            return "OK", []
        raise AssertionError(command)

    def logout(self):
        pass


def test_the_imap_poller_receives_unseen_mail_once(org, inbox, settings, monkeypatch):
    settings.SERVICE_IMAP = {
        "host": "imap.example",
        "port": 993,
        "ssl": True,
        "user": "desk",
        "password": "secret",
        "folder": "INBOX",
    }
    FakeImap.mailbox = {
        b"1": mail.compose(sender="zhang.wei@huaxin.example", subject="IMAP 一", text="一"),
        b"2": mail.compose(sender="zhang.wei@huaxin.example", subject="IMAP 二", text="二"),
        b"3": b"Subject: broken\r\n\r\nno sender",
    }
    FakeImap.flags = {}
    monkeypatch.setattr(imaplib, "IMAP4_SSL", FakeImap)
    counts = mail.poll_imap()
    assert counts["received"] == 2 and counts["refused"] == 1
    assert FakeImap.flags[b"3"] == {"\\Seen", "\\Flagged"}
    assert mail.poll_imap()["received"] == 0  # all seen now
    FakeImap.flags = {}  # the server forgot: nothing is stored twice
    again = mail.poll_imap()
    assert again["duplicates"] == 2 and again["received"] == 0
    assert Ticket.objects.filter(subject__startswith="IMAP").count() == 2


def test_the_poller_does_nothing_until_configured(settings):
    settings.SERVICE_IMAP = {**settings.SERVICE_IMAP, "host": ""}
    assert mail.poll_imap()["configured"] is False


def test_the_inbox_queue_defaults_to_a_team_with_agents(org, inbox, settings):
    settings.SERVICE_INBOX_TEAM = ""
    Team.objects.create(name="AAA 空队")  # no agents: not chosen
    assert intake.inbox_team() == inbox["east"] or intake.inbox_team() == inbox["south"]


def test_a_mail_gateway_delivers_through_the_api(org, inbox):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.service.test_ticket_api import api_for

    client = api_for(org["agent"])
    raw = mail.compose(sender="zhang.wei@huaxin.example", subject="API 来信", text="你好")
    response = client.post(
        "/api/v1/service/tickets/inbound-email/",
        {"message": SimpleUploadedFile("m.eml", raw, content_type="message/rfc822")},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] is True and body["duplicate"] is False
    again = client.post(
        "/api/v1/service/tickets/inbound-email/",
        {"message": SimpleUploadedFile("m.eml", raw, content_type="message/rfc822")},
        format="multipart",
    )
    assert again.json()["duplicate"] is True and again.json()["ticket"] == body["ticket"]
    missing = client.post("/api/v1/service/tickets/inbound-email/", {}, format="multipart")
    assert missing.status_code == 400 and "message" in missing.json()["error"]["fields"]
    messages = client.get(f"/api/v1/service/tickets/{body['ticket']}/messages/").json()
    assert messages[0]["kind"] == "inbound"
    assert messages[0]["email_address"] == "zhang.wei@huaxin.example"
    # someone without the grant to add tickets cannot deliver mail
    refused = api_for(org["rep_east"]).post(
        "/api/v1/service/tickets/inbound-email/",
        {"message": SimpleUploadedFile("m.eml", raw, content_type="message/rfc822")},
        format="multipart",
    )
    assert refused.status_code == 403


def test_the_cli_delivers_eml_files(org, inbox, tmp_path):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.utils import translation

    good = tmp_path / "good.eml"
    good.write_bytes(mail.compose(sender="zhang.wei@huaxin.example", subject="CLI 来信", text="x"))
    bad = tmp_path / "bad.eml"
    bad.write_bytes(b"Subject: none\r\n\r\nno sender")
    out, err = StringIO(), StringIO()
    with translation.override("en"), pytest.raises(CommandError, match="1 e-mail"):
        call_command(
            "ticket", "inbound", str(good), str(bad), "--as", "agent", stdout=out, stderr=err
        )
    ticket = Ticket.objects.get(subject="CLI 来信")
    assert f"new ticket #{ticket.pk}" in out.getvalue()
    assert "bad.eml: " in err.getvalue() and "sender" in err.getvalue()
    out = StringIO()
    with translation.override("en"):
        call_command("ticket", "inbound", str(good), "--as", "agent", stdout=out)
    assert "already received" in out.getvalue()


def test_the_ticket_page_shows_where_replies_go_and_the_files(org, inbox, client):
    result = mail.receive(
        mail.compose(
            sender="zhang.wei@huaxin.example",
            subject="页面",
            text="见附件",
            attachments=[("screen.png", PNG, "image/png")],
        )
    )
    client.force_login(org["agent"])
    page = client.get(f"/service/tickets/{result.ticket.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="reply-address"' in html and "zhang.wei@huaxin.example" in html
    attachment = result.message.attachments.get()
    assert f"/service/ticket-files/{attachment.pk}/" in html
    download = client.get(f"/service/ticket-files/{attachment.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG
    assert download["Content-Disposition"].startswith("attachment")
    assert AuditEvent.objects.filter(action="download", object_id=str(result.ticket.pk)).exists()
    # someone who may not see the ticket cannot fetch its files
    client.force_login(org["rep_east"])
    assert client.get(f"/service/ticket-files/{attachment.pk}/").status_code == 404


def test_the_ticket_page_takes_the_same_queries_however_many_e_mails_and_files(org, inbox, client):
    from tests.query_counts import assert_flat

    first = mail.receive(mail.compose(sender="zhang.wei@huaxin.example", subject="多封", text="1"))
    ticket = first.ticket
    client.force_login(org["agent"])

    def grow(n):
        for index in range(n):
            mail.receive(
                mail.compose(
                    sender="zhang.wei@huaxin.example",
                    subject=f"[#{ticket.pk}] 多封",
                    text=f"第{index}封",
                    attachments=[(f"p{index}.png", PNG, "image/png")],
                )
            )
            services.ticket_message_add(
                actor=org["agent"], ticket=ticket, kind=MessageKind.REPLY, body=f"回复{index}"
            )

    assert_flat(
        client,
        f"/service/tickets/{ticket.pk}/",
        grow,
        few=1,
        many=5,
        rows=lambda body: body.count('data-message-kind="inbound"'),
    )


def test_an_agent_s_reply_carries_files_and_a_bad_file_stores_nothing(
    org, inbox, client, mailoutbox, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    ticket = mail.receive(
        mail.compose(sender="zhang.wei@huaxin.example", subject="要发票", text="请发我发票")
    ).ticket
    client.force_login(org["agent"])
    url = f"/service/tickets/{ticket.pk}/messages/"
    refused = client.post(
        url,
        {
            "kind": "reply",
            "body": "发票见附件",
            "attachments": [
                SimpleUploadedFile("发票.pdf", b"%PDF-1.4 ...", content_type="application/pdf"),
                SimpleUploadedFile("run.exe", b"MZ...", content_type="application/octet-stream"),
            ],
        },
    )
    assert refused.status_code == 400 and "run.exe" in refused.content.decode()
    assert not ticket.messages.filter(kind="reply").exists()
    assert not TicketAttachment.objects.filter(message__kind="reply").exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            url,
            {
                "kind": "reply",
                "body": "发票见附件",
                "attachments": [
                    SimpleUploadedFile("发票.pdf", b"%PDF-1.4 ...", content_type="application/pdf")
                ],
            },
        )
    reply = ticket.messages.get(kind="reply")
    assert [a.name for a in reply.attachments.all()] == ["发票.pdf"]
    sent = [m for m in mailoutbox if "发票见附件" in m.body]
    assert len(sent) == 1
    assert [(name, content) for name, content, _type in sent[0].attachments] == [
        ("发票.pdf", b"%PDF-1.4 ...")
    ]
