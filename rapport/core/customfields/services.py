"""Every write to custom-field definitions: create, change, retire. Audited; only users who
may manage custom fields (the `core.customfield` grant) may do them."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from .. import access, trail
from ..errors import PermissionDenied
from . import indexes, registry, values
from .models import CustomField, FieldType

MAX_FIELDS_PER_TYPE = 200
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
EDITABLE = (
    "label",
    "label_en",
    "required",
    "default",
    "choices",
    "validation",
    "help_text",
    "help_text_en",
    "position",
    "indexed",
)
AUDITED = ("object_type", "key", "type", *EDITABLE, "is_active")


def _require_manage(actor) -> None:
    if not access.can(actor, "manage", CustomField):
        raise PermissionDenied(_("You may not manage custom fields."))


def _clean(values_: dict[str, Any], field: CustomField | None) -> dict[str, Any]:
    errors: dict[str, list[ValidationError]] = {}

    def fail(name: str, message: str, code: str) -> None:
        errors.setdefault(name, []).append(ValidationError(message, code=code))

    cleaned = dict(values_)
    object_type = cleaned.get("object_type", field.object_type if field else "")
    kind = cleaned.get("type", field.type if field else "")
    if field is None:
        if registry.model_for(object_type) is None:
            fail(
                "object_type",
                _("Custom fields can be added to: %(types)s.")
                % {"types": ", ".join(registry.models_with_custom_fields())},
                "invalid_choice",
            )
        key = str(cleaned.get("key") or "").strip().lower()
        cleaned["key"] = key
        if not KEY.match(key):
            fail(
                "key",
                _("Use lower-case letters, digits and _ (starting with a letter, at most 40)."),
                "invalid",
            )
        elif CustomField.objects.filter(object_type=object_type, key=key).exists():
            fail("key", _("This record type already has a field with this key."), "duplicate")
        if kind not in FieldType.values:
            fail("type", _("Choose a field type."), "invalid_choice")
    for name, limit in (
        ("label", 100),
        ("label_en", 100),
        ("help_text", 300),
        ("help_text_en", 300),
    ):
        if name in cleaned:
            cleaned[name] = str(cleaned[name] or "").strip()
            if len(cleaned[name]) > limit:
                fail(name, _("At most %(n)d characters.") % {"n": limit}, "max_length")
    if "label" in cleaned and not cleaned["label"]:
        fail("label", _("Give the field a label."), "required")
    if "choices" in cleaned:
        choices = cleaned["choices"] or []
        if isinstance(choices, str):  # "value|中文|English" per line, from the form
            parsed = []
            for line in choices.splitlines():
                if not line.strip():
                    continue
                parts = [part.strip() for part in line.split("|")]
                parsed.append(
                    {
                        "value": parts[0],
                        "label": parts[1] if len(parts) > 1 and parts[1] else parts[0],
                        "label_en": parts[2] if len(parts) > 2 else "",
                    }
                )
            choices = parsed
        seen = set()
        if not isinstance(choices, list) or not all(
            isinstance(c, dict) and str(c.get("value") or "").strip() for c in choices
        ):
            fail("choices", _("Give each choice a value."), "invalid")
        else:
            for choice in choices:
                value = str(choice["value"]).strip()
                if value in seen:
                    fail(
                        "choices",
                        _("The choice “%(value)s” is listed twice.") % {"value": value},
                        "duplicate",
                    )
                seen.add(value)
            cleaned["choices"] = [
                {
                    "value": str(c["value"]).strip(),
                    "label": str(c.get("label") or c["value"]).strip(),
                    "label_en": str(c.get("label_en") or "").strip(),
                }
                for c in choices
            ]
    if kind in (FieldType.CHOICE, FieldType.MULTI_CHOICE):
        choices = cleaned.get("choices", field.choices if field else [])
        if not choices and "choices" not in errors:
            fail("choices", _("A choice field needs at least one choice."), "required")
    if "validation" in cleaned:
        rules = cleaned["validation"] or {}
        if not isinstance(rules, dict) or set(rules) - {
            "min",
            "max",
            "max_length",
            "pattern",
            "pattern_message",
            "decimal_places",
        }:
            fail("validation", _("Unknown validation rule."), "invalid")
        else:
            rules = dict(rules)
            if rules.get("pattern"):
                try:
                    re.compile(rules["pattern"])
                except re.error:
                    fail(
                        "validation",
                        _("The pattern is not a valid regular expression."),
                        "invalid",
                    )
            for bound in ("min", "max"):
                if rules.get(bound) in (None, ""):
                    rules.pop(bound, None)
                elif kind in (FieldType.NUMBER, FieldType.DECIMAL):
                    try:
                        number = Decimal(str(rules[bound]).strip())
                    except InvalidOperation:
                        fail("validation", _("Minimum and maximum must be numbers."), "invalid")
                        continue
                    rules[bound] = (
                        int(number) if number == number.to_integral_value() else float(number)
                    )
                elif kind == FieldType.DATE:
                    if parse_date(str(rules[bound]).strip()) is None:
                        fail(
                            "validation",
                            _("Minimum and maximum must be dates like 2026-12-31."),
                            "invalid",
                        )
                else:
                    rules.pop(bound)  # no bounds on other types
        cleaned["validation"] = rules
    if "position" in cleaned:
        try:
            cleaned["position"] = max(0, int(cleaned["position"]))
        except (TypeError, ValueError):
            fail("position", _("Enter a whole number."), "invalid")
    if not errors and cleaned.get("default") not in (None, "", []):
        probe = CustomField(
            object_type=object_type,
            key=cleaned.get("key", field.key if field else "x"),
            type=kind,
            choices=cleaned.get("choices", field.choices if field else []),
            validation=cleaned.get("validation", field.validation if field else {}),
        )
        try:
            cleaned["default"] = values._one(probe, cleaned["default"])
        except ValidationError as error:
            fail("default", " ".join(error.messages), "invalid")
    elif "default" in cleaned and cleaned["default"] in ("", []):
        cleaned["default"] = None
    if errors:
        raise ValidationError(errors)
    return cleaned


def custom_field_create(
    *, actor, object_type: str, key: str, type: str, label: str, **values_: Any
) -> CustomField:  # noqa: A002
    """Add a typed field to a record type. With `indexed`, an expression index is created so
    filters on it stay fast. Audited."""
    _require_manage(actor)
    unknown = set(values_) - set(EDITABLE)
    if unknown:
        raise ValidationError(
            {n: ValidationError(_("Unknown field."), code="unknown_field") for n in unknown}
        )
    if CustomField.objects.filter(object_type=object_type).count() >= MAX_FIELDS_PER_TYPE:
        raise ValidationError(
            {
                "key": ValidationError(
                    _("At most %(n)d custom fields per record type.") % {"n": MAX_FIELDS_PER_TYPE},
                    code="too_many",
                )
            }
        )
    cleaned = _clean(
        {"object_type": object_type, "key": key, "type": type, "label": label, **values_}, None
    )
    with transaction.atomic():
        field = CustomField.objects.create(created_by=actor, **cleaned)
        if field.indexed:
            indexes.ensure_index(field)
        trail.record(
            actor=actor,
            action="create",
            target=field,
            changes=trail.diff({}, trail.snapshot(field, AUDITED)),
        )
    return field


def custom_field_update(*, actor, field: CustomField, **values_: Any) -> CustomField:
    """Change a field's labels, rules, default, choices, order or indexing (its key and type
    stay: values already stored depend on them). Audited with before/after."""
    _require_manage(actor)
    unknown = set(values_) - set(EDITABLE)
    if unknown:
        raise ValidationError(
            {
                n: ValidationError(
                    _("This cannot be changed once the field exists."), code="read_only"
                )
                for n in unknown
            }
        )
    cleaned = _clean(values_, field)
    before = trail.snapshot(field, AUDITED)
    was_indexed = field.indexed
    for name, value in cleaned.items():
        setattr(field, name, value)
    with transaction.atomic():
        field.save()
        if field.indexed and not was_indexed:
            indexes.ensure_index(field)
        elif was_indexed and not field.indexed:
            indexes.drop_index(field)
        changes = trail.diff(before, trail.snapshot(field, AUDITED))
        if changes:
            trail.record(actor=actor, action="update", target=field, changes=changes)
    return field


def custom_field_set_active(*, actor, field: CustomField, active: bool) -> CustomField:
    """Retire a field (its values stay on the records and come back if it is reactivated)."""
    _require_manage(actor)
    if field.is_active == active:
        return field
    with transaction.atomic():
        field.is_active = active
        field.save(update_fields=["is_active", "updated_at"])
        trail.record(
            actor=actor,
            action="reactivate" if active else "deactivate",
            target=field,
            changes={"is_active": [not active, active]},
        )
    return field
