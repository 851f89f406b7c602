"""Beat task of contracts (thin: call the service): renewal reminders and expiry, daily."""

from celery import shared_task

CONTRACTS_DAILY = "Sales: contract renewal reminders and expiry"


@shared_task(name="sales.contracts_daily")
def contracts_daily() -> dict:
    """Remind owners of contracts nearing their end (once) and expire those past it."""
    from .services import contracts

    return contracts.contracts_daily()


def schedule(sender=None, **kwargs) -> None:
    """The daily schedule in the database (django-celery-beat), once; an administrator's
    change to it is kept."""
    import json

    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    daily, _created = CrontabSchedule.objects.get_or_create(
        minute="20", hour="0", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.get_or_create(
        name=CONTRACTS_DAILY,
        defaults={"task": "sales.contracts_daily", "crontab": daily, "args": json.dumps([])},
    )
