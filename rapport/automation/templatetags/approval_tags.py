"""Template helpers of the approval pages: the pending count of the "My approvals" menu
entry, and durations written for people ("2 days 3 hours")."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import ngettext

from rapport.automation.models import (
    ApprovalDelegation,
    ApprovalState,
    ApprovalTask,
    ApprovalTaskState,
)

register = template.Library()


@register.simple_tag
def pending_approvals(user) -> int:
    """How many approval tasks wait for `user`: theirs, and those of whoever delegated to
    them today (as `approval_selectors.pending_tasks_for`), counted in one query: the menu
    shows on every page."""
    if user is None or not user.is_authenticated:
        return 0
    today = timezone.localdate()
    delegators = ApprovalDelegation.objects.filter(
        delegate=user, is_active=True, starts_on__lte=today, ends_on__gte=today
    ).values("user_id")
    return ApprovalTask.objects.filter(
        Q(approver=user) | Q(approver__in=delegators),
        state=ApprovalTaskState.PENDING,
        request__state=ApprovalState.PENDING,
    ).count()


@register.filter
def duration_text(value: timedelta | None) -> str:
    """The two largest units of a duration: "3 days 4 hours", "2 hours 5 minutes", "40 seconds"."""
    if value is None:
        return ""
    seconds = max(0, int(value.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        ngettext("%(n)d day", "%(n)d days", days) % {"n": days} if days else "",
        ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours} if hours else "",
        ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes} if minutes else "",
        ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds} if seconds else "",
    ]
    shown = [part for part in parts if part][:2]
    return " ".join(shown) if shown else ngettext("%(n)d second", "%(n)d seconds", 0) % {"n": 0}
