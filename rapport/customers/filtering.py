"""What people may filter accounts, contacts and interactions on, in the one filter language
(`rapport.core.filterlang`): standard fields, tags (with the tags below them) and custom
fields. Field rules apply: a field hidden from the user cannot be filtered on (that would
reveal its values), and a masked one only by "is empty"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Q
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from rapport.core import filterlang as fl
from rapport.core.tags.selectors import with_tags
from rapport.identity import policy
from rapport.identity.models import FieldRule, User

from . import options as account_options
from .models import (
    Account,
    Contact,
    Direction,
    Industry,
    Interaction,
    InteractionKind,
    Outcome,
    Priority,
)


def _label(model, name: str):
    return capfirst(model._meta.get_field(name).verbose_name)


def _choices(choices) -> tuple[tuple[str, Any], ...]:
    return tuple((value, label) for value, label in choices.choices)


def _options(field: str) -> tuple[tuple[str, Any], ...]:
    # Retired options too: records may still carry them and people filter for those.
    return tuple((item.code, item.display_label) for item in account_options.options(field))


def _tag_field(model) -> fl.FilterField:
    def to_q(op: str, value: Any) -> Q:
        ids = value if isinstance(value, list) else [value]
        tagged = Q(pk__in=with_tags(model.objects.all(), ids).values("pk"))
        return ~tagged if op in ("!=", "not in") else tagged

    return fl.FilterField("tag", _("Tag"), fl.TAG, to_q=to_q)


def _common(model) -> list[fl.FilterField]:
    return [
        fl.FilterField("owner", _label(model, "owner"), fl.USER, path="owner_id"),
        fl.FilterField("created_at", _label(model, "created_at"), fl.DATETIME),
        fl.FilterField("updated_at", _label(model, "updated_at"), fl.DATETIME),
        fl.FilterField("is_active", _label(model, "is_active"), fl.BOOL),
    ]


def _account_fields() -> list[fl.FilterField]:
    text = [
        fl.FilterField(name, _label(Account, name), fl.TEXT)
        for name in (
            "name",
            "short_name",
            "credit_code",
            "province",
            "city",
            "address",
            "phone",
            "website",
        )
    ]
    return [
        *text,
        fl.FilterField(
            "industry", _label(Account, "industry"), fl.CHOICE, choices=_choices(Industry)
        ),
        fl.FilterField("tier", _label(Account, "tier"), fl.CHOICE, choices=_options("tier")),
        fl.FilterField(
            "lifecycle_stage",
            _label(Account, "lifecycle_stage"),
            fl.CHOICE,
            choices=_options("lifecycle_stage"),
        ),
        fl.FilterField("parent", _label(Account, "parent"), fl.NUMBER, path="parent_id"),
        *_common(Account),
        _tag_field(Account),
    ]


def _contact_fields() -> list[fl.FilterField]:
    return [
        fl.FilterField("name", _label(Contact, "name"), fl.TEXT),
        fl.FilterField("title", _label(Contact, "title"), fl.TEXT),
        fl.FilterField("account", _("Account"), fl.NUMBER, path="accounts"),
        *_common(Contact),
        _tag_field(Contact),
    ]


def _interaction_fields() -> list[fl.FilterField]:
    return [
        fl.FilterField(
            "kind", _label(Interaction, "kind"), fl.CHOICE, choices=_choices(InteractionKind)
        ),
        fl.FilterField("subject", _label(Interaction, "subject"), fl.TEXT),
        fl.FilterField("occurred_at", _label(Interaction, "occurred_at"), fl.DATETIME),
        fl.FilterField(
            "direction", _label(Interaction, "direction"), fl.CHOICE, choices=_choices(Direction)
        ),
        fl.FilterField(
            "outcome", _label(Interaction, "outcome"), fl.CHOICE, choices=_choices(Outcome)
        ),
        fl.FilterField("duration_minutes", _label(Interaction, "duration_minutes"), fl.NUMBER),
        fl.FilterField("account", _label(Interaction, "account"), fl.NUMBER, path="account_id"),
        fl.FilterField("contact", _label(Interaction, "contact"), fl.NUMBER, path="contact_id"),
        fl.FilterField("due_at", _label(Interaction, "due_at"), fl.DATETIME),
        fl.FilterField("done_at", _label(Interaction, "done_at"), fl.DATETIME),
        fl.FilterField("assignee", _label(Interaction, "assignee"), fl.USER, path="assignee_id"),
        fl.FilterField(
            "priority", _label(Interaction, "priority"), fl.CHOICE, choices=_choices(Priority)
        ),
        *_common(Interaction),
    ]


_BUILDERS = {
    Account.security_type: _account_fields,
    Contact.security_type: _contact_fields,
    Interaction.security_type: _interaction_fields,
}


def with_field_rules(user: User, object_type: str, fields: list[fl.FilterField]):
    rules = policy.field_rules(user, object_type)
    allowed: list[fl.FilterField] = []
    for spec in fields:
        rule = rules.get(spec.name, "")
        if rule == FieldRule.Rule.HIDDEN:
            continue
        if rule == FieldRule.Rule.MASKED:
            spec = fl.FilterField(
                spec.name,
                spec.label,
                spec.type,
                path=spec.path,
                choices=spec.choices,
                to_q=_only_emptiness(spec),
                json=spec.json,
            )
        allowed.append(spec)
    return allowed


def register() -> None:
    """Offer the standard fields of accounts, contacts and interactions to the filter
    language (called when the app is ready)."""
    for object_type, build in _BUILDERS.items():

        def provider(user, object_type=object_type, build=build):
            return with_field_rules(user, object_type, build())

        fl.register_fields(object_type, provider)


def filter_fields(user: User, object_type: str) -> dict[str, fl.FilterField]:
    """The fields `user` may filter `object_type` on, by name (field rules applied)."""
    return fl.fields_for(user, object_type)


def _only_emptiness(spec: fl.FilterField):
    plain = fl.FilterField(spec.name, spec.label, spec.type, path=spec.path, json=spec.json)

    def to_q(op: str, value: Any) -> Q:
        if op not in ("empty", "not empty"):
            raise fl.FilterError(
                {
                    "filter": [
                        f"{spec.name}: "
                        + str(_("This field is masked for you; filter it only by “is empty”."))
                    ]
                }
            )
        return fl.to_q({"field": spec.name, "op": op, "value": None}, {spec.name: plain})

    return to_q


def apply_filter(queryset, user: User, object_type: str, text_or_tree: str | Mapping) -> Any:
    """Narrow an already restricted queryset by a filter (text or tree). FilterError if bad."""
    fields = filter_fields(user, object_type)
    return fl.apply(queryset, text_or_tree, fields, fl.Context(user_id=user.pk))
