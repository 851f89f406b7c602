"""Demo history: interactions, tasks, contact roles and consents, in Chinese and English.

`HistoryData` makes the values (valid by construction: outcomes fit their kind, durations
only where they mean something, evidence wherever a consent is granted); it draws from the
demo's random generator, so a seed gives the same history. Two ways in, as for accounts:

- `generate_history_with_services(...)`: every interaction, task, role and consent through
  `rapport.customers.services`, with the owner of the account as the actor (the `small` demo);
- `rapport.web.demo_bulk`: the same values as rows, in bulk (medium, large, benchmarks).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.customers import services as customer_services
from rapport.customers.models import (
    OUTCOMES_BY_KIND,
    Account,
    AccountContact,
    ConsentChannel,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    Contact,
    ContactRole,
    Direction,
    InteractionKind,
    Outcome,
    Priority,
)
from rapport.identity.models import User

HISTORY_DAYS = 548  # 18 months

# (kind, weight) of what a sales team logs; tasks are made separately (about 1 in 10).
KIND_WEIGHTS: tuple[tuple[str, int], ...] = (
    (InteractionKind.CALL, 32),
    (InteractionKind.EMAIL, 20),
    (InteractionKind.CHAT, 17),
    (InteractionKind.MEETING, 9),
    (InteractionKind.VISIT, 8),
    (InteractionKind.SMS, 5),
    (InteractionKind.NOTE, 9),
)
_KINDS = [kind for kind, _weight in KIND_WEIGHTS]
_KIND_WEIGHTS = [weight for _kind, weight in KIND_WEIGHTS]

# (Chinese, English) subjects per kind.
SUBJECTS: dict[str, tuple[tuple[str, str], ...]] = {
    InteractionKind.CALL: (
        ("电话沟通采购需求", "Call about their purchasing needs"),
        ("跟进报价反馈", "Follow-up call on the quotation"),
        ("电话确认合同条款", "Call to agree the contract terms"),
        ("续约意向沟通", "Renewal call"),
        ("回访产品使用情况", "Check-in call on how the product is used"),
        ("预约上门拜访", "Call to book a site visit"),
        ("回款进度确认", "Call about the outstanding payment"),
        ("了解明年预算安排", "Call about next year's budget"),
    ),
    InteractionKind.EMAIL: (
        ("发送产品报价单", "Quotation sent"),
        ("会议纪要", "Meeting minutes"),
        ("合同草案（第二版）", "Draft contract (second version)"),
        ("技术方案说明", "Technical proposal"),
        ("年度服务协议续签", "Renewal of the annual service agreement"),
        ("发票与付款信息", "Invoice and payment details"),
        ("新品发布邀请函", "Invitation to the product launch"),
    ),
    InteractionKind.CHAT: (
        ("微信沟通交付时间", "WeChat: delivery date"),
        ("微信发送产品资料", "WeChat: product brochure sent"),
        ("微信确认会议时间", "WeChat: meeting time confirmed"),
        ("微信答复技术问题", "WeChat: technical question answered"),
        ("微信群讨论试用安排", "WeChat group: trial arrangements"),
    ),
    InteractionKind.MEETING: (
        ("需求调研会", "Requirements workshop"),
        ("方案演示会", "Solution demo"),
        ("商务谈判", "Commercial negotiation"),
        ("季度业务回顾", "Quarterly business review"),
        ("项目启动会", "Project kick-off"),
    ),
    InteractionKind.VISIT: (
        ("上门拜访", "Site visit"),
        ("工厂参观", "Factory tour"),
        ("现场技术支持", "On-site technical support"),
        ("年度客户拜访", "Annual customer visit"),
        ("陪同领导拜访", "Visit with our director"),
    ),
    InteractionKind.SMS: (
        ("短信提醒会议时间", "SMS: meeting reminder"),
        ("短信通知发货", "SMS: order shipped"),
        ("短信确认到访时间", "SMS: visit time confirmed"),
    ),
    InteractionKind.NOTE: (
        ("客户组织架构调整", "Change in the customer's organisation"),
        ("竞争对手报价情况", "What the competitor quoted"),
        ("预算审批进度", "Where their budget approval stands"),
        ("关键决策人备注", "Who really decides"),
    ),
}
BODIES: tuple[tuple[str, str], ...] = (
    (
        "客户对方案整体认可，重点关注交付周期和售后响应时间。",
        "They like the proposal overall; delivery time and support response matter most.",
    ),
    (
        "预算正在审批中，预计下月初有结论。",
        "The budget is awaiting approval, expected early next month.",
    ),
    (
        "客户认为价格偏高，希望提供阶梯报价。",
        "They find the price high and asked for volume pricing.",
    ),
    (
        "技术负责人参加，询问了系统对接方式和数据安全。",
        "Their technical lead joined and asked about integration and data security.",
    ),
    ("采购部门要求补充资质文件。", "Purchasing asked for our certificates."),
    (
        "对方正在对比两家供应商，下周给答复。",
        "They are comparing two suppliers and will answer next week.",
    ),
    ("老客户，合作稳定，有扩容意向。", "A long-standing customer, happy, thinking of expanding."),
)
NEXT_STEPS: tuple[tuple[str, str], ...] = (
    ("发送修订后的报价", "Send the revised quotation"),
    ("安排技术交流会", "Arrange a technical session"),
    ("准备合同草案", "Prepare the draft contract"),
    ("约见采购负责人", "Meet the head of purchasing"),
    ("寄送样品测试", "Ship samples for testing"),
    ("跟进回款进度", "Follow up on the payment"),
    ("提交资质文件", "Send our certificates"),
    ("邀请参加新品发布会", "Invite them to the product launch"),
)
TASK_SUBJECTS: tuple[tuple[str, str], ...] = (
    *NEXT_STEPS,
    ("准备季度业务回顾材料", "Prepare the quarterly review deck"),
    ("更新联系人信息", "Update the contact details"),
    ("确认续约意向", "Confirm whether they will renew"),
)
# Outcomes in the proportions they happen (every one valid for its kind).
OUTCOME_WEIGHTS: dict[str, tuple[tuple[str, int], ...]] = {
    InteractionKind.CALL: (
        (Outcome.CONNECTED, 62),
        (Outcome.NO_ANSWER, 18),
        (Outcome.LEFT_MESSAGE, 10),
        (Outcome.BUSY, 8),
        (Outcome.WRONG_NUMBER, 2),
    ),
    InteractionKind.EMAIL: ((Outcome.SENT, 58), (Outcome.REPLIED, 38), (Outcome.BOUNCED, 4)),
    InteractionKind.SMS: ((Outcome.SENT, 80), (Outcome.REPLIED, 18), (Outcome.BOUNCED, 2)),
    InteractionKind.CHAT: (
        (Outcome.REPLIED, 40),
        (Outcome.SENT, 20),
        (Outcome.POSITIVE, 20),
        (Outcome.NEUTRAL, 15),
        (Outcome.NEGATIVE, 5),
    ),
    InteractionKind.MEETING: (
        (Outcome.HELD, 40),
        (Outcome.POSITIVE, 30),
        (Outcome.NEUTRAL, 15),
        (Outcome.NEGATIVE, 5),
        (Outcome.RESCHEDULED, 7),
        (Outcome.CANCELLED, 3),
    ),
    InteractionKind.VISIT: (
        (Outcome.HELD, 40),
        (Outcome.POSITIVE, 30),
        (Outcome.NEUTRAL, 15),
        (Outcome.NEGATIVE, 5),
        (Outcome.RESCHEDULED, 7),
        (Outcome.CANCELLED, 3),
    ),
}
for _kind, _weights in OUTCOME_WEIGHTS.items():
    assert {outcome for outcome, _w in _weights} <= set(OUTCOMES_BY_KIND[_kind]), _kind
# Outcomes after which nothing happened to take a next step from.
_DEAD_ENDS = {
    Outcome.NO_ANSWER,
    Outcome.BUSY,
    Outcome.WRONG_NUMBER,
    Outcome.BOUNCED,
    Outcome.CANCELLED,
}
# (minimum, maximum) minutes, for the kinds where a duration means something.
DURATIONS: dict[str, tuple[int, int]] = {
    InteractionKind.CALL: (1, 35),
    InteractionKind.MEETING: (30, 150),
    InteractionKind.VISIT: (45, 240),
}
# Probability that the customer started it (the rest: we did).
INBOUND_SHARE: dict[str, float] = {
    InteractionKind.CALL: 0.3,
    InteractionKind.EMAIL: 0.4,
    InteractionKind.CHAT: 0.5,
    InteractionKind.SMS: 0.15,
    InteractionKind.MEETING: 0.25,
    InteractionKind.VISIT: 0.0,
}
ROLE_WEIGHTS: tuple[tuple[str, int], ...] = (
    (ContactRole.DECISION_MAKER, 12),
    (ContactRole.INFLUENCER, 15),
    (ContactRole.CHAMPION, 5),
    (ContactRole.USER, 25),
    (ContactRole.TECHNICAL, 10),
    (ContactRole.PURCHASING, 8),
    (ContactRole.BILLING, 5),
    (ContactRole.GATEKEEPER, 5),
    ("", 15),  # nobody said yet
)
# (channel, purpose, source, weight) of consents people give.
CONSENT_KINDS: tuple[tuple[str, str, str, int], ...] = (
    (ConsentChannel.EMAIL, ConsentPurpose.MARKETING, ConsentSource.WEB_FORM, 30),
    (ConsentChannel.SMS, ConsentPurpose.MARKETING, ConsentSource.PAPER_FORM, 15),
    (ConsentChannel.WECHAT, ConsentPurpose.MARKETING, ConsentSource.EVENT, 15),
    (ConsentChannel.PHONE, ConsentPurpose.SERVICE, ConsentSource.PHONE, 10),
    (ConsentChannel.EMAIL, ConsentPurpose.SERVICE, ConsentSource.CONTRACT, 10),
    (ConsentChannel.EMAIL, ConsentPurpose.RESEARCH, ConsentSource.EMAIL, 8),
    (ConsentChannel.POST, ConsentPurpose.MARKETING, ConsentSource.IN_PERSON, 4),
)
# (Chinese, English) evidence per source; {n} is a form or recording number.
EVIDENCE: dict[str, tuple[str, str]] = {
    ConsentSource.WEB_FORM: ("官网订阅表单 WF-{n}", "Website sign-up form WF-{n}"),
    ConsentSource.PAPER_FORM: (
        "纸质同意书 PF-{n}（已扫描存档）",
        "Signed paper form PF-{n} (scanned)",
    ),
    ConsentSource.EVENT: ("展会签到表 EV-{n}", "Trade fair sign-up sheet EV-{n}"),
    ConsentSource.PHONE: ("通话录音 REC-{n}", "Call recording REC-{n}"),
    ConsentSource.CONTRACT: ("服务合同第 8 条，合同号 HT-{n}", "Service contract HT-{n}, clause 8"),
    ConsentSource.EMAIL: ("邮件回复确认 M-{n}", "Confirmed by e-mail reply M-{n}"),
    ConsentSource.IN_PERSON: ("拜访时书面确认 IP-{n}", "Confirmed in writing at a visit IP-{n}"),
}
WITHDRAWALS: tuple[tuple[str, str, str], ...] = (
    (ConsentSource.PHONE, "来电要求停止推送营销信息", "Asked by phone to stop marketing messages"),
    (ConsentSource.EMAIL, "邮件退订", "Unsubscribed by e-mail"),
    (ConsentSource.OTHER, "回复 TD 退订", "Replied STOP"),
)
# The small demo records roles at these accounts, and consents for this share of contacts
# (each a service call with its audit event and search refresh: kept few so it stays quick).
ROLE_TIERS = ("A", "B")
SERVICE_CONSENT_SHARE = 0.15
# How many interactions an account of each tier gets, relative to a C account.
TIER_ACTIVITY = {"A": 6.0, "B": 3.0, "C": 1.5}


def _weighted(rng: random.Random, pairs) -> Any:
    values = [value for value, *_rest in pairs]
    weights = [rest[-1] for _value, *rest in pairs]
    return rng.choices(values, weights)[0]


class HistoryData:
    """Values of interactions, tasks, roles and consents; deterministic for the generator."""

    def __init__(self, rng: random.Random, *, as_of: datetime) -> None:
        self.rng = rng
        self.as_of = as_of

    def _text(self, pair: tuple[str, str], english: bool) -> str:
        return pair[1] if english else pair[0]

    def when(self, *, days: int = HISTORY_DAYS) -> datetime:
        """A working-hours moment in the last `days` days, more of them recent."""
        rng = self.rng
        back = int(days * rng.random() ** 1.6)
        moment = self.as_of - timedelta(days=back)
        moment = moment.replace(
            hour=rng.randint(1, 10),
            minute=rng.choice((0, 10, 15, 20, 30, 40, 45, 50)),
            second=0,
            microsecond=0,
        )  # 09:00–18:00 in China is 01:00–10:00 UTC
        return min(moment, self.as_of - timedelta(minutes=5))

    def interaction(self, *, english: bool, kind: str | None = None) -> dict[str, Any]:
        """Values for `interaction_log` / `Interaction(...)` of something that happened."""
        rng = self.rng
        kind = kind or rng.choices(_KINDS, _KIND_WEIGHTS)[0]
        outcome = _weighted(rng, OUTCOME_WEIGHTS[kind]) if kind in OUTCOME_WEIGHTS else ""
        direction = ""
        if kind in INBOUND_SHARE:
            direction = (
                Direction.INBOUND if rng.random() < INBOUND_SHARE[kind] else Direction.OUTBOUND
            )
        duration = None
        if kind in DURATIONS and outcome not in _DEAD_ENDS and outcome != Outcome.RESCHEDULED:
            duration = rng.randint(*DURATIONS[kind])
        elif kind == InteractionKind.CALL:
            duration = 0 if outcome != Outcome.LEFT_MESSAGE else 1
        body = ""
        if outcome not in _DEAD_ENDS and rng.random() < 0.55:
            body = self._text(rng.choice(BODIES), english)
        next_step = ""
        if outcome not in _DEAD_ENDS and kind != InteractionKind.NOTE and rng.random() < 0.6:
            next_step = self._text(rng.choice(NEXT_STEPS), english)
        return {
            "kind": kind,
            "subject": self._text(rng.choice(SUBJECTS[kind]), english),
            "body": body,
            "occurred_at": self.when(),
            "direction": direction,
            "outcome": outcome,
            "duration_minutes": duration,
            "next_step": next_step,
        }

    def task(self, *, english: bool) -> dict[str, Any]:
        """A task: three in four done, the rest open, overdue or due within two weeks.

        Returns `subject`, `priority`, `created_at` (when it was set), `due_at` and
        `done_at` (None while open).
        """
        rng = self.rng
        subject = self._text(rng.choice(TASK_SUBJECTS), english)
        priority = _weighted(rng, ((Priority.NORMAL, 70), (Priority.HIGH, 20), (Priority.LOW, 10)))
        state = rng.random()
        if state < 0.75:  # done, somewhere in the history
            created = self.when()
            due = created + timedelta(days=rng.randint(1, 14))
            done = min(created + timedelta(days=rng.randint(0, 16), hours=2), self.as_of)
        elif state < 0.87:  # open and overdue
            due = self.as_of - timedelta(days=rng.randint(1, 30), hours=rng.randint(0, 8))
            created = due - timedelta(days=rng.randint(1, 10))
            done = None
        else:  # open, due today or in the next two weeks
            due = (self.as_of + timedelta(days=rng.choice((0, 0, 1, 2, 3, 5, 7, 10, 14)))).replace(
                hour=rng.randint(1, 10), minute=0, second=0, microsecond=0
            )
            created = self.as_of - timedelta(days=rng.randint(0, 7), hours=rng.randint(1, 8))
            done = None
        return {
            "subject": subject,
            "priority": priority,
            "created_at": created,
            "due_at": due,
            "done_at": done,
        }

    def role(self) -> str:
        return _weighted(self.rng, ROLE_WEIGHTS)

    def consents(self, *, english: bool) -> list[dict[str, Any]]:
        """The answers one contact gave: one to three channel/purpose pairs, a few later
        withdrawn (each dict has `withdrawn` with its source and evidence, or None)."""
        rng = self.rng
        chosen: dict[tuple[str, str], dict[str, Any]] = {}
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            channel, purpose, source, _weight = rng.choices(
                CONSENT_KINDS, [row[3] for row in CONSENT_KINDS]
            )[0]
            if (channel, purpose) in chosen:
                continue
            withdrawn = None
            if rng.random() < 0.08:
                w_source, zh, en = rng.choice(WITHDRAWALS)
                withdrawn = {"source": w_source, "evidence": en if english else zh}
            given_at = self.when()
            chosen[(channel, purpose)] = {
                "channel": channel,
                "purpose": purpose,
                "source": source,
                "evidence": self._text(EVIDENCE[source], english).format(
                    n=rng.randint(10000, 99999)
                ),
                "at": given_at,
                "withdrawn": withdrawn,
                "withdrawn_at": given_at + (self.as_of - given_at) * rng.random(),
            }
        return list(chosen.values())


def is_english(account: Account) -> bool:
    """English-named accounts get English history (names are ASCII only then)."""
    return account.name.isascii()


Progress = Callable[[int, int], None]  # (interactions done, interactions planned)


def generate_history_with_services(
    *,
    owners: list[User],
    interactions: int,
    rng: random.Random,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Give the owners' accounts a history through the services, each write audited.

    About `interactions` calls, e-mails, meetings, visits, WeChat chats, SMS and notes over
    the last 18 months (more for A-tier accounts), logged by the account's owner, some with a
    colleague or a second contact present; follow-up tasks for recent ones (some overdue,
    some due this week, some done); contact roles at the accounts; consents with their
    source and evidence for about a quarter of the contacts, a few withdrawn.
    """
    history = HistoryData(rng, as_of=now or timezone.now())
    made = {"interactions": 0, "tasks": 0, "tasks_done": 0, "roles": 0, "consents": 0}
    owner_ids = [owner.pk for owner in owners]
    by_id = {owner.pk: owner for owner in owners}
    accounts = list(Account.objects.filter(owner_id__in=owner_ids).order_by("id"))
    if not accounts:
        return made
    links = (
        AccountContact.objects.filter(account__in=accounts)
        .select_related("contact")
        .order_by("account_id", "contact_id")
    )
    contacts_at: dict[int, list[Contact]] = {}
    for link in links:
        contacts_at.setdefault(link.account_id, []).append(link.contact)
    colleagues = list(
        User.objects.filter(is_active=True, pk__in=owner_ids).order_by("id")
    )  # who might come along to a meeting
    weights = [TIER_ACTIVITY.get(account.tier, 1.0) for account in accounts]
    counts: dict[int, int] = {}
    for account in rng.choices(accounts, weights, k=interactions):
        counts[account.pk] = counts.get(account.pk, 0) + 1
    recent = history.as_of - timedelta(days=45)
    with transaction.atomic():
        for account in accounts:
            owner = by_id[account.owner_id]
            english = is_english(account)
            people = contacts_at.get(account.pk, [])
            planned = [
                history.interaction(english=english) for _ in range(counts.get(account.pk, 0))
            ]
            for values in sorted(planned, key=lambda v: v["occurred_at"]):
                extra: dict[str, Any] = {}
                contact = rng.choice(people) if people and rng.random() < 0.9 else None
                if values["kind"] in (InteractionKind.MEETING, InteractionKind.VISIT):
                    others = [person for person in people if person is not contact]
                    if others and rng.random() < 0.4:
                        extra["participant_contacts"] = [rng.choice(others)]
                    mates = [user for user in colleagues if user.pk != owner.pk]
                    if mates and rng.random() < 0.3:
                        extra["participant_users"] = [rng.choice(mates)]
                follow_up = None
                if values["next_step"] and values["occurred_at"] >= recent and rng.random() < 0.6:
                    follow_up = values["occurred_at"] + timedelta(days=rng.randint(2, 21))
                interaction = customer_services.interaction_log(
                    actor=owner,
                    account=account,
                    contact=contact,
                    follow_up_due=follow_up,
                    **values,
                    **extra,
                )
                made["interactions"] += 1
                if follow_up is not None:
                    made["tasks"] += 1
                    if follow_up < history.as_of and rng.random() < 0.7:
                        task = interaction.follow_ups.get()
                        customer_services.task_complete(actor=owner, task=task)
                        made["tasks_done"] += 1
                if progress and made["interactions"] % 100 == 0:
                    progress(made["interactions"], interactions)
            if account.tier in ("A", "B") and rng.random() < 0.3:
                task = history.task(english=english)
                customer_services.task_create(
                    actor=owner,
                    account=account,
                    contact=rng.choice(people) if people else None,
                    subject=task["subject"],
                    priority=task["priority"],
                    due_at=task["due_at"],
                    remind_at=task["due_at"] - timedelta(hours=2)
                    if task["due_at"] > history.as_of
                    else None,
                )
                made["tasks"] += 1
            for position, contact in enumerate(people):
                # reps record the roles of the people they deal with at key accounts
                key_person = position == 0 or (position == 1 and rng.random() < 0.5)
                role = history.role() if account.tier in ROLE_TIERS and key_person else ""
                if role:
                    customer_services.contact_role_set(
                        actor=owner, contact=contact, account=account, role=role
                    )
                    made["roles"] += 1
                if rng.random() < SERVICE_CONSENT_SHARE:
                    for consent in history.consents(english=english):
                        customer_services.consent_record(
                            actor=owner,
                            contact=contact,
                            channel=consent["channel"],
                            purpose=consent["purpose"],
                            status=ConsentStatus.GRANTED,
                            source=consent["source"],
                            evidence=consent["evidence"],
                            at=consent["at"],
                        )
                        made["consents"] += 1
                        if consent["withdrawn"]:
                            customer_services.consent_record(
                                actor=owner,
                                contact=contact,
                                channel=consent["channel"],
                                purpose=consent["purpose"],
                                status=ConsentStatus.WITHDRAWN,
                                source=consent["withdrawn"]["source"],
                                evidence=consent["withdrawn"]["evidence"],
                                at=consent["withdrawn_at"],
                            )
    if progress:
        progress(made["interactions"], interactions)
    return made
