"""Demo leads: the default pool (公海 / Open pool), two assignment rules, and about sixty
Chinese and English leads in every state — new, worked with follow-ups, qualified with their
budget, disqualified with a reason, a few converted, and some waiting in the pool — all made
through the lead services, so each is normalised, assigned by the rules and audited.

`generate_leads(users=…, count=…, rng=…)` is called by the demo command (wired by the lead).
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from rapport.identity.models import User
from rapport.sales.models import Lead, LeadAssignmentRule, LeadPool
from rapport.sales.models.leads import AssignmentMethod, LeadStatus
from rapport.sales.services import leads as lead_services

PEOPLE = (
    ("张伟", "采购经理"),
    ("王芳", "信息部主任"),
    ("李娜", "总经理助理"),
    ("刘洋", "IT 经理"),
    ("陈静", "运营总监"),
    ("杨帆", "财务经理"),
    ("赵磊", "副总经理"),
    ("黄敏", "行政主管"),
    ("周杰", "技术总监"),
    ("吴婷", "市场经理"),
    ("Emily Zhang", "Procurement Lead"),
    ("Daniel Wu", "IT Director"),
    ("Sophie Lin", "COO"),
    ("Michael Chan", "Head of Sales Ops"),
)
COMPANIES = (
    ("上海锦程物流有限公司", "上海市", "上海市", "物流"),
    ("杭州云帆科技有限公司", "浙江省", "杭州市", "软件"),
    ("深圳华拓电子有限公司", "广东省", "深圳市", "制造"),
    ("广州南粤食品有限公司", "广东省", "广州市", "食品"),
    ("苏州精工机械有限公司", "江苏省", "苏州市", "制造"),
    ("北京智远咨询有限公司", "北京市", "北京市", "咨询"),
    ("成都天府医药有限公司", "四川省", "成都市", "医药"),
    ("南京金陵建设集团", "江苏省", "南京市", "建筑"),
    ("Harbour Bridge Trading Ltd.", "广东省", "深圳市", "贸易"),
    ("Pacific Crest Software Co., Ltd.", "上海市", "上海市", "软件"),
    ("Evergreen Retail Group", "浙江省", "宁波市", "零售"),
    ("Northwind Logistics (Shanghai) Co., Ltd.", "上海市", "上海市", "物流"),
)
SOURCES = ("manual", "web_form", "referral", "event", "campaign", "phone")
NEEDS = (
    "替换现有 Excel 客户台账，约 30 名销售使用",
    "需要工单与客户资料打通",
    "Looking for a CRM with Chinese and English UI for 50 users",
    "希望支持公海池和线索自动分配",
    "Needs quoting and invoicing in one place",
)
FOLLOW_UPS = (
    ("call", "电话初步沟通，对方有兴趣，约下周演示"),
    ("email", "已发送产品介绍和报价区间"),
    ("meeting", "线上演示，IT 关注数据安全与部署方式"),
    ("visit", "上门拜访，见到采购负责人"),
    ("message", "微信跟进，客户在内部走预算"),
    ("call", "Call: they compare us with two other vendors"),
)
REASONS = ("无预算", "已选择竞争对手", "联系方式无效", "No decision this year")


def _pool(admin: User) -> LeadPool:
    pool = LeadPool.objects.filter(is_default=True).first()
    if pool is not None:
        return pool
    return lead_services.pool_create(
        actor=admin,
        name="公海",
        name_en="Open pool",
        max_held=30,
        claims_per_day=10,
        return_after_days=14,
        is_default=True,
    )


def _rules(admin: User, users: dict[str, User]) -> None:
    if LeadAssignmentRule.objects.exists():
        return
    south = users.get("sales_rep_south")
    if south is not None:
        lead_services.rule_create(
            actor=admin,
            name="华南线索给华南销售",
            name_en="South China leads to the south rep",
            position=1,
            condition='province in ("广东省", "广西壮族自治区", "海南省")',
            method=AssignmentMethod.USER,
            user=south,
        )
    lead_services.rule_create(
        actor=admin,
        name="展会线索进公海",
        name_en="Trade-fair leads into the pool",
        position=2,
        condition="source = event",
        method=AssignmentMethod.POOL,
    )


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice(('38', '39', '58', '59', '86', '88'))}{rng.randrange(10**7, 10**8)}"


def generate_leads(*, users: dict[str, User], count: int = 60, rng: random.Random) -> int:
    """The demo pool, rules and `count` leads (once: nothing is added when leads exist);
    returns how many leads were made."""
    admin = users.get("admin")
    reps = [
        user
        for key in ("sales_rep", "sales_rep_south", "sales_manager")
        if (user := users.get(key))
    ]
    if admin is None or not reps or Lead.objects.exists():
        return 0
    _pool(admin)
    _rules(admin, users)
    now = timezone.now()
    made = 0
    for index in range(count):
        name, title = PEOPLE[index % len(PEOPLE)]
        company, province, city, industry = COMPANIES[rng.randrange(len(COMPANIES))]
        values = {
            "name": name,
            "title": title,
            "company": company,
            "province": province,
            "city": city,
            "industry": industry,
            "source": rng.choice(SOURCES),
            "phone": _phone(rng) if rng.random() < 0.8 else "",
            "email": f"lead{index}@example.com" if rng.random() < 0.7 else "",
            "description": rng.choice(NEEDS),
        }
        placement = rng.random()
        if placement < 0.25:  # waiting in the pool
            lead = lead_services.lead_create(actor=admin, owner=None, **values)
        elif placement < 0.45:  # the rules decide
            lead = lead_services.lead_create(actor=admin, **values)
        else:  # a rep's own
            owner = rng.choice(reps)
            lead = lead_services.lead_create(actor=owner, owner=owner, **values)
        made += 1
        if lead.owner is None:
            continue
        owner = lead.owner
        state = rng.random()
        if state < 0.2:
            continue  # new
        for step in range(rng.randint(1, 3)):
            kind, summary = rng.choice(FOLLOW_UPS)
            lead_services.lead_follow_up_add(
                actor=owner,
                lead=lead,
                kind=kind,
                summary=summary,
                occurred_at=now - timedelta(days=rng.randint(1, 20), hours=step),
            )
        if state < 0.55:
            continue  # being worked
        if state < 0.7:
            lead_services.lead_disqualify(actor=owner, lead=lead, reason=rng.choice(REASONS))
            continue
        lead = lead_services.lead_qualify(
            actor=owner,
            lead=lead,
            budget=Decimal(rng.choice((50_000, 120_000, 300_000, 800_000))),
            is_decision_maker=rng.random() < 0.6,
            need=rng.choice(NEEDS),
            expected_purchase_date=(now + timedelta(days=rng.randint(20, 150))).date(),
            rating=rng.choice(("hot", "warm", "cold")),
        )
        if state > 0.9 and lead.status == LeadStatus.QUALIFIED:
            lead_services.lead_convert(
                actor=owner,
                lead=lead,
                opportunity_name=f"{lead.company or lead.name} CRM",
                amount=lead.budget,
            )
    return made
