"""Demo quotes: the company's letterhead and quote terms in both languages, and a dozen
quotes in every state — drafts, approved at once below the discount threshold, one waiting
for the manager's approval, one the manager sent back, sent, accepted (with its order),
declined, expired, and a second version that replaced the first — made through the quote
services (so numbered, priced from the catalogue, approved through automation and audited).
Lines come from the catalogue's products when there are any, else are described services;
quotes hang on the reps' open opportunities when there are any.

`generate_quotes(users=…, rng=…)` is called by the demo command (wired by the lead).
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from rapport.customers.models import Account
from rapport.identity.models import Action, User
from rapport.sales.config import get_settings
from rapport.sales.models import Opportunity, Product, Quote, QuoteStatus
from rapport.sales.services import quotes as quote_services

TERMS = (
    "1. 本报价含税（增值税专用发票）。\n2. 合同签订后预付 30%，发货前付清余款。\n"
    "3. 交货期：收到预付款后 15 个工作日。\n4. 质保期一年。"
)
TERMS_EN = (
    "1. Prices include VAT (special VAT invoice).\n2. 30% on signing, the balance before "
    "delivery.\n3. Delivery within 15 working days of the down payment.\n4. One-year warranty."
)
SERVICES = (
    ("CRM 实施服务（人天）", "人天", Decimal("2800.00"), Decimal("6")),
    ("系统集成与数据迁移", "项", Decimal("45000.00"), Decimal("6")),
    ("年度运维支持", "年", Decimal("36000.00"), Decimal("6")),
    ("现场培训（每场）", "场", Decimal("6000.00"), Decimal("6")),
)
TITLES = (
    "一期实施报价",
    "年度续约报价",
    "Implementation proposal",
    "设备采购报价",
    "扩容报价",
    "Support renewal",
)


def _letterhead(admin: User) -> None:
    current = get_settings()
    if current.company_name:
        return
    quote_services.settings_update(
        actor=admin,
        company_name="上海融通信息技术有限公司",
        company_name_en="Shanghai Rongtong Information Technology Co., Ltd.",
        address="上海市浦东新区张江路 88 号 5 楼",
        address_en="5F, 88 Zhangjiang Road, Pudong, Shanghai",
        phone="021-5080 8888",
        email="sales@rongtong.example.cn",
        tax_number="91310115MA1K4XXXXX",
        bank_name="招商银行上海张江支行",
        bank_account="1219 0888 8810 001",
        quote_terms=TERMS,
        quote_terms_en=TERMS_EN,
    )


def _lines(rng: random.Random, products: list[Product]) -> list[dict[str, Any]]:
    count = rng.randint(1, 3)
    if products:
        return [
            {
                "product": product.pk,
                "quantity": str(rng.choice([1, 2, 5, 10, 20])),
                "discount_percent": str(rng.choice([0, 0, 0, 5])),
            }
            for product in rng.sample(products, min(count, len(products)))
        ]
    return [
        {
            "description": name,
            "unit": unit,
            "unit_price": str(price),
            "tax_percent": str(tax),
            "quantity": str(rng.choice([1, 2, 3, 5])),
        }
        for name, unit, price, tax in rng.sample(SERVICES, min(count, len(SERVICES)))
    ]


def _quietly(service, **kwargs):
    """A step of the story that may not apply here (no manager, no e-mail): skipped."""
    try:
        with transaction.atomic():
            return service(**kwargs)
    except ValidationError:
        return None


def generate_quotes(*, users: dict[str, User], rng: random.Random) -> int:
    """The letterhead and about a dozen quotes (once: nothing is added when quotes exist);
    returns how many quotes were made."""
    admin = users.get("admin")
    reps = [
        user for key in ("sales_rep", "sales_rep_south") if (user := users.get(key)) is not None
    ]
    manager = users.get("sales_manager")
    if admin is None or not reps or Quote.objects.exists():
        return 0
    _letterhead(admin)
    threshold = get_settings().discount_approval_percent
    products = list(
        Product.objects.filter(is_active=True, parent__isnull=True).order_by("sku")[:30]
    )
    made = 0
    for index in range(12):
        rep = reps[index % len(reps)]
        account = (
            Account.objects.restrict(rep, Action.VIEW)
            .filter(owner=rep)
            .order_by("id")[index:]
            .first()
            or Account.objects.restrict(rep, Action.VIEW).order_by("id").first()
        )
        if account is None:
            continue
        contact = account.contacts.order_by("id").first()
        opportunity = (
            Opportunity.objects.filter(account=account, owner=rep, status="open")
            .order_by("id")
            .first()
        )
        story = index % 8
        # the discount that makes the story: above the threshold for approvals
        discount = threshold + 5 if story in (2, 3) else Decimal(rng.choice([0, 3, 5, 8]))
        quote = _quietly(
            quote_services.quote_create,
            actor=rep,
            account=account,
            contact=contact,
            opportunity=opportunity,
            title=TITLES[index % len(TITLES)],
            language="en" if rep.language == "en" else "zh-hans",
            discount_percent=min(discount, Decimal(100)),
            lines=_lines(rng, products),
        )
        if quote is None:
            continue
        made += 1
        if story == 0:
            continue  # a draft
        quote = _quietly(quote_services.quote_submit, actor=rep, quote=quote) or quote
        if story == 3 and quote.status == QuoteStatus.PENDING_APPROVAL and manager is not None:
            _decide(quote, manager, approve=False, comment="折扣过高，请先与客户再谈一轮。")
            continue
        if story in (1, 2) or quote.status != QuoteStatus.APPROVED:
            continue  # approved and ready, or waiting for the manager
        sent = _quietly(quote_services.quote_send, actor=rep, quote=quote)
        if sent is None:
            continue
        if story == 4:
            _quietly(quote_services.quote_accept, actor=rep, quote=sent)
        elif story == 5:
            _quietly(
                quote_services.quote_decline, actor=rep, quote=sent, reason="客户预算削减，项目延期"
            )
        elif story == 6:
            Quote.objects.filter(pk=sent.pk).update(
                valid_until=timezone.localdate() - timedelta(days=1)
            )
            quote_services.quotes_expire()
        elif story == 7:
            second = _quietly(quote_services.quote_new_version, actor=rep, quote=sent)
            if second is not None:
                made += 1
                approved = _quietly(quote_services.quote_submit, actor=rep, quote=second)
                if approved is not None and approved.status == QuoteStatus.APPROVED:
                    _quietly(quote_services.quote_send, actor=rep, quote=approved)
    return made


def _decide(quote: Quote, manager: User, *, approve: bool, comment: str) -> None:
    """The manager's decision on the quote's approval task (through the approval engine)."""
    from rapport.automation import approvals
    from rapport.automation.models import ApprovalRequest, ApprovalTaskState

    request = (
        ApprovalRequest.objects.filter(object_type=Quote.security_type, object_id=quote.pk)
        .order_by("-id")
        .first()
    )
    task = (
        request.tasks.filter(state=ApprovalTaskState.PENDING).order_by("id").first()
        if request is not None
        else None
    )
    if task is None or task.approver_id != manager.pk:
        return
    _quietly(approvals.approval_decide, actor=manager, task=task, approve=approve, comment=comment)
