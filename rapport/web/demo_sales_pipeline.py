"""Demo opportunities (`rapport demo`): about 120 deals across the default pipeline's stages,
named in Chinese or English, with products on some, each moved through the services so the
stage history and the time in each stage are real, then spread back over the past months."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from rapport.identity.models import User
from rapport.sales.models import LostReason, Opportunity, StageChange
from rapport.sales.services import pipeline as services

DEALS = (
    ("年度软件订阅", "Annual software subscription"),
    ("数据中心扩容", "Data centre expansion"),
    ("客服系统升级", "Service desk upgrade"),
    ("门店收银系统", "Store point-of-sale rollout"),
    ("安全审计服务", "Security audit"),
    ("员工培训项目", "Staff training programme"),
    ("云平台迁移", "Cloud migration"),
    ("物流跟踪平台", "Logistics tracking platform"),
    ("智能制造试点", "Smart factory pilot"),
    ("营销自动化", "Marketing automation"),
    ("财务共享中心", "Finance shared-service centre"),
    ("移动办公套件", "Mobile office suite"),
)
NEXT_STEPS = (
    ("安排产品演示", "Schedule a product demo"),
    ("发送报价单", "Send the quote"),
    ("约见采购负责人", "Meet the head of purchasing"),
    ("技术方案评审", "Technical review of the proposal"),
    ("合同条款确认", "Confirm the contract terms"),
    ("", ""),
)
# where the demo deals end up: (English stage name, share)
SPREAD = (
    ("Prospecting", 0.22),
    ("Qualification", 0.2),
    ("Proposal", 0.17),
    ("Negotiation", 0.13),
    ("Won", 0.16),
    ("Lost", 0.12),
)


def _target(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for name, share in SPREAD:
        total += share
        if roll < total:
            return name
    return SPREAD[-1][0]


def _users(users: Any) -> tuple[User | None, list[User]]:
    if isinstance(users, dict):
        admin = users.get("admin")
        reps = [
            user
            for key in ("sales_rep", "sales_rep_south", "sales_manager", "customer_manager")
            if (user := users.get(key))
        ]
        return admin, reps or [u for u in users.values() if isinstance(u, User)]
    listed = list(users)
    admin = next((u for u in listed if u.is_superuser), listed[0] if listed else None)
    return admin, listed


def generate_opportunities(
    *, users: Any, accounts: list, count: int = 120, rng: random.Random
) -> int:
    """`count` opportunities on `accounts` (once: nothing is added when opportunities exist),
    owned by the sales people among `users` (a dict by role key, or a list); returns how many
    were made."""
    admin, reps = _users(users)
    if admin is None or not reps or not accounts or Opportunity.objects.exists():
        return 0
    pipeline = services.default_pipeline()
    stages = {stage.name_en: stage for stage in pipeline.stages.filter(is_active=True)}
    open_order = list(
        pipeline.stages.filter(is_active=True, is_won=False, is_lost=False).order_by("position")
    )
    reasons = list(LostReason.objects.filter(is_active=True))
    now = timezone.now()
    made = 0
    for index in range(count):
        account = accounts[rng.randrange(len(accounts))]
        owner = reps[index % len(reps)]
        chinese = rng.random() < 0.6
        deal = DEALS[rng.randrange(len(DEALS))]
        name = f"{account.name} · {deal[0] if chinese else deal[1]}"[:200]
        step = NEXT_STEPS[rng.randrange(len(NEXT_STEPS))]
        amount = Decimal(rng.randrange(20, 3000) * 1000)
        opportunity = services.opportunity_create(
            actor=admin,
            account=account,
            name=name,
            owner=owner,
            amount=amount,
            expected_close_date=(now + timedelta(days=rng.randrange(-30, 180))).date(),
            next_step=step[0] if chinese else step[1],
            forecast_category=rng.choice(["pipeline", "pipeline", "best_case", "commit"]),
        )
        target = _target(rng)
        names = [stage.name_en for stage in open_order]
        if target in ("Won", "Lost") and target in stages:
            path = open_order[: rng.randrange(1, len(open_order) + 1)] + [stages[target]]
        elif target in names:
            path = open_order[: names.index(target) + 1]
        else:  # a pipeline renamed by its administrators: spread over its open stages
            path = open_order[: rng.randrange(1, len(open_order) + 1)]
        for stage in path[1:]:
            services.opportunity_move(
                actor=admin,
                opportunity=opportunity,
                stage=stage,
                lost_reason=rng.choice(reasons) if stage.is_lost and reasons else None,
                lost_note="",
            )
        _spread_history(opportunity, now=now, rng=rng)
        made += 1
    return made


def _spread_history(opportunity: Opportunity, *, now, rng: random.Random) -> None:
    """Put the deal's stage history back in time: each stage held
    for a few days to a few weeks (demo data only; the services wrote the rows)."""
    changes = list(StageChange.objects.filter(opportunity=opportunity).order_by("id"))
    held = [timedelta(days=rng.randrange(2, 25), hours=rng.randrange(24)) for _ in changes[1:]]
    start = now - sum(held, timedelta()) - timedelta(days=rng.randrange(1, 40))
    moment, previous = start, None
    for index, change in enumerate(changes):
        seconds = int((moment - previous).total_seconds()) if previous else None
        StageChange.objects.filter(pk=change.pk).update(
            changed_at=moment, seconds_in_from_stage=seconds
        )
        previous = moment
        if index < len(held):
            moment = moment + held[index]
    values = {"created_at": start, "stage_entered_at": previous or start}
    if opportunity.status != "open" or changes and changes[-1].to_stage.is_closed:
        values["closed_at"] = previous or start
    Opportunity.objects.filter(pk=opportunity.pk).update(**values)
