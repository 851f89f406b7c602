"""What accounts, contacts and interactions take from an imported file (`core.imports`):
their fields with the header words that suggest them, the keys that find existing records,
and the services that write them. Interactions are history: only added."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from rapport.core import imports
from rapport.core.imports import ImportField, ImportType
from rapport.identity.models import Action, User

from . import services
from .models import (
    Account,
    Contact,
    ContactIdentifier,
    Direction,
    IdentifierKind,
    Interaction,
    InteractionKind,
    Outcome,
)
from .validators import (
    identifier_blind,
    normalize_credit_code,
    normalize_email,
    normalize_id_number,
    normalize_phone,
)


def _key(normalizer):
    """A key's value as looked up: normalized, "" when not valid."""

    def normalized(text: str) -> str:
        try:
            return normalizer(text) or ""
        except ValidationError:
            return ""

    return normalized


def _email_key(text: str) -> str:
    return _key(normalize_email)(text).lower()


OWNER = ImportField(
    "owner", _("Owner (username)"), ("负责人", "所有者", "owner"), parse=imports.OWNER
)
ACCOUNT_FIELDS = (
    ImportField(
        "name",
        _("Name"),
        (
            "名称",
            "客户名称",
            "公司名称",
            "企业名称",
            "单位名称",
            "客户",
            "公司",
            "company",
            "company name",
            "account",
            "account name",
            "customer",
        ),
        required=True,
    ),
    ImportField("short_name", _("Short name"), ("简称", "short name", "abbreviation")),
    ImportField(
        "credit_code",
        _("Unified social credit code"),
        ("统一社会信用代码", "信用代码", "社会信用代码", "税号", "credit code", "uscc"),
        normalize=_key(normalize_credit_code),
    ),
    ImportField("industry", _("Industry"), ("行业", "所属行业", "industry")),
    ImportField("province", _("Province"), ("省份", "省", "province", "state")),
    ImportField("city", _("City"), ("城市", "市", "city")),
    ImportField("address", _("Address"), ("地址", "详细地址", "address")),
    ImportField(
        "phone",
        _("Phone"),
        ("电话", "联系电话", "座机", "公司电话", "phone", "telephone", "tel"),
        normalize=_key(normalize_phone),
    ),
    ImportField("website", _("Website"), ("网站", "网址", "官网", "website", "url", "web")),
    ImportField("tier", _("Tier"), ("等级", "客户等级", "级别", "tier", "grade")),
    ImportField(
        "lifecycle_stage",
        _("Lifecycle stage"),
        ("阶段", "生命周期", "生命周期阶段", "客户阶段", "stage", "lifecycle stage"),
    ),
    OWNER,
)
CONTACT_FIELDS = (
    ImportField(
        "name",
        _("Name"),
        ("姓名", "联系人", "联系人姓名", "名字", "name", "contact", "contact name", "full name"),
        required=True,
    ),
    ImportField(
        "title", _("Job title"), ("职位", "职务", "头衔", "title", "job title", "position")
    ),
    ImportField(
        "phones",
        _("Phones"),
        ("手机", "手机号", "手机号码", "电话", "联系电话", "mobile", "phone", "phones", "cell"),
        normalize=_key(normalize_phone),
    ),
    ImportField(
        "emails",
        _("E-mails"),
        ("邮箱", "电子邮件", "电子邮箱", "email", "e-mail", "emails", "mail"),
        normalize=_email_key,
    ),
    ImportField(
        "id_number",
        _("ID number"),
        ("身份证", "身份证号", "身份证号码", "id number", "id card"),
        normalize=_key(normalize_id_number),
    ),
    ImportField(
        "account",
        _("Account (name or credit code)"),
        (
            "公司",
            "公司名称",
            "客户",
            "客户名称",
            "单位",
            "所属公司",
            "company",
            "account",
            "organization",
        ),
        parse=imports.ACCOUNTS,
        target="accounts",
    ),
    OWNER,
)
INTERACTION_FIELDS = (
    ImportField(
        "kind",
        _("Kind (call, visit, meeting …)"),
        ("类型", "方式", "跟进方式", "联系方式", "活动类型", "kind", "type", "activity type"),
        required=True,
        parse=imports.CHOICE,
        choices=tuple(pair for pair in InteractionKind.choices if pair[0] != InteractionKind.TASK),
        words={
            "call": ("通话", "打电话", "phone", "phone call"),
            "email": ("邮件", "电邮", "mail"),
            "meeting": ("开会", "会面"),
            "visit": ("上门", "走访", "拜访客户"),
            "sms": ("短消息", "text", "text message"),
            "chat": ("微信", "wechat", "聊天", "企业微信", "qq", "im"),
            "note": ("笔记", "记录"),
        },
    ),
    ImportField(
        "occurred_at",
        _("When"),
        ("时间", "日期", "跟进时间", "联系时间", "发生时间", "date", "time", "when", "occurred at"),
        parse=imports.DATETIME,
    ),
    ImportField("subject", _("Subject"), ("主题", "标题", "subject", "title")),
    ImportField(
        "body",
        _("Notes"),
        ("内容", "备注", "记录", "跟进内容", "详情", "notes", "body", "description", "details"),
    ),
    ImportField(
        "direction",
        _("Direction"),
        ("方向", "呼入呼出", "direction"),
        parse=imports.CHOICE,
        choices=tuple(Direction.choices),
        words={"inbound": ("呼入", "来电", "in"), "outbound": ("呼出", "去电", "out")},
    ),
    ImportField(
        "outcome",
        _("Outcome"),
        ("结果", "跟进结果", "outcome", "result"),
        parse=imports.CHOICE,
        choices=tuple(Outcome.choices),
    ),
    ImportField(
        "duration_minutes",
        _("Duration (minutes)"),
        ("时长", "通话时长", "时长(分钟)", "duration", "minutes"),
    ),
    ImportField("next_step", _("Next step"), ("下一步", "下一步计划", "next step")),
    ImportField(
        "account",
        _("Account (name or credit code)"),
        ("公司", "公司名称", "客户", "客户名称", "单位", "company", "account", "customer"),
        parse=imports.ACCOUNT,
    ),
    ImportField(
        "contact",
        _("Contact (phone, e-mail or name)"),
        ("联系人", "联系人姓名", "联系人电话", "contact", "contact name", "person"),
        parse=imports.CONTACT,
    ),
    ImportField(
        "owner", _("Owner (username)"), ("负责人", "跟进人", "销售", "owner"), parse=imports.OWNER
    ),
)


def _changeable(actor: User, model):
    return model.objects.restrict(actor, Action.CHANGE).filter(is_active=True)


def find_accounts(actor: User, key: str, values: list[str]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for record in _changeable(actor, Account).filter(**{f"{key}__in": values}):
        found.setdefault(getattr(record, key), []).append(record)
    return found


def find_contacts(actor: User, key: str, values: list[str]) -> dict[str, list[Any]]:
    kind = {
        "emails": IdentifierKind.EMAIL,
        "phones": IdentifierKind.PHONE,
        "id_number": IdentifierKind.ID_NUMBER,
    }[key]
    by_blind = {identifier_blind(kind, value): value for value in values}
    pairs = list(
        ContactIdentifier.objects.filter(kind=kind, blind__in=list(by_blind)).values_list(
            "blind", "contact_id"
        )
    )
    records = _changeable(actor, Contact).in_bulk([contact for _blind, contact in pairs])
    found: dict[str, list[Any]] = {}
    for blind, contact in pairs:
        if contact in records:
            found.setdefault(by_blind[blind], []).append(records[contact])
    return found


def register() -> None:
    imports.register(
        ImportType(
            object_type=Account.security_type,
            label=_("Accounts"),
            model=Account,
            fields=ACCOUNT_FIELDS,
            create=services.account_create,
            create_many=services.accounts_create_many,
            remove=lambda *, actor, record: services.account_deactivate(
                actor=actor, account=record
            ),
            keys=("credit_code", "phone"),
            find=find_accounts,
            update=lambda *, actor, record, **values: services.account_update(
                actor=actor, account=record, **values
            ),
            assign=services.record_assign,
            order=10,
        )
    )
    imports.register(
        ImportType(
            object_type=Contact.security_type,
            label=_("Contacts"),
            model=Contact,
            fields=CONTACT_FIELDS,
            create=services.contact_create,
            create_many=services.contacts_create_many,
            remove=lambda *, actor, record: services.contact_deactivate(
                actor=actor, contact=record
            ),
            keys=("emails", "phones", "id_number"),
            find=find_contacts,
            update=lambda *, actor, record, **values: services.contact_update(
                actor=actor, contact=record, **values
            ),
            assign=services.record_assign,
            order=20,
        )
    )
    imports.register(
        ImportType(
            object_type=Interaction.security_type,
            label=_("Interactions"),
            model=Interaction,
            fields=INTERACTION_FIELDS,
            create=services.interaction_log,
            remove=lambda *, actor, record: services.interaction_delete(
                actor=actor, interaction=record
            ),
            order=30,
        )
    )
