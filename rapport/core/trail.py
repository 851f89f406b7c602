"""The one door to the audit trail for every layer.

`core` and `identity` sit below `audit` in the layering, yet their writes must be audited in
the same transaction. The audit app registers its writer here when it loads; everything
else calls `record(...)`. There is no other way to write an audit event.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from django.db import models

from .context import current_cause

_writer: Callable[..., Any] | None = None
_many_writer: Callable[..., Any] | None = None


def register_writer(writer: Callable[..., Any], many: Callable[..., Any] | None = None) -> None:
    global _writer, _many_writer
    _writer = writer
    _many_writer = many


def record(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: str | int | None = None,
    object_repr: str = "",
    changes: dict | None = None,
    result: str = "success",
    extra: dict | None = None,
):
    """Append one audit event. Raises if the audit app is not loaded: no write goes unaudited."""
    if _writer is None:
        raise RuntimeError("the audit app is not installed; refusing to write unaudited")
    cause = current_cause()
    if cause is not None:
        # Made on behalf of an automation run (or the like): the event names it.
        extra = {**(extra or {}), "cause": {k: v for k, v in cause.items() if k != "chain"}}
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = target.pk if object_id is None else object_id
        object_repr = object_repr or str(target)[:200]
        changes = seal(target._meta.model, changes)
    return _writer(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id="" if object_id is None else str(object_id),
        object_repr=object_repr,
        changes=changes or {},
        result=result,
        extra=extra or {},
    )


def record_many(
    *,
    actor,
    action: str,
    entries: Iterable[tuple[models.Model, dict | None]],
    extra: dict | None = None,
) -> list:
    """Append one event per (target, changes) entry, in one go — what a bulk writer (an
    import) calls instead of `record` per record. Each record's history holds its own event,
    exactly as if it had been written alone."""
    if _many_writer is None:
        raise RuntimeError("the audit app is not installed; refusing to write unaudited")
    cause = current_cause()
    if cause is not None:
        extra = {**(extra or {}), "cause": {k: v for k, v in cause.items() if k != "chain"}}
    prepared = [
        {
            "object_type": target._meta.label_lower,
            "object_id": str(target.pk),
            "object_repr": str(target)[:200],
            "changes": seal(target._meta.model, changes) or {},
        }
        for target, changes in entries
    ]
    if not prepared:
        return []
    return _many_writer(actor=actor, action=action, items=prepared, extra=extra or {})


@cache
def _sealed_fields(model: type[models.Model]) -> frozenset[str]:
    from .crypto import EncryptedJSONField, EncryptedTextField

    return frozenset(
        field.name
        for field in model._meta.concrete_fields
        if isinstance(field, (EncryptedTextField, EncryptedJSONField))
    )


def seal(model: type[models.Model], changes: dict | None) -> dict | None:
    """Before/after values of fields encrypted at rest are encrypted in the trail too, so the
    audit stream never holds personal data the table itself keeps encrypted. Readers with the
    key ring (history tab, auditor pages) open them with `unseal`."""
    from .crypto import encrypt

    if not changes:
        return changes
    sealed_fields = _sealed_fields(model)
    if not sealed_fields & set(changes):
        return changes
    sealed = dict(changes)
    for name in sealed_fields & set(changes):
        sealed[name] = [
            value if value in (None, "", []) else encrypt(json.dumps(value, ensure_ascii=False))
            for value in changes[name]
        ]
    return sealed


def unseal(value: Any) -> Any:
    """The plain value of a sealed trail value (unchanged if it is not sealed). A value sealed
    with a key no longer in the ring reads as None."""
    from .crypto import DecryptionError, decrypt, is_encrypted

    if not is_encrypted(value):
        return value
    try:
        return json.loads(decrypt(value))
    except (DecryptionError, ValueError):
        return None


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool, dict)) or value is None:
        return value
    return str(value)


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """Plain values of `fields` (foreign keys as ids), to diff before and after a write."""
    values: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        if field.many_to_many:
            values[name] = sorted(
                instance.pk and getattr(instance, name).values_list("pk", flat=True) or []
            )
        elif field.is_relation:
            values[name] = getattr(instance, field.attname)
        else:
            values[name] = _plain(getattr(instance, name))
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value changed."""
    return {
        name: [before.get(name), after.get(name)]
        for name in after
        if before.get(name) != after.get(name)
    }
