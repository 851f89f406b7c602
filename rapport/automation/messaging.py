"""E-mail and SMS from rule templates: placeholders, recipients by consent, the SMS backend.

A template is plain text with placeholders of the record's fields, `{{ name }}`,
`{{ tier }}`, `{{ cf.contract_no }}`, and `{{ contact.name }}` (the recipient). Nothing else is
interpreted: no template tags, filters or attribute paths, so a rule cannot reach anything
but the fields its designer may see (hidden and masked fields are not offered). Placeholders
are checked when the rule is saved.

SMS go through the one SMS sender, `rapport.core.sms` (`RAPPORT_SMS_BACKEND`).
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import filterlang

logger = logging.getLogger(__name__)

CONTACT_PLACEHOLDERS = ("contact.name",)
PLAIN_TYPES = (
    filterlang.TEXT,
    filterlang.NUMBER,
    filterlang.DECIMAL,
    filterlang.DATE,
    filterlang.DATETIME,
    filterlang.CHOICE,
    filterlang.MULTI,
    filterlang.BOOL,
    filterlang.USER,
)
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")


# --- placeholders --------------------------------------------------------------------------


def placeholder_fields(actor, automatable) -> dict[str, filterlang.FilterField]:
    """The record's fields a template may name: plain fields `actor` may see unmasked."""
    from rapport.identity import policy

    rules = policy.field_rules(actor, automatable.object_type)
    offered = {}
    for name, spec in filterlang.fields_for(actor, automatable.object_type).items():
        if spec.type not in PLAIN_TYPES or spec.to_q is not None or rules.get(name):
            continue
        if not spec.json and not _is_column(automatable.model, spec.path or spec.name):
            continue
        offered[name] = spec
    return offered


def _is_column(model: type[models.Model], path: str) -> bool:
    try:
        field = model._meta.get_field(path.removesuffix("_id") if path.endswith("_id") else path)
    except Exception:
        return False
    return not (field.many_to_many or field.one_to_many)


def template_errors(text: str, allowed: set[str]) -> list[str]:
    """What is wrong with a template's placeholders (empty: nothing)."""
    problems = []
    if "{%" in text or "{#" in text:
        problems.append(_("Templates take only placeholders like {{ name }}, no other tags."))
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1)
        if not _NAME.match(name) or name not in allowed:
            problems.append(
                _("There is no placeholder “%(name)s”; use one of: %(choices)s.")
                % {"name": match.group(0), "choices": ", ".join(sorted(allowed))}
            )
    rest = _PLACEHOLDER.sub("", text)
    if "{{" in rest or "}}" in rest:
        problems.append(_("A placeholder is not closed: write it as {{ name }}."))
    return problems


def _display(spec: filterlang.FilterField, value: Any) -> str:
    if value in (None, ""):
        return ""
    if spec.type == filterlang.USER:
        from rapport.identity.models import User

        user = User.objects.filter(pk=value).first()
        return str(user.display_name or user.username) if user else ""
    if spec.type in (filterlang.CHOICE, filterlang.MULTI) and spec.choices:
        labels = {str(code): str(label) for code, label in spec.choices}
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(item), str(item)) for item in values)
    if spec.type == filterlang.BOOL:
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def field_value(record: models.Model, spec: filterlang.FilterField) -> Any:
    if spec.json:
        key = (spec.path or spec.name).split("__", 1)[-1]
        return (getattr(record, "custom", None) or {}).get(key)
    return getattr(record, spec.path or spec.name, None)


def render(
    text: str, record: models.Model, fields: dict[str, filterlang.FilterField], contact=None
):
    """The template with its placeholders replaced by the record's values (plain text)."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name == "contact.name":
            return str(contact.name) if contact is not None else ""
        spec = fields.get(name)
        return _display(spec, field_value(record, spec)) if spec is not None else ""

    return _PLACEHOLDER.sub(value, text)
