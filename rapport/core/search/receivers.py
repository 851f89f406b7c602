"""Keep documents in step with their records: domain events, delivered after commit.

A rolled-back write emits nothing (events are delivered on commit), so its document is never
touched. A failure here is logged by the event dispatcher and repaired by the next change or
by `rapport search rebuild`; it never fails the user's write, which has already committed.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .. import events
from . import index, registry

TOPICS = ("record.created", "record.updated", "record.deleted")
logger = logging.getLogger(__name__)
_local = threading.local()


@contextmanager
def deferred() -> Iterator[None]:
    """Documents to refresh while inside are collected and refreshed together on leaving —
    one batched write instead of one per record, for bulk writers (imports). Writes that
    commit inside deliver their events inside, so wrap the transaction, not just the calls."""
    if getattr(_local, "pending", None) is not None:  # nested: the outer one refreshes
        yield
        return
    _local.pending = defaultdict(set)
    try:
        yield
    finally:
        pending, _local.pending = _local.pending, None
        for object_type, ids in pending.items():
            try:
                index.refresh(object_type, sorted(ids))
            except Exception:  # repaired by the next change or `rapport search rebuild`
                logger.exception("search refresh failed for %s", object_type)


def _refresh(object_type: str, ids: list[int]) -> None:
    pending = getattr(_local, "pending", None)
    if pending is not None:
        pending[object_type].update(ids)
    else:
        index.refresh(object_type, ids)


def on_record_event(topic: str, payload: dict[str, Any]) -> None:
    registration = registry.get(str(payload.get("type", "")))
    if registration is None or payload.get("id") is None:
        return
    if topic == "record.created" and payload.get("indexed"):  # the writer indexed it already
        return
    ids = [int(payload["id"])]
    if topic == "record.deleted":
        index.remove(registration.object_type, ids)
    else:
        _refresh(registration.object_type, ids)
    if registration.dependents is not None and topic != "record.created":
        for object_type, dependent_ids in registration.dependents(
            ids, payload.get("fields")
        ).items():
            _refresh(object_type, list(dependent_ids))


def connect() -> None:
    for topic in TOPICS:
        events.subscribe(topic, on_record_event)
