"""The columns of the account and contact lists: a small registry per object type.

A column says what it shows and what it costs: its label, how to read its value from a
record, which model fields it loads (`only`), which relations it joins (`select_related`)
and, for anything else, a `prepare(queryset, user)` that adds one prefetch or annotation for
the whole page (never a query per row). The list loads only the columns shown.

Field rules apply to every column through `fields` (the model fields it reveals): a column
over a field hidden from the user is never offered, one over a masked field shows its values
masked.

Other parts of the system add columns without touching this module:

    from rapport.customers.columns import Column, register_columns

    def custom_field_columns(user):
        return [Column(key="cf.employees", label="员工数", value=lambda r: r.custom.get("employees"),
                       only=("custom",), fields=("cf.employees",))]

    register_columns("customers.account", custom_field_columns)

A provider is called with the user (so it can leave out what they may not see) and returns
columns in the order they are offered, after the standard ones; keys must be unique per
object type (a later provider cannot replace an earlier column).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.identity import policy
from rapport.identity.models import Action, FieldRule

from .models import Account, Contact

ACCOUNT = Account.security_type
CONTACT = Contact.security_type

# What every row needs whatever the columns: the name cell (link, inactive badge) and the
# keyset cursor of every sort (name, updated_at, created_at, id).
BASE_FIELDS = {
    ACCOUNT: ("id", "name", "short_name", "is_active", "created_at", "updated_at"),
    CONTACT: ("id", "name", "is_active", "created_at", "updated_at"),
}


@dataclass(frozen=True)
class Column:
    """One column a list may show.

    `value(record)` gives what people read (choice labels, names), before field rules;
    `html(value, record)`, when given, renders it (links); otherwise the value is formatted
    (dates in the user's time zone, lists as "first +n", empty as "—").
    """

    key: str
    label: Any
    value: Callable[[Any], Any]
    fields: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    select_related: tuple[str, ...] = ()
    prepare: Callable[[QuerySet, Any], QuerySet] | None = None
    html: Callable[[Any, Any], str] | None = None
    default: bool = False
    nowrap: bool = False


_providers: dict[str, list[Callable[[Any], list[Column]]]] = {}


def register_columns(object_type: str, provider: Callable[[Any], list[Column]]) -> None:
    """Offer more columns on the list of `object_type`: `provider(user)` returns them.
    Registering the same provider twice is harmless."""
    providers = _providers.setdefault(object_type, [])
    if provider not in providers:
        providers.append(provider)


def columns_for(user, object_type: str) -> dict[str, Column]:
    """The columns `user` may choose on the list, by key, in the order they are offered.
    Columns over a field hidden from the user are left out."""
    rules = policy.field_rules(user, object_type)
    offered: dict[str, Column] = {}
    standard = _STANDARD.get(object_type)
    providers = [standard, *_providers.get(object_type, [])] if standard else []
    for provider in providers:
        for column in provider(user):
            if column.key in offered:
                continue
            if any(rules.get(name) == FieldRule.Rule.HIDDEN for name in column.fields):
                continue
            offered[column.key] = column
    return offered


def default_keys(offered: dict[str, Column]) -> list[str]:
    return [key for key, column in offered.items() if column.default]


def chosen(offered: dict[str, Column], keys: Iterable[str] | None) -> list[Column]:
    """The offered columns among `keys`, in the offered order; unknown keys (a column since
    removed, a field now hidden) are dropped. None means the defaults."""
    wanted = set(default_keys(offered) if keys is None else keys)
    return [column for key, column in offered.items() if key in wanted]


def prepare(queryset: QuerySet, user, object_type: str, columns: list[Column]) -> QuerySet:
    """Load what the chosen columns need, and nothing else, for the whole page at once."""
    fields = list(BASE_FIELDS[object_type])
    related: list[str] = []
    for column in columns:
        fields.extend(column.only)
        related.extend(column.select_related)
        if column.prepare is not None:
            queryset = column.prepare(queryset, user)
    if related:
        queryset = queryset.select_related(*dict.fromkeys(related))
    return queryset.only(*dict.fromkeys(fields))


def _format(value: Any) -> SafeString:
    if value is None or value == "" or value == []:
        return mark_safe("—")  # noqa: S308  (a constant)
    if isinstance(value, bool):
        return format_html("{}", _("Yes") if value else _("No"))
    if isinstance(value, datetime):
        return format_html("{}", date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT"))
    if isinstance(value, date):
        return format_html("{}", date_format(value, "SHORT_DATE_FORMAT"))
    if isinstance(value, list):
        if len(value) == 1:
            return format_html("{}", value[0])
        return format_html('{} <span class="text-secondary">+{}</span>', value[0], len(value) - 1)
    return format_html("{}", value)


def cells(user, object_type: str, columns: list[Column], record) -> list[SafeString]:
    """The rendered cells of one row, field rules applied (masked values never as links)."""
    rules = policy.field_rules(user, object_type)
    rendered = []
    for column in columns:
        value = column.value(record)
        if any(rules.get(name) == FieldRule.Rule.MASKED for name in column.fields):
            rendered.append(_format(policy.mask_value(value)))
        elif column.html is not None and value not in (None, "", []):
            rendered.append(format_html("{}", column.html(value, record)))
        else:
            rendered.append(_format(value))
    return rendered


def _plain(value: Any) -> Any:
    if value is None or value == []:
        return ""
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    if isinstance(value, int | float):
        return value
    return str(value)


def plain_cells(user, object_type: str, columns: list[Column], record) -> list[Any]:
    """The cells of one row as plain values for a file (exports): field rules applied,
    lists joined, dates in the user's time zone, numbers as numbers."""
    rules = policy.field_rules(user, object_type)
    values = []
    for column in columns:
        value = column.value(record)
        if any(rules.get(name) == FieldRule.Rule.MASKED for name in column.fields):
            value = policy.mask_value(value)
        values.append(_plain(value))
    return values


# --- the standard columns ----------------------------------------------------------------------


def _label(model, name: str):
    return capfirst(model._meta.get_field(name).verbose_name)


_OWNER_FIELDS = (
    "owner__id",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "owner__display_name",
)


def _common(model) -> list[Column]:
    return [
        Column(
            "owner",
            gettext_lazy("Owner"),
            lambda record: str(record.owner),
            fields=("owner",),
            only=_OWNER_FIELDS,
            select_related=("owner",),
            default=True,
        ),
        Column("created_at", _label(model, "created_at"), lambda r: r.created_at, nowrap=True),
        Column(
            "updated_at",
            gettext_lazy("Updated"),
            lambda record: record.updated_at,
            default=True,
            nowrap=True,
        ),
    ]


def _simple(model, name: str, **kwargs) -> Column:
    return Column(
        name,
        kwargs.pop("label", None) or _label(model, name),
        lambda record: getattr(record, name),
        fields=(name,),
        only=(name,),
        **kwargs,
    )


def _choice(model, name: str, **kwargs) -> Column:
    # Model choices read by get_<name>_display; configured ones (tier, stage) by <name>_label.
    display = f"get_{name}_display" if model._meta.get_field(name).choices else None
    return Column(
        name,
        _label(model, name),
        lambda record: getattr(record, display)() if display else getattr(record, f"{name}_label"),
        fields=(name,),
        only=(name,),
        **kwargs,
    )


def _region(account: Account) -> str:
    if account.city and account.city != account.province:
        return " ".join(part for part in (account.province, account.city) if part)
    return account.province


def _visible_parent(queryset: QuerySet, user) -> QuerySet:
    # The parent's name only when the user may see the parent (a subquery, not a join).
    visible = Account.objects.restrict(user, Action.VIEW).filter(pk=OuterRef("parent_id"))
    return queryset.annotate(visible_parent_name=Subquery(visible.values("name")[:1]))


def _parent_link(value: Any, account: Account) -> str:
    return format_html(
        '<a href="{}">{}</a>', reverse("customers:account_detail", args=[account.parent_id]), value
    )


def _account_columns(user) -> list[Column]:
    return [
        _choice(Account, "industry", default=True),
        _choice(Account, "tier", default=True),
        _choice(Account, "lifecycle_stage", default=True),
        Column(
            "region",
            gettext_lazy("Region"),
            _region,
            fields=("province", "city"),
            only=("province", "city"),
            default=True,
        ),
        _simple(Account, "address"),
        _simple(Account, "phone", default=True, nowrap=True),
        _simple(Account, "website"),
        _simple(Account, "credit_code", label=gettext_lazy("Credit code"), default=True),
        Column(
            "parent",
            _label(Account, "parent"),
            lambda account: getattr(account, "visible_parent_name", None),
            fields=("parent",),
            only=("parent",),
            prepare=_visible_parent,
            html=_parent_link,
        ),
        *_common(Account),
    ]


def _with_visible_accounts(queryset: QuerySet, user) -> QuerySet:
    visible = Account.objects.restrict(user, Action.VIEW).only("pk", "name")
    return queryset.prefetch_related(
        Prefetch("accounts", queryset=visible, to_attr="visible_accounts")
    )


def _account_links(value: Any, contact: Contact) -> str:
    return format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        (
            (reverse("customers:account_detail", args=[account.pk]), account.name)
            for account in contact.visible_accounts
        ),
    )


def _contact_columns(user) -> list[Column]:
    return [
        _simple(Contact, "title", default=True),
        Column(
            "accounts",
            _label(Contact, "accounts"),
            lambda contact: [account.name for account in contact.visible_accounts],
            fields=("accounts",),
            prepare=_with_visible_accounts,
            html=_account_links,
            default=True,
        ),
        Column(
            "phones",
            gettext_lazy("Phone"),
            lambda contact: list(contact.phones or []),
            fields=("phones",),
            only=("phones",),
            default=True,
            nowrap=True,
        ),
        Column(
            "emails",
            gettext_lazy("E-mail"),
            lambda contact: list(contact.emails or []),
            fields=("emails",),
            only=("emails",),
            default=True,
        ),
        _simple(Contact, "id_number"),
        *_common(Contact),
    ]


# The standard columns come first, whatever registers when.
_STANDARD: dict[str, Callable[[Any], list[Column]]] = {
    ACCOUNT: _account_columns,
    CONTACT: _contact_columns,
}
