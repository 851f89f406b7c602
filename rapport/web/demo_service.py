"""Demo customer service data for the `small` demo: ticket categories and tickets in the
service team's queue, some taken, answered, waiting, resolved or closed — every one through
`rapport.service.services`, as the service team would have made them (each audited)."""

from __future__ import annotations

import random

from django.db import transaction

from rapport.customers.models import AccountContact
from rapport.identity.models import Team, User
from rapport.service import mail, services
from rapport.service.models import TicketCategory

CATEGORIES = (
    ("产品咨询", "Product questions", ()),
    ("账单与发票", "Billing and invoices", (("发票", "Invoices"), ("付款", "Payments"))),
    ("技术故障", "Technical issues", (("登录", "Sign-in"), ("性能", "Performance"))),
    ("投诉", "Complaints", ()),
)
# (subject, description, category path, kind, priority)
TICKETS = (
    (
        "发票抬头开错了",
        "抬头应为公司全称，请重新开具。",
        ("账单与发票", "发票"),
        "request",
        "normal",
    ),
    (
        "系统登录不上",
        "输入密码后一直转圈，换浏览器也一样。",
        ("技术故障", "登录"),
        "incident",
        "high",
    ),
    ("报表导出很慢", "导出一万行要等五分钟以上。", ("技术故障", "性能"), "incident", "normal"),
    ("想了解企业版价格", "我们有 200 个用户，请报价。", ("产品咨询",), "question", "low"),
    ("付款后未到账", "上周五已对公转账，请核实。", ("账单与发票", "付款"), "request", "high"),
    (
        "Cannot reset password",
        "The reset e-mail never arrives.",
        ("技术故障", "登录"),
        "incident",
        "urgent",
    ),
    (
        "Invoice in English",
        "Our head office needs an English invoice.",
        ("账单与发票", "发票"),
        "request",
        "normal",
    ),
    ("客服响应太慢", "上次的问题三天都没人回复。", ("投诉",), "complaint", "high"),
    ("How to add users?", "Where do I invite my colleagues?", ("产品咨询",), "question", "low"),
    ("数据迁移咨询", "旧系统有 10 万条客户数据，能否导入？", ("产品咨询",), "question", "normal"),
)
REPLIES = (
    "您好，已收到，我们正在处理。",
    "请提供一下截图，谢谢。",
    "已为您处理完毕，请确认。",
    "Thanks, we are looking into it.",
)
# the workflow each ticket goes through: (take it, reply, final status)
PATHS = (
    (False, False, None),
    (True, False, None),
    (True, True, "pending"),
    (True, True, "resolved"),
    (True, True, "closed"),
)


def ensure_categories(*, actor: User) -> dict[tuple[str, ...], TicketCategory]:
    found: dict[tuple[str, ...], TicketCategory] = {}
    for name, name_en, children in CATEGORIES:
        parent = TicketCategory.objects.filter(name=name, parent=None).first()
        if parent is None:
            parent = services.category_create(actor=actor, name=name, name_en=name_en)
        found[(name,)] = parent
        for child_name, child_en in children:
            child = TicketCategory.objects.filter(name=child_name, parent=parent).first()
            if child is None:
                child = services.category_create(
                    actor=actor, name=child_name, name_en=child_en, parent=parent
                )
            found[(name, child_name)] = child
    return found


POLICIES = (
    ("紧急工单", "Urgent tickets", ["urgent"], 60, 240),
    ("高优先级", "High priority", ["high"], 120, 480),
    ("标准", "Standard", [], 480, 2400),
)


def ensure_sla_policies(*, actor: User) -> int:
    """The demo's service levels, when there are none (working minutes on the default
    calendar): urgent 1 h / 4 h, high 2 h / 8 h, everything else 8 h / 40 h."""
    from rapport.service.models import SlaPolicy

    if SlaPolicy.objects.exists():
        return 0
    for position, (name, name_en, priorities, first, resolution) in enumerate(POLICIES, 1):
        services.sla_policy_create(
            actor=actor,
            name=name,
            name_en=name_en,
            priorities=priorities,
            first_response_minutes=first,
            resolution_minutes=resolution,
            position=position,
        )
    return len(POLICIES)


def generate_tickets(*, users: dict[str, User], count: int, rng: random.Random) -> int:
    """`count` tickets about random contacts; returns how many were made."""
    agent, manager = users.get("service_agent"), users.get("service_manager")
    if agent is None or manager is None or count <= 0:
        return 0
    team = Team.objects.filter(members=agent).order_by("id").first()
    links = list(
        AccountContact.objects.values_list("account_id", "contact_id").order_by("id")[:500]
    )
    if not links:
        return 0
    from rapport.customers.models import Account, Contact

    made = 0
    with transaction.atomic():
        categories = ensure_categories(actor=manager)
        ensure_sla_policies(actor=manager)
        for number in range(count):
            subject, description, path, kind, priority = TICKETS[number % len(TICKETS)]
            account_id, contact_id = links[rng.randrange(len(links))]
            ticket = services.ticket_create(
                actor=agent if number % 3 else manager,
                subject=subject,
                description=description,
                kind=kind,
                priority=priority,
                channel=rng.choice(["agent", "phone", "email", "chat"]),
                category=categories[path],
                account=Account.objects.get(pk=account_id),
                contact=Contact.objects.get(pk=contact_id),
                team=team,
            )
            take, reply, final = PATHS[number % len(PATHS)]
            if take:
                services.ticket_assign(actor=agent, ticket=ticket, assignee=agent)
            if reply:
                services.ticket_message_add(
                    actor=agent, ticket=ticket, kind="note", body="先确认客户信息。"
                )
                # a customer who withdrew e-mail consent for service is phoned instead
                refused = mail.reply_refusal(ticket) is not None
                services.ticket_message_add(
                    actor=agent,
                    ticket=ticket,
                    kind="note" if refused else "reply",
                    body="已电话联系客户（客户不接收服务邮件）。"
                    if refused
                    else rng.choice(REPLIES),
                )
            if final:
                services.ticket_set_status(actor=agent, ticket=ticket, status=final)
            made += 1
        made += receive_emails(rng=rng)
        if users.get("admin") is not None:
            ensure_escalation_rule(admin=users["admin"], manager=manager)
    return made


# (subject, text) of e-mails customers send to the service mailbox
EMAILS = (
    ("合同续签需要哪些材料？", "您好：\n\n我们的服务合同下月到期，续签需要准备哪些材料？\n\n谢谢"),
    ("API returns 502 since this morning", "Hello,\n\nOur integration gets 502 errors.\n\nThanks"),
)


def receive_emails(*, rng: random.Random) -> int:
    """A few tickets that came in by e-mail from demo contacts (as the mail gateway would
    deliver them), so the inbox queue shows e-mail threads."""
    from rapport.customers.models import Contact
    from rapport.service import mail

    senders = [c for c in Contact.objects.filter(is_active=True).order_by("id")[:200] if c.emails]
    made = 0
    for subject, text in EMAILS:
        if not senders:
            break
        contact = senders[rng.randrange(len(senders))]
        raw = mail.compose(
            sender=f"{contact.name} <{contact.emails[0]}>", subject=subject, text=text
        )
        made += int(mail.receive(raw).created)
    return made


ESCALATION = "紧急工单超时升级 / Escalate missed urgent tickets"


def ensure_escalation_rule(*, admin: User, manager: User) -> None:
    """The escalation rule the demo ships with: when an urgent or high ticket misses an SLA
    target, the service manager gets it and is notified (a rule on `ticket.sla_breached`)."""
    from rapport.automation import services as rule_services
    from rapport.automation.models import Rule

    if Rule.objects.filter(name=ESCALATION).exists():
        return
    rule_services.rule_create(
        actor=admin,
        name=ESCALATION,
        object_type="service.ticket",
        trigger="event",
        trigger_config={"topic": "ticket.sla_breached"},
        condition="priority in (urgent, high)",
        is_active=True,
        actions=[
            {"type": "assign_owner", "user": manager.pk},
            {
                "type": "notify",
                "to": "owner",
                "message": "工单超时，已升级给你处理 / A ticket missed its SLA and is yours now",
            },
        ],
    )
