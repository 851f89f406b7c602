from celery import shared_task

from . import events


@shared_task(name="core.relay_outbox")
def relay_outbox() -> int:
    return events.relay_outbox()
