"""Every write to notifications: deliver one, mark one or all read, e-mail one.

Notifications are a user's own inbox, not business records: delivering one is part of the
caller's change (audited there, if at all), and reading one changes nothing anyone else
sees, so neither is a separate audit event.
"""

from __future__ import annotations

import logging
import uuid
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.utils import timezone, translation

from rapport.core.errors import NotFound

from . import registry
from .models import Notification

logger = logging.getLogger(__name__)


def _type_of(target: models.Model) -> str:
    return getattr(target, "security_type", "") or target._meta.label_lower


def notify(
    *,
    recipient,
    kind: str,
    message_key: str,
    params: dict[str, Any] | None = None,
    target: models.Model | None = None,
    url: str = "",
    idempotency_key: str | None = None,
) -> Notification | None:
    """Deliver one notification to `recipient`, inside the caller's transaction.

    Whatever the caller writes and the notification commit together or not at all. With an
    `idempotency_key` the same message is delivered at most once, whoever calls twice (the
    duplicate is refused inside a savepoint, so the caller's transaction carries on). A
    deactivated recipient gets nothing. Returns the notification, or None if none was
    delivered. A message with e-mail on is e-mailed after commit.
    """
    if recipient is None or not recipient.is_active:
        return None
    if not registry.is_registered(message_key):
        raise ValueError(f"unregistered notification message {message_key!r}")
    key = idempotency_key or uuid.uuid4().hex
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                recipient=recipient,
                kind=kind,
                message_key=message_key,
                params=params or {},
                object_type=_type_of(target) if target is not None else "",
                object_id=str(target.pk) if target is not None else "",
                url=url[:500],
                idempotency_key=key[:200],
            )
    except IntegrityError:
        if Notification.objects.filter(idempotency_key=key[:200]).exists():
            return None  # delivered before
        raise
    entry = registry.message(message_key)
    if entry is not None and entry.email and getattr(recipient, "email", ""):
        transaction.on_commit(partial(notification_email_send, notification_id=notification.pk))
    return notification


def _owned(actor, notification: Notification) -> None:
    # Someone else's notification is not found, not forbidden: do not reveal it exists.
    if actor is None or notification.recipient_id != actor.pk:
        raise NotFound()


def notification_mark_read(*, actor, notification: Notification) -> Notification:
    """Mark the actor's own notification read (read twice keeps the first time)."""
    _owned(actor, notification)
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


def notifications_mark_all_read(*, actor) -> int:
    """Mark every unread notification of the actor read; returns how many."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def notification_email_send(*, notification_id: int) -> bool:
    """E-mail a notification once, in the recipient's language and time zone.

    Claimed by an update before sending, so two workers never send it twice; a failed send
    is logged and gives the claim back (the in-app notification is there either way).
    """
    notification = (
        Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    )
    if notification is None:
        return False
    recipient = notification.recipient
    if not (recipient.is_active and recipient.email):
        return False
    claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return False
    language = getattr(recipient, "language", "") or settings.LANGUAGE_CODE
    zone = getattr(recipient, "timezone", "") or settings.DEFAULT_USER_TIMEZONE
    try:
        with translation.override(language), timezone.override(zone):
            text = notification.text
            link = f"\n{settings.SITE_URL}{notification.url}\n" if notification.url else ""
            send_mail(
                subject=" ".join(text.split())[:150],
                message=f"{text}\n{link}",
                from_email=None,
                recipient_list=[recipient.email],
            )
    except Exception:  # mail server down: the reminder itself is already in the inbox
        logger.exception("could not e-mail notification %s", notification.pk)
        Notification.objects.filter(pk=notification.pk).update(emailed_at=None)
        return False
    return True
