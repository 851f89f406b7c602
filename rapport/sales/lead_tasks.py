"""The daily return of stale leads to their pools (celery beat). The schedule is a row of
django-celery-beat, so administrators see and change it; it is created once after migrate
(`schedule`), not by a migration, so the six parallel sales areas do not race for the next
migration number."""

from __future__ import annotations

import json

from celery import shared_task

RETURN_STALE = "Sales: return leads without follow-up to their pools"


@shared_task(name="sales.leads_return_stale")
def leads_return_stale() -> int:
    """Owned open leads without a follow-up for their pool's `return_after_days` go back
    (daily, 02:30). Idempotent and resumable: each lead is its own transaction."""
    from .services.leads import leads_return_stale as sweep

    return sweep()


def schedule(sender=None, using="default", **kwargs) -> None:
    """post_migrate: the beat entry exists (an administrator's change to it is kept)."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    if PeriodicTask.objects.filter(name=RETURN_STALE).exists():
        return
    crontab, _created = CrontabSchedule.objects.get_or_create(
        minute="30", hour="2", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.get_or_create(
        name=RETURN_STALE,
        defaults={"task": "sales.leads_return_stale", "crontab": crontab, "args": json.dumps([])},
    )
