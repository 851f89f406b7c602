"""Which active rules listen for each (record type, trigger), held in memory per process.

Every record event asks, so a miss must cost nothing: the rules are kept in memory (ids by
type and trigger, and the rules themselves, so matching reads no rule from the database) and
reloaded when a rule write bumps the generation in the Django cache (Redis in production:
every worker sees it within `RECHECK_SECONDS`). Before a matched rule runs, the matcher reads
it again (still active?), so a stale entry never runs a retired rule.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db import transaction

if TYPE_CHECKING:
    from .models import Rule

GENERATION_KEY = "rapport:automation:rules"
RECHECK_SECONDS = 2.0


class _Memory:
    def __init__(self) -> None:
        self.generation: str | None = None
        self.checked = 0.0
        self.by_trigger: dict[tuple[str, str], list[int]] | None = None
        self.rules: dict[int, Rule] = {}


_memory = _Memory()


def _load() -> tuple[dict[tuple[str, str], list[int]], dict[int, Rule]]:
    from .models import Rule

    loaded: dict[tuple[str, str], list[int]] = defaultdict(list)
    rules = {}
    for rule in Rule.objects.filter(is_active=True, retired_at__isnull=True).order_by(
        "position", "id"
    ):
        loaded[(rule.object_type, rule.trigger)].append(rule.pk)
        rules[rule.pk] = rule
    return dict(loaded), rules


def _fresh() -> dict[tuple[str, str], list[int]]:
    now = time.monotonic()
    if _memory.by_trigger is None or now - _memory.checked >= RECHECK_SECONDS:
        generation = cache.get(GENERATION_KEY)
        if _memory.by_trigger is None or generation != _memory.generation:
            _memory.by_trigger, _memory.rules = _load()
            _memory.generation = generation
        _memory.checked = now
    return _memory.by_trigger


def active(object_type: str, trigger: str) -> list[int]:
    """Ids of the active rules of `object_type` with `trigger`, in their order."""
    return _fresh().get((object_type, trigger), [])


def active_rules(object_type: str, trigger: str) -> list[Rule]:
    """The active rules themselves, as loaded with the ids (read-only copies: a matcher that
    is about to run one reads it again, see `engine.on_record_event`)."""
    by_trigger = _fresh()
    return [_memory.rules[pk] for pk in by_trigger.get((object_type, trigger), [])]


def invalidate() -> None:
    """Forget the rules here now, and everywhere once the change commits."""

    def bump() -> None:
        cache.set(GENERATION_KEY, uuid.uuid4().hex, None)
        _memory.by_trigger = None

    _memory.by_trigger = None
    transaction.on_commit(bump)
