"""Domain events: delivered in-process after commit, and kept in the outbox for external delivery.

    emit("record.created", {"type": "customers.account", "id": 7, ...})

In-process subscribers run after the transaction commits (never for a rolled-back change).
External handlers (webhooks, e-mail, indexing in later issues) are fed by the outbox relay,
which survives crashes: a message is marked delivered only once every handler accepted it.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from .context import current_cause
from .models import OutboxMessage
from .rows import insert_rows

logger = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], None]
ExternalHandler = Callable[[str, dict[str, Any], str], None]

_subscribers: dict[str, list[Handler]] = defaultdict(list)
_keyed: set[Callable] = set()  # handlers that also take the event's idempotency key
_external: list[ExternalHandler] = []


def subscribe(topic: str, handler: Callable, *, keyed: bool = False) -> None:
    """Run `handler(topic, payload)` after commit of every event on `topic` ("*" for all).
    With `keyed`, `handler(topic, payload, key)`: the outbox message's idempotency key, by
    which a subscriber recognises an event delivered to it again."""
    if keyed:
        _keyed.add(handler)
    if handler not in _subscribers[topic]:
        _subscribers[topic].append(handler)


def unsubscribe(topic: str, handler: Handler) -> None:
    if handler in _subscribers[topic]:
        _subscribers[topic].remove(handler)


def register_external(handler: ExternalHandler) -> None:
    """Feed `handler(topic, payload, idempotency_key)` from the outbox relay."""
    if handler not in _external:
        _external.append(handler)


def emit(topic: str, payload: dict[str, Any]) -> OutboxMessage:
    """Record the event in the outbox (same transaction) and deliver it in-process on commit.

    A write made on behalf of something (an automation run, see `context.current_cause`)
    carries it in the payload as `cause`."""
    cause = current_cause()
    if cause is not None and "cause" not in payload:
        payload = {**payload, "cause": cause}
    message = OutboxMessage.objects.create(
        topic=topic, payload=payload, idempotency_key=uuid.uuid4().hex
    )

    def deliver() -> None:
        for handler in [*_subscribers.get(topic, []), *_subscribers.get("*", [])]:
            try:
                if handler in _keyed:
                    handler(topic, payload, message.idempotency_key)
                else:
                    handler(topic, payload)
            except Exception:  # one failing subscriber must not stop the others
                logger.exception("event subscriber failed for %s", topic)

    transaction.on_commit(deliver)
    return message


def emit_many(topic: str, payloads: list[dict[str, Any]]) -> list[OutboxMessage]:
    """`emit` for many events on one topic (a bulk writer's records): one insert into the
    outbox, and each event delivered in-process on commit, in order. The messages come back
    without their row ids."""
    cause = current_cause()
    if cause is not None:
        payloads = [p if "cause" in p else {**p, "cause": cause} for p in payloads]
    messages = [
        OutboxMessage(topic=topic, payload=payload, idempotency_key=uuid.uuid4().hex)
        for payload in payloads
    ]
    insert_rows(
        OutboxMessage,
        [
            {"topic": topic, "payload": m.payload, "idempotency_key": m.idempotency_key}
            for m in messages
        ],
    )

    def deliver() -> None:
        handlers = [*_subscribers.get(topic, []), *_subscribers.get("*", [])]
        for message in messages:
            for handler in handlers:
                try:
                    if handler in _keyed:
                        handler(topic, message.payload, message.idempotency_key)
                    else:
                        handler(topic, message.payload)
                except Exception:  # one failing subscriber must not stop the others
                    logger.exception("event subscriber failed for %s", topic)

    if messages:
        transaction.on_commit(deliver)
    return messages


def relay_outbox(*, batch_size: int = 200) -> int:
    """Deliver pending outbox messages to external handlers; returns how many were delivered."""
    delivered = 0
    pending = OutboxMessage.objects.filter(delivered_at__isnull=True).order_by("id")[:batch_size]
    for message in pending:
        try:
            for handler in _external:
                handler(message.topic, message.payload, message.idempotency_key)
        except Exception as error:  # keep it pending; the next run retries with the same key
            OutboxMessage.objects.filter(pk=message.pk).update(
                attempts=message.attempts + 1, last_error=str(error)[:2000]
            )
            continue
        OutboxMessage.objects.filter(pk=message.pk).update(
            delivered_at=timezone.now(), attempts=message.attempts + 1, last_error=""
        )
        delivered += 1
    return delivered
