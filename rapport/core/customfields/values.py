"""Checking and normalising custom-field values, and reading them for display."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from .. import normalize
from ..datetimes import to_utc
from . import rules
from .models import CustomField, FieldType

TEXT_MAX = 255
LONG_TEXT_MAX = 10000


# Definitions read once per bulk batch (`remembered_definitions`), not once per record.
_remembered: ContextVar[dict | None] = ContextVar("custom_field_definitions", default=None)


@contextmanager
def remembered_definitions() -> Iterator[None]:
    """Inside, each type's definitions are read once and reused — for a bulk writer's
    batch (an import's 200 rows, one transaction), where they cannot change meanwhile."""
    token = _remembered.set({})
    try:
        yield
    finally:
        _remembered.reset(token)


def definitions(object_type: str, *, active_only: bool = True) -> list[CustomField]:
    remembered = _remembered.get()
    if remembered is not None and (object_type, active_only) in remembered:
        return list(remembered[(object_type, active_only)])
    fields = CustomField.objects.filter(object_type=object_type)
    if active_only:
        fields = fields.filter(is_active=True)
    found = list(fields.order_by("position", "id"))
    if remembered is not None:
        remembered[(object_type, active_only)] = found
    return found


def error_key(field: CustomField) -> str:
    """The name errors and form fields use for a custom field: "custom.<key>"."""
    return f"custom.{field.key}"


def _number(field: CustomField, value: Any, *, integer: bool) -> int | float:
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError(_("Enter a number."), code="invalid") from None
    if not number.is_finite():
        raise ValidationError(_("Enter a number."), code="invalid")
    if integer and number != number.to_integral_value():
        raise ValidationError(_("Enter a whole number."), code="invalid")
    rules = field.validation or {}
    if rules.get("min") is not None and number < Decimal(str(rules["min"])):
        raise ValidationError(_("At least %(min)s.") % {"min": rules["min"]}, code="min_value")
    if rules.get("max") is not None and number > Decimal(str(rules["max"])):
        raise ValidationError(_("At most %(max)s.") % {"max": rules["max"]}, code="max_value")
    if integer:
        return int(number)
    places = int(rules.get("decimal_places", 2))
    return float(number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _text(field: CustomField, value: Any, limit: int) -> str:
    text = normalize.text(value, multiline=limit > TEXT_MAX)
    rules = field.validation or {}
    maximum = min(int(rules.get("max_length") or limit), limit)
    if len(text) > maximum:
        raise ValidationError(_("At most %(n)d characters.") % {"n": maximum}, code="max_length")
    pattern = rules.get("pattern")
    if pattern and text and not re.fullmatch(pattern, text):
        raise ValidationError(
            rules.get("pattern_message") or _("This value does not have the expected form."),
            code="pattern",
        )
    return text


def _choice_values(field: CustomField) -> set[str]:
    return {str(choice.get("value")) for choice in field.choices or []}


def _one(field: CustomField, value: Any) -> Any:
    """The stored (JSON) form of one value, or a ValidationError saying what is wrong."""
    kind = field.type
    if kind == FieldType.TEXT:
        return _text(field, value, TEXT_MAX)
    if kind == FieldType.LONG_TEXT:
        return _text(field, value, LONG_TEXT_MAX)
    if kind == FieldType.NUMBER:
        return _number(field, value, integer=True)
    if kind == FieldType.DECIMAL:
        return _number(field, value, integer=False)
    if kind == FieldType.DATE:
        parsed = value if isinstance(value, date) and not isinstance(value, datetime) else None
        if parsed is None:
            try:
                parsed = normalize.parse_date(value)
            except ValidationError:
                parsed = None
        if parsed is None:
            raise ValidationError(_("Enter a date like 2026-12-31."), code="invalid_date")
        rules = field.validation or {}
        for bound, code, message in (
            ("min", "min_value", _("On or after %(date)s.")),
            ("max", "max_value", _("On or before %(date)s.")),
        ):
            limit = parse_date(str(rules.get(bound) or ""))
            if limit and (
                (bound == "min" and parsed < limit) or (bound == "max" and parsed > limit)
            ):
                raise ValidationError(message % {"date": limit.isoformat()}, code=code)
        return parsed.isoformat()
    if kind == FieldType.DATETIME:
        parsed_dt = to_utc(value)
        if parsed_dt is None:
            raise ValidationError(
                _("Enter a date and time like 2026-12-31 14:30."), code="invalid_datetime"
            )
        return parsed_dt.isoformat()
    if kind == FieldType.CHOICE:
        text = str(value)
        if text not in _choice_values(field):
            raise ValidationError(
                _("“%(value)s” is not one of the choices.") % {"value": text}, code="invalid_choice"
            )
        return text
    if kind == FieldType.MULTI_CHOICE:
        items = value if isinstance(value, (list, tuple)) else [value]
        allowed = _choice_values(field)
        wrong = [str(item) for item in items if str(item) not in allowed]
        if wrong:
            raise ValidationError(
                _("“%(value)s” is not one of the choices.") % {"value": "”, “".join(wrong)},
                code="invalid_choice",
            )
        order = [str(choice.get("value")) for choice in field.choices or []]
        return [item for item in order if item in {str(i) for i in items}]
    if kind == FieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in ("true", "1", "yes", "on", "是"):
            return True
        if lowered in ("false", "0", "no", "off", "否"):
            return False
        raise ValidationError(_("Use yes or no."), code="invalid")
    if kind == FieldType.USER:
        from django.contrib.auth import get_user_model

        user_id = getattr(value, "pk", value)
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            raise ValidationError(_("Choose a user."), code="invalid") from None
        if not get_user_model().objects.filter(pk=user_id, is_active=True).exists():
            raise ValidationError(_("Choose an active user."), code="inactive")
        return user_id
    if kind == FieldType.URL:
        text = normalize.identifier(value)
        if "://" not in text:
            text = f"https://{text}"
        try:
            URLValidator(schemes=["http", "https"])(text)
        except ValidationError:
            raise ValidationError(_("Enter a web address."), code="invalid_url") from None
        return text
    if kind == FieldType.EMAIL:
        text = normalize.identifier(value)
        try:
            validate_email(text)
        except ValidationError:
            raise ValidationError(
                _("Enter a valid e-mail address."), code="invalid_email"
            ) from None
        local, _at, domain = text.rpartition("@")
        return f"{local}@{domain.lower()}"
    if kind == FieldType.PHONE:
        try:
            number = phonenumbers.parse(normalize.identifier(value), "CN")
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_possible_number(number):
            raise ValidationError(_("Enter a phone number."), code="invalid_phone")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise ValidationError(_("Unknown field type."), code="invalid")


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def clean(
    object_type: str,
    values: dict[str, Any] | None,
    *,
    current: dict[str, Any] | None = None,
    creating: bool,
) -> dict[str, Any]:
    """The record's new `custom` dict: `current` with `values` applied (keys of the active
    fields of `object_type`), each checked and normalised; defaults filled and required
    fields enforced when `creating`. One ValidationError names every bad field as
    "custom.<key>"; an unknown key is an error too."""
    fields = {field.key: field for field in definitions(object_type)}
    values = dict(values or {})
    result = dict(current or {})
    errors: dict[str, list[ValidationError]] = {}
    for key in values:
        if key not in fields:
            errors[f"custom.{key}"] = [
                ValidationError(
                    _("There is no custom field “%(key)s”.") % {"key": key}, code="unknown_field"
                )
            ]
    for key, field in fields.items():
        if key in values:
            raw = values[key]
            if _empty(raw):
                result.pop(key, None)
            else:
                try:
                    result[key] = _one(field, raw)
                except ValidationError as error:
                    errors[error_key(field)] = [error]
                    continue
        elif creating and field.default is not None and key not in result:
            # A default that no longer fits its rules is simply not applied.
            with contextlib.suppress(ValidationError):
                result[key] = _one(field, field.default)
        if field.required and (creating or key in values) and _empty(result.get(key)):
            errors.setdefault(error_key(field), []).append(
                ValidationError(
                    _("%(label)s is required.") % {"label": field.display_label}, code="required"
                )
            )
    if errors:
        raise ValidationError(errors)
    return result


def check_writable(user, object_type: str, given: dict[str, Any] | None) -> None:
    """Refuse values given for custom fields the user may not change: a field hidden from
    them exactly as one that does not exist (a write can neither probe it nor overwrite what
    the user cannot see, and both are refused in this same pass), a masked or read-only one
    as read-only. One ValidationError keyed "custom.<key>"; the values themselves are left
    to `clean`."""
    if not isinstance(given, dict) or not given:
        return
    in_force = rules.for_user(user, object_type)
    active = {field.key for field in definitions(object_type)}
    errors: dict[str, list[ValidationError]] = {}
    for key in given:
        rule = in_force.get(str(key))
        if rule == rules.HIDDEN or key not in active:
            errors[f"custom.{key}"] = [
                ValidationError(
                    _("There is no custom field “%(key)s”.") % {"key": key}, code="unknown_field"
                )
            ]
        elif rule:
            errors[f"custom.{key}"] = [
                ValidationError(_("You may not change this field."), code="read_only")
            ]
    if errors:
        raise ValidationError(errors)


def user_names(fields: list[CustomField], customs: list[dict[str, Any]]) -> dict[int, str]:
    """{user id: name} for every user-type value in `customs` (one query for all of them)."""
    from django.contrib.auth import get_user_model

    ids = {
        custom.get(f.key)
        for custom in customs
        for f in fields
        if f.type == FieldType.USER and (custom or {}).get(f.key)
    }
    if not ids:
        return {}
    return {u.pk: str(u) for u in get_user_model().objects.filter(pk__in=ids)}


def display(
    object_type: str,
    custom: dict[str, Any] | None,
    fields: list[CustomField] | None = None,
    users: dict[int, str] | None = None,
) -> list[dict[str, Any]]:
    """[{key, label, value (as people read it), many}] for the active fields, in order.
    `users` (from `user_names`) saves the query when showing many records."""
    fields = definitions(object_type) if fields is None else fields
    custom = custom or {}
    if users is None:
        users = user_names(fields, [custom])
    shown = []
    for field in fields:
        value = custom.get(field.key)
        text: Any = value
        if value is None:
            text = ""
        elif field.type == FieldType.CHOICE:
            text = field.choice_label(value)
        elif field.type == FieldType.MULTI_CHOICE:
            text = [field.choice_label(item) for item in value]
        elif field.type == FieldType.BOOLEAN:
            text = _("Yes") if value else _("No")
        elif field.type == FieldType.USER:
            text = users.get(value, f"#{value}")
        elif field.type == FieldType.DATETIME:
            parsed = parse_datetime(str(value))
            text = timezone.localtime(parsed).strftime("%Y-%m-%d %H:%M") if parsed else value
        shown.append(
            {
                "name": error_key(field),
                "key": field.key,
                "label": field.display_label,
                "value": text,
                "many": isinstance(text, list),
                "type": field.type,
            }
        )
    return shown
