"""The lock hook: records that may not change for now (waiting for approval, …).

Domain services sit below the apps that lock records (automation) in the layering, so those
apps register a check here when they load, and the services call `ensure_unlocked(record)`
(or `ensure_all_unlocked(records)` for bulk changes) before they change one:

    locks.register(reason_for_one, many=reasons_for_many)

A check returns why the record is locked, or None; its `many` form takes a list of records
of one model and returns {pk: reason} for the locked ones, in one query. Every actor is
refused alike, the automation system actor included: a lock that rules could walk through
would lock nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import ValidationError

Check = Callable[[Any], "str | None"]
ManyCheck = Callable[[Sequence[Any]], "dict[Any, str]"]

_checks: list[tuple[Check, ManyCheck | None]] = []


def register(check: Check, *, many: ManyCheck | None = None) -> None:
    """Add a lock check (once: registering the same function again changes nothing)."""
    if all(existing is not check for existing, _many in _checks):
        _checks.append((check, many))


def unregister(check: Check) -> None:
    _checks[:] = [(existing, many) for existing, many in _checks if existing is not check]


def lock_reason(target: Any) -> str | None:
    """Why `target` may not change now, or None."""
    if target is None or getattr(target, "pk", None) is None:
        return None
    for check, _many in _checks:
        reason = check(target)
        if reason:
            return str(reason)
    return None


def ensure_unlocked(target: Any) -> None:
    """Raise ValidationError (code "locked") when a registered check locks `target`."""
    reason = lock_reason(target)
    if reason:
        raise ValidationError(reason, code="locked")


def lock_reasons(records: Sequence[Any]) -> dict[Any, str]:
    """{pk: why it may not change} for the locked ones among `records` (one model)."""
    records = [record for record in records if getattr(record, "pk", None) is not None]
    found: dict[Any, str] = {}
    for check, many in _checks:
        if many is not None:
            reasons = many(records)
        else:
            reasons = {record.pk: check(record) for record in records}
        for pk, reason in reasons.items():
            if reason and pk not in found:
                found[pk] = str(reason)
    return found


def ensure_all_unlocked(records: Sequence[Any]) -> None:
    """All or nothing: raise ValidationError (code "locked") naming the first locked record
    when any of `records` is locked."""
    reasons = lock_reasons(records)
    for record in records:
        if record.pk in reasons:
            raise ValidationError(
                f"{record}: {reasons[record.pk]}",
                code="locked",
            )
