"""Custom-field values inside the customers services: checked with the field definitions,
and audited per field ("custom.<key>": [before, after]) rather than as one blob."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from rapport.core.customfields import values as custom_values


def clean(
    object_type: str,
    given: dict[str, Any] | None,
    current: dict[str, Any] | None,
    *,
    creating: bool,
) -> dict[str, Any]:
    """The record's new custom values (raises a ValidationError keyed "custom.<key>")."""
    if given is not None and not isinstance(given, dict):
        raise ValidationError(
            {"custom": ValidationError("Give the custom fields as {key: value}.", code="invalid")}
        )
    return custom_values.clean(object_type, given or {}, current=current, creating=creating)


def merge_errors(errors: dict[str, list], error: ValidationError) -> None:
    for name, items in error.error_dict.items():
        errors.setdefault(name, []).extend(items)


def expand(changes: dict[str, list]) -> dict[str, list]:
    """Replace a "custom" change by one entry per custom field that changed."""
    if "custom" not in changes:
        return changes
    before, after = changes.pop("custom")
    before, after = before or {}, after or {}
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            changes[f"custom.{key}"] = [before.get(key), after.get(key)]
    return changes
