"""Which active rules listen for each (record type, trigger), held in memory per process.

Every record event asks, so a miss must cost nothing: the ids are kept in memory and
reloaded when a rule write bumps the generation in the Django cache (Redis in production:
every worker sees it within `RECHECK_SECONDS`). The matcher reads the rules themselves by
these ids (still active?) before using them, so a stale entry never runs a retired rule.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict

from django.core.cache import cache
from django.db import transaction

GENERATION_KEY = "rapport:automation:rules"
RECHECK_SECONDS = 2.0


class _Memory:
    generation: str | None = None
    checked: float = 0.0
    by_trigger: dict[tuple[str, str], list[int]] | None = None


_memory = _Memory()


def _load() -> dict[tuple[str, str], list[int]]:
    from .models import Rule

    loaded: dict[tuple[str, str], list[int]] = defaultdict(list)
    rows = (
        Rule.objects.filter(is_active=True, retired_at__isnull=True)
        .order_by("position", "id")
        .values_list("object_type", "trigger", "pk")
    )
    for object_type, trigger, pk in rows:
        loaded[(object_type, trigger)].append(pk)
    return dict(loaded)


def active(object_type: str, trigger: str) -> list[int]:
    """Ids of the active rules of `object_type` with `trigger`, in their order."""
    now = time.monotonic()
    if _memory.by_trigger is None or now - _memory.checked >= RECHECK_SECONDS:
        generation = cache.get(GENERATION_KEY)
        if _memory.by_trigger is None or generation != _memory.generation:
            _memory.by_trigger = _load()
            _memory.generation = generation
        _memory.checked = now
    return _memory.by_trigger.get((object_type, trigger), [])


def invalidate() -> None:
    """Forget the rules here now, and everywhere once the change commits."""

    def bump() -> None:
        cache.set(GENERATION_KEY, uuid.uuid4().hex, None)
        _memory.by_trigger = None

    _memory.by_trigger = None
    transaction.on_commit(bump)
