"""The reader's side: the bell's count and the inbox."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Notification

# The bell shows "99+" past this: counting stops there, so a neglected inbox of thousands
# costs what one of a hundred costs.
UNREAD_CAP = 99


def unread_count(user) -> int:
    """Unread notifications of `user`, counted up to UNREAD_CAP + 1 (one indexed query)."""
    if user is None or not user.is_authenticated:
        return 0
    return (
        Notification.objects.filter(recipient=user, read_at__isnull=True)
        .order_by()[: UNREAD_CAP + 1]
        .count()
    )


def inbox(user, *, unread: bool = False) -> QuerySet[Notification]:
    """The user's own notifications (only theirs), newest first."""
    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    notifications = Notification.objects.filter(recipient=user)
    if unread:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-created_at", "-id")
