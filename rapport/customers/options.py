"""Reading the configured tiers and lifecycle stages (`AccountOption`).

Every list row, badge, filter and form asks for them, so they are held in memory per
process: a tiny table, reloaded when a write bumps the generation number kept in the
Django cache (Redis in production, so every worker sees it within `RECHECK_SECONDS`).
Writes go through `rapport.customers.services.options`, which calls `invalidate()`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

from rapport.core.models import localized

from .models import AccountOption, OptionField

GENERATION_KEY = "rapport:customers:account-options"
RECHECK_SECONDS = 2.0


@dataclass(frozen=True)
class Option:
    field: str
    code: str
    label: str
    label_en: str
    colour: str
    position: int
    is_default: bool
    is_active: bool

    @property
    def display_label(self) -> str:
        return localized(self.label, self.label_en)

    @property
    def badge_class(self) -> str:
        return f"bg-{self.colour}-lt"


class _Memory:
    generation: str | None = None
    checked: float = 0.0
    by_field: dict[str, list[Option]] | None = None


_memory = _Memory()


def _load() -> dict[str, list[Option]]:
    loaded: dict[str, list[Option]] = {field: [] for field in OptionField.values}
    for row in AccountOption.objects.order_by("field", "position", "id"):
        loaded.setdefault(row.field, []).append(
            Option(
                field=row.field,
                code=row.code,
                label=row.label,
                label_en=row.label_en,
                colour=row.colour,
                position=row.position,
                is_default=row.is_default,
                is_active=row.is_active,
            )
        )
    return loaded


def _current() -> dict[str, list[Option]]:
    now = time.monotonic()
    if _memory.by_field is not None and now - _memory.checked < RECHECK_SECONDS:
        return _memory.by_field
    generation = cache.get(GENERATION_KEY)
    if _memory.by_field is None or generation != _memory.generation:
        _memory.by_field = _load()
        _memory.generation = generation
    _memory.checked = now
    return _memory.by_field


def invalidate() -> None:
    """Forget the options here now, and everywhere once the write commits."""

    def bump() -> None:
        cache.set(GENERATION_KEY, uuid.uuid4().hex, None)
        _memory.by_field = None

    _memory.by_field = None
    bump()
    transaction.on_commit(bump)


def options(field: str, *, active_only: bool = False) -> list[Option]:
    """The options of `field` ("tier" or "lifecycle_stage") in their configured order."""
    found = _current().get(field, [])
    return [option for option in found if option.is_active] if active_only else list(found)


def option(field: str, code: str) -> Option | None:
    return next((item for item in _current().get(field, []) if item.code == code), None)


def label(field: str, code: str) -> str:
    """The option's label in the reader's language; an unknown code reads as itself."""
    found = option(field, code)
    return found.display_label if found is not None else code


def choices(field: str, *, current: str | None = None) -> list[tuple[str, str]]:
    """(code, label) of the active options, plus `current` when it has been retired, so an
    edit form never silently moves a record off its value."""
    listed = [(item.code, item.display_label) for item in options(field, active_only=True)]
    if current and all(code != current for code, _label in listed):
        listed.append((current, label(field, current)))
    return listed


def default(field: str) -> str:
    """The code new accounts get when none is given: the marked default, else the first."""
    active = options(field, active_only=True)
    for item in active:
        if item.is_default:
            return item.code
    return active[0].code if active else ""


def is_active_code(field: str, code: str) -> bool:
    found = option(field, code)
    return found is not None and found.is_active


# The tiers and stages an organisation starts with; administrators change them afterwards.
# (code, Chinese label, English label, colour)
DEFAULTS: dict[str, list[tuple[str, str, str, str]]] = {
    "tier": [
        ("A", "A — 战略客户", "A — strategic", "red"),
        ("B", "B — 重点客户", "B — key", "orange"),
        ("C", "C — 普通客户", "C — standard", "blue"),
    ],
    "lifecycle_stage": [
        ("lead", "线索", "Lead", "secondary"),
        ("prospect", "潜在客户", "Prospect", "azure"),
        ("customer", "成交客户", "Customer", "indigo"),
        ("active", "活跃客户", "Active", "green"),
        ("at_risk", "流失风险", "At risk", "orange"),
        ("churned", "已流失", "Churned", "red"),
    ],
}
DEFAULT_CODES = {"tier": "C", "lifecycle_stage": "prospect"}
# Values earlier versions offered as fixed choices: listed only where accounts carry them.
EARLIER: dict[str, list[tuple[str, str, str, str]]] = {
    "tier": [("D", "D — 小客户", "D — small", "secondary")],
    "lifecycle_stage": [
        ("onboarding", "导入期", "Onboarding", "cyan"),
        ("partner", "合作伙伴", "Partner", "purple"),
    ],
}


def ensure_defaults(using: str = "default") -> int:
    """Give a field with no options the default ones, plus an option for every other code
    accounts already carry (so nothing reads as a bare code). Runs after every migrate and
    test flush; a field that has options is left alone. Returns how many were created."""
    from .models import Account

    created = 0
    for field, rows in DEFAULTS.items():
        if AccountOption.objects.using(using).filter(field=field).exists():
            continue
        used = set(Account.objects.using(using).values_list(field, flat=True).distinct())
        listed = list(rows)
        known = {row[0] for row in rows} | {row[0] for row in EARLIER[field]}
        listed += [row for row in EARLIER[field] if row[0] in used]
        listed += [(code, code, code, "secondary") for code in sorted(used - known) if code]
        AccountOption.objects.using(using).bulk_create(
            AccountOption(
                field=field,
                code=code,
                label=label,
                label_en=label_en,
                colour=colour,
                position=position * 10,
                is_default=code == DEFAULT_CODES[field],
            )
            for position, (code, label, label_en, colour) in enumerate(listed, start=1)
        )
        created += len(listed)
    if created:
        _memory.by_field = None
        cache.set(GENERATION_KEY, uuid.uuid4().hex, None)
    return created
