"""Leads in the import wizard (`core.imports`): their fields with the header words that
suggest them, phone and e-mail as keys, and the lead services that write them.

A row without an owner goes through the assignment rules like a lead from the web form
(round robin, region, load, or the pool); the source is "Import" unless a column says
otherwise. Rolling an import back deletes the leads it created (a converted one stops it)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from rapport.core import imports
from rapport.core.imports import ImportField, ImportType
from rapport.customers.validators import identifier_blind, normalize_email, normalize_phone
from rapport.identity.models import Action, User

from .models import Lead, LeadRating, LeadSource, LeadStatus
from .services import leads as lead_services


def _quiet(normalizer):
    def normalized(text: str) -> str:
        try:
            return normalizer(text) or ""
        except ValidationError:
            return ""

    return normalized


FIELDS = (
    ImportField(
        "name",
        _("Name"),
        ("姓名", "联系人", "联系人姓名", "名字", "客户姓名", "name", "contact", "full name"),
        required=True,
    ),
    ImportField(
        "company",
        _("Company"),
        ("公司", "公司名称", "单位", "企业", "企业名称", "客户名称", "company", "organization"),
    ),
    ImportField("title", _("Job title"), ("职位", "职务", "头衔", "title", "job title")),
    ImportField(
        "phone",
        _("Phone"),
        ("手机", "手机号", "手机号码", "电话", "联系电话", "mobile", "phone", "tel"),
        normalize=_quiet(normalize_phone),
    ),
    ImportField(
        "email",
        _("E-mail"),
        ("邮箱", "电子邮件", "电子邮箱", "email", "e-mail", "mail"),
        normalize=lambda text: _quiet(normalize_email)(text).lower(),
    ),
    ImportField(
        "source",
        _("Source"),
        ("来源", "线索来源", "渠道", "source", "lead source", "channel"),
        parse=imports.CHOICE,
        choices=tuple(LeadSource.choices),
        words={
            "web_form": ("官网", "网站", "网页表单", "website", "web"),
            "referral": ("推荐", "转介绍", "介绍"),
            "event": ("展会", "会议", "活动", "trade fair", "fair"),
            "campaign": ("市场活动", "营销活动"),
            "phone": ("来电", "电话", "call"),
            "import": ("导入",),
            "manual": ("手工", "手动", "manual"),
        },
    ),
    ImportField(
        "source_detail",
        _("Source detail"),
        ("来源详情", "来源说明", "渠道详情", "source detail"),
    ),
    ImportField(
        "rating",
        _("Rating"),
        ("评级", "热度", "意向", "意向程度", "rating"),
        parse=imports.CHOICE,
        choices=tuple(LeadRating.choices),
        words={"hot": ("热", "高"), "warm": ("温", "中"), "cold": ("冷", "低")},
    ),
    ImportField("industry", _("Industry"), ("行业", "所属行业", "industry")),
    ImportField("province", _("Province"), ("省份", "省", "province", "state")),
    ImportField("city", _("City"), ("城市", "市", "city")),
    ImportField("website", _("Website"), ("网站", "网址", "官网", "website", "url")),
    ImportField(
        "description",
        _("Description"),
        ("描述", "备注", "说明", "详情", "description", "notes", "remarks"),
    ),
    ImportField("budget", _("Budget"), ("预算", "预算金额", "budget")),
    ImportField("currency", _("Currency"), ("币种", "货币", "currency")),
    ImportField(
        "is_decision_maker",
        _("Decision maker"),
        ("决策人", "是否决策人", "decision maker"),
    ),
    ImportField("need", _("Need"), ("需求", "客户需求", "need", "needs")),
    ImportField(
        "expected_purchase_date",
        _("Expected purchase date"),
        ("预计采购日期", "预计购买时间", "采购时间", "expected purchase date"),
    ),
    ImportField(
        "owner",
        _("Owner (username)"),
        ("负责人", "所有者", "销售", "owner"),
        parse=imports.OWNER,
    ),
)


def _create(*, actor: User, owner: User | None = None, **values: Any) -> Lead:
    """Without an owner the assignment rules decide, as for the web form."""
    values.setdefault("source", LeadSource.IMPORT)
    if owner is not None:
        values["owner"] = owner
    return lead_services.lead_create(actor=actor, **values)


def _find(actor: User, key: str, values: list[str]) -> dict[str, list[Any]]:
    """Open leads the actor may change, by phone or e-mail (the blind index)."""
    column = {"phone": "phone_blind", "email": "email_blind"}[key]
    by_blind = {identifier_blind(key, value): value for value in values}
    leads = (
        Lead.objects.restrict(actor, Action.CHANGE)
        .exclude(status=LeadStatus.CONVERTED)
        .filter(**{f"{column}__in": list(by_blind)})
    )
    found: dict[str, list[Any]] = {}
    for lead in leads:
        found.setdefault(by_blind[getattr(lead, column)], []).append(lead)
    return found


def register() -> None:
    imports.register(
        ImportType(
            object_type=Lead.security_type,
            label=_("Leads"),
            model=Lead,
            fields=FIELDS,
            create=_create,
            remove=lambda *, actor, record: lead_services.lead_delete(actor=actor, lead=record),
            keys=("phone", "email"),
            find=_find,
            update=lambda *, actor, record, **values: lead_services.lead_update(
                actor=actor, lead=record, **values
            ),
            assign=lambda *, actor, record, owner: lead_services.lead_assign(
                actor=actor, lead=record, owner=owner
            ),
            order=40,
        )
    )
