"""Keep documents in step with their records: domain events, delivered after commit.

A rolled-back write emits nothing (events are delivered on commit), so its document is never
touched. A failure here is logged by the event dispatcher and repaired by the next change or
by `rapport search rebuild`; it never fails the user's write, which has already committed.
"""

from __future__ import annotations

from typing import Any

from .. import events
from . import index, registry

TOPICS = ("record.created", "record.updated", "record.deleted")


def on_record_event(topic: str, payload: dict[str, Any]) -> None:
    registration = registry.get(str(payload.get("type", "")))
    if registration is None or payload.get("id") is None:
        return
    ids = [int(payload["id"])]
    if topic == "record.deleted":
        index.remove(registration.object_type, ids)
    else:
        index.refresh(registration.object_type, ids)
    if registration.dependents is not None and topic != "record.created":
        for object_type, dependent_ids in registration.dependents(
            ids, payload.get("fields")
        ).items():
            index.refresh(object_type, dependent_ids)


def connect() -> None:
    for topic in TOPICS:
        events.subscribe(topic, on_record_event)
