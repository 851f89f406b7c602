from celery import shared_task

from . import services


@shared_task(name="customers.send_task_reminders")
def send_task_reminders() -> int:
    return services.task_reminders_send()
