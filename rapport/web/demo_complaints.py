"""Complaints for the small demo: the root-cause categories, the demo's complaint tickets
investigated, and (one per 20 demo accounts) complaints registered over the last twelve
months about the company's products and services — most resolved, many confirmed by the
customer, a few with a corrective action past its date — so the complaints report shows
numbers by cause, product and month. Every write goes through the services; only the
registration dates are moved back (a demo has no past)."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from rapport.customers.models import Account, AccountContact, Contact
from rapport.identity.models import Team, User
from rapport.service import services
from rapport.service.models import Complaint, ComplaintCause, ComplaintStage, Ticket, TicketKind

CAUSES = (
    ("产品质量缺陷", "Product defect"),
    ("交付延误", "Late delivery"),
    ("服务态度", "Staff attitude"),
    ("响应太慢", "Slow response"),
    ("账单错误", "Billing error"),
    ("实施问题", "Implementation problem"),
)
PRODUCTS = ("Rapport 企业版", "移动端 App", "实施服务", "年度维保", "数据迁移服务")
# (subject, description, cause index, product index)
COMPLAINTS = (
    ("升级后报表全部错乱", "上周升级后所有报表数字对不上，影响月结。", 0, 0),
    ("实施顾问多次改期", "约好的上线支持连续三次改期。", 5, 2),
    ("发票金额与合同不符", "发票比合同多开了一万元。", 4, 3),
    ("App 经常闪退", "安卓手机打开客户列表就闪退。", 0, 1),
    ("热线客服态度差", "电话里被催着挂电话，问题也没解决。", 2, 3),
    ("迁移后丢了联系人", "旧系统 3 万条联系人迁移后少了 200 条。", 0, 4),
    ("工单两天没人回复", "紧急工单 48 小时无人跟进。", 3, 3),
    ("License delivered late", "The licence keys arrived two weeks after payment.", 1, 0),
    ("Trainer did not show up", "The on-site training was cancelled without notice.", 5, 2),
    ("硬件加密狗迟迟未到", "合同约定 5 个工作日到货，已过 3 周。", 1, 0),
)
FINDINGS = (
    "复现确认：升级脚本遗漏一处字段映射。",
    "排期系统未同步顾问请假信息。",
    "开票时误用了旧版价格表。",
    "查明原因，已与客户逐条核对。",
)
ACTIONS = (
    "补丁已发布，所有客户升级脚本增加校验。",
    "排期与请假系统打通，改期需主管审批。",
    "开票前增加合同金额自动比对。",
    "相关人员复训，流程已更新。",
)
CONFIRMATIONS = ("电话回访，客户确认满意", "客户邮件确认问题已解决", "Customer confirmed by e-mail")


def ensure_causes(*, actor: User) -> list[ComplaintCause]:
    causes = []
    for position, (name, name_en) in enumerate(CAUSES, start=1):
        cause = ComplaintCause.objects.filter(name=name).first()
        if cause is None:
            cause = services.complaint_cause_create(
                actor=actor, name=name, name_en=name_en, position=position
            )
        causes.append(cause)
    return causes


def _work(
    *,
    complaint: Complaint,
    agent: User,
    owner: User,
    cause: ComplaintCause,
    product: str,
    stage: str,
    due,
    rng: random.Random,
) -> None:
    """Move the complaint along its workflow to `stage`, as the agent would."""
    services.complaint_update(
        actor=agent, complaint=complaint, stage=ComplaintStage.INVESTIGATING, product=product
    )
    values = {
        "cause": cause,
        "findings": rng.choice(FINDINGS),
        "corrective_action": rng.choice(ACTIONS),
        "action_owner": owner,
        "action_due": due,
    }
    if stage == ComplaintStage.INVESTIGATING:
        values["findings"] = ""
        values["corrective_action"] = rng.choice(ACTIONS)
        services.complaint_update(actor=agent, complaint=complaint, **values)
        return
    services.complaint_update(
        actor=agent, complaint=complaint, stage=ComplaintStage.RESOLVED, **values
    )
    if stage == ComplaintStage.CONFIRMED:
        services.complaint_update(
            actor=agent,
            complaint=complaint,
            stage=ComplaintStage.CONFIRMED,
            confirmation_note=rng.choice(CONFIRMATIONS),
        )


def generate_complaints(*, users: dict[str, User], count: int, rng: random.Random) -> int:
    """Causes, the existing complaint tickets investigated, and `count` more complaints over
    the last year; returns how many complaints the demo has."""
    agent, manager = users.get("service_agent"), users.get("service_manager")
    if agent is None or manager is None:
        return 0
    today = timezone.localdate()
    now = timezone.now()
    with transaction.atomic():
        causes = ensure_causes(actor=manager)
        # the complaint tickets the service demo opened: being investigated
        for complaint in Complaint.objects.filter(
            ticket__kind=TicketKind.COMPLAINT, stage=ComplaintStage.REGISTERED
        ).order_by("id"):
            _work(
                complaint=complaint,
                agent=agent,
                owner=manager,
                cause=causes[3],
                product=PRODUCTS[3],
                stage=ComplaintStage.INVESTIGATING,
                due=today + timedelta(days=5),
                rng=rng,
            )
        team = Team.objects.filter(members=agent).order_by("id").first()
        links = list(
            AccountContact.objects.values_list("account_id", "contact_id").order_by("id")[:500]
        )
        for number in range(count if links else 0):
            subject, description, cause_index, product_index = COMPLAINTS[number % len(COMPLAINTS)]
            account_id, contact_id = links[rng.randrange(len(links))]
            ticket = services.ticket_create(
                actor=agent,
                subject=subject,
                description=description,
                kind=TicketKind.COMPLAINT,
                priority=rng.choice(["high", "normal", "urgent"]),
                channel=rng.choice(["phone", "email", "agent"]),
                account=Account.objects.get(pk=account_id),
                contact=Contact.objects.get(pk=contact_id),
                team=team,
            )
            days_ago = (number * 347 // max(count, 1)) % 360 + rng.randrange(0, 5)
            registered = now - timedelta(days=days_ago)
            # the newest are still registered or being looked into; most older ones done
            if days_ago < 20:
                stage = ComplaintStage.REGISTERED if number % 2 else ComplaintStage.INVESTIGATING
            elif number % 5 == 0:
                stage = ComplaintStage.INVESTIGATING  # its action now past due
            elif number % 3 == 0:
                stage = ComplaintStage.RESOLVED
            else:
                stage = ComplaintStage.CONFIRMED
            complaint = Complaint.objects.get(ticket=ticket)
            if stage != ComplaintStage.REGISTERED:
                _work(
                    complaint=complaint,
                    agent=agent,
                    owner=manager if number % 2 else agent,
                    cause=causes[cause_index],
                    product=PRODUCTS[product_index],
                    stage=stage,
                    due=(registered + timedelta(days=14)).date(),
                    rng=rng,
                )
            if stage == ComplaintStage.CONFIRMED:
                services.ticket_set_status(actor=agent, ticket=ticket, status="resolved")
            Complaint.objects.filter(pk=complaint.pk).update(created_at=registered)
            Ticket.objects.filter(pk=ticket.pk).update(created_at=registered)
    return Complaint.objects.count()
