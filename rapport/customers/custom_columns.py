"""Custom fields as list columns (through the column registry of `columns`).

A column reveals its field under the name field rules use ("cf.<key>"), so the column
registry applies the user's rules to it as to any column: a hidden field's column is not
offered, a masked one shows its values masked."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from rapport.core.customfields.models import CustomField, FieldType
from rapport.core.customfields.rules import rule_name
from rapport.core.customfields.values import definitions

from .columns import Column, register_columns
from .models import Account, Contact


def _reader(field: CustomField, user_names: dict[int, str]):
    def value(record) -> Any:
        raw = (record.custom or {}).get(field.key)
        if raw is None:
            return None
        if field.type == FieldType.CHOICE:
            return field.choice_label(raw)
        if field.type == FieldType.MULTI_CHOICE:
            return [field.choice_label(item) for item in raw]
        if field.type == FieldType.BOOLEAN:
            return _("Yes") if raw else _("No")
        if field.type == FieldType.USER:
            if not user_names:  # one query for the page, the first time a user cell shows
                user_names.update(
                    (user.pk, str(user))
                    for user in get_user_model()
                    .objects.filter(is_active=True)
                    .only("pk", "username", "display_name")
                )
                user_names.setdefault(0, "")
            return user_names.get(raw, f"#{raw}")
        return raw

    return value


def _provider(object_type: str):
    def columns(user) -> list[Column]:
        user_names: dict[int, str] = {}
        return [
            Column(
                key=rule_name(field.key),
                label=field.display_label,
                value=_reader(field, user_names),
                only=("custom",),
                fields=(rule_name(field.key),),
            )
            for field in definitions(object_type)
        ]

    return columns


def register() -> None:
    for model in (Account, Contact):
        register_columns(model.security_type, _provider(model.security_type))
