"""Beat tasks of quotes (thin: call the service)."""

from celery import shared_task

EXPIRY = "Sales: quotes past their validity expire"


@shared_task(name="sales.quotes_expire")
def quotes_expire() -> int:
    """Sent and approved quotes past their validity become expired (daily)."""
    from .services import quotes

    return quotes.quotes_expire()


def schedule(sender=None, **kwargs) -> None:
    """The daily schedule in the database (django-celery-beat), once; an administrator's
    change to it is kept."""
    import json

    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    daily, _created = CrontabSchedule.objects.get_or_create(
        minute="10", hour="0", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.get_or_create(
        name=EXPIRY,
        defaults={"task": "sales.quotes_expire", "crontab": daily, "args": json.dumps([])},
    )
