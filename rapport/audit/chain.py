"""Appending to and verifying the hash chain.

hash(n) = SHA-256(prev_hash || canonical JSON of event n's content). Appends are serialised
on the ChainHead row, so the chain is a single line even with many writers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.core import context
from rapport.core.rows import insert_rows

from .models import AuditEvent, ChainHead

FIELDS = [field for field in AuditEvent._meta.concrete_fields if not field.primary_key]

HASHED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_repr",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "result",
    "ip",
    "user_agent",
    "channel",
    "extra",
)


def _plain_json(value: Any) -> Any:
    """What the JSON column will give back, so the hash of the stored row matches."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def content_hash(prev_hash: str, content: dict[str, Any]) -> str:
    canonical = json.dumps(
        content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def event_content(event: AuditEvent) -> dict[str, Any]:
    content = {name: getattr(event, name) for name in HASHED_FIELDS}
    content["at"] = event.at.astimezone(UTC).isoformat(timespec="microseconds")
    content["object_id"] = str(content["object_id"] or "")
    return content


def _head_for_update() -> ChainHead:
    head = ChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        ChainHead.objects.get_or_create(pk=1)
        head = ChainHead.objects.select_for_update().get(pk=1)
    return head


def append(
    *,
    actor,
    action: str,
    object_type: str,
    object_id: str,
    object_repr: str,
    changes: dict,
    result: str,
    extra: dict,
) -> AuditEvent:
    request = context.current()
    actor_id = actor.pk if actor is not None and getattr(actor, "pk", None) else None
    with transaction.atomic():
        head = _head_for_update()
        event = AuditEvent(
            seq=head.last_seq + 1,
            at=timezone.now(),
            actor_id=actor_id,
            actor_repr=(getattr(actor, "username", "") or "")[:150] if actor_id else "",
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_repr=object_repr[:200],
            changes=_plain_json(changes),
            result=result,
            ip=request.ip,
            user_agent=request.user_agent[:300],
            channel=request.channel,
            extra=_plain_json(extra),
            prev_hash=head.last_hash,
        )
        event.hash = content_hash(event.prev_hash, event_content(event))
        event.save(force_insert=True)
        ChainHead.objects.filter(pk=1).update(last_seq=event.seq, last_hash=event.hash)
    return event


def append_many(
    *, actor, action: str, items: list[dict[str, Any]], extra: dict
) -> list[AuditEvent]:
    """Append one event per item (object_type, object_id, object_repr, changes) with the same
    actor, action and details: the hashes are chained in order, the rows inserted together and
    the head moved once. The events come back without their row ids."""
    request = context.current()
    actor_id = actor.pk if actor is not None and getattr(actor, "pk", None) else None
    actor_repr = (getattr(actor, "username", "") or "")[:150] if actor_id else ""
    plain_extra = _plain_json(extra)
    with transaction.atomic():
        head = _head_for_update()
        seq, prev = head.last_seq, head.last_hash
        at = timezone.now()
        created = []
        for item in items:
            seq += 1
            event = AuditEvent(
                seq=seq,
                at=at,
                actor_id=actor_id,
                actor_repr=actor_repr,
                action=action,
                object_type=item["object_type"],
                object_id=item["object_id"],
                object_repr=item["object_repr"][:200],
                changes=_plain_json(item["changes"]),
                result=AuditEvent.Result.SUCCESS,
                ip=request.ip,
                user_agent=request.user_agent[:300],
                channel=request.channel,
                extra=plain_extra,
                prev_hash=prev,
            )
            event.hash = prev = content_hash(prev, event_content(event))
            created.append(event)
        insert_rows(
            AuditEvent,
            [{f.attname: getattr(e, f.attname) for f in FIELDS} for e in created],
        )
        ChainHead.objects.filter(pk=1).update(last_seq=seq, last_hash=prev)
    return created


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify(*, batch_size: int = 2000) -> VerifyResult:
    """Recompute every hash in order; report the first event that does not match."""
    head = ChainHead.objects.filter(pk=1).first()
    expected_prev = head.purged_through_hash if head else "0" * 64
    expected_seq = (head.purged_through_seq if head else 0) + 1
    checked = 0
    last_seq = 0
    while True:
        batch = list(AuditEvent.objects.filter(seq__gt=last_seq).order_by("seq")[:batch_size])
        if not batch:
            break
        for event in batch:
            if event.seq != expected_seq:
                return VerifyResult(
                    False, checked, event.seq, f"missing events before #{event.seq}"
                )
            if event.prev_hash != expected_prev:
                return VerifyResult(
                    False, checked, event.seq, "link to the previous event is broken"
                )
            if content_hash(event.prev_hash, event_content(event)) != event.hash:
                return VerifyResult(False, checked, event.seq, "content does not match its hash")
            expected_prev = event.hash
            expected_seq += 1
            checked += 1
            last_seq = event.seq
    if head and checked and head.last_hash != expected_prev:
        return VerifyResult(False, checked, head.last_seq, "the newest events are missing")
    return VerifyResult(True, checked)
