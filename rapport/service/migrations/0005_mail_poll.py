import json

from django.db import migrations

POLL = "Service: fetch e-mail from the service mailbox (IMAP)"


def schedule_poll(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=POLL,
        defaults={"task": "service.mail_poll", "interval": interval, "args": json.dumps([])},
    )


def unschedule_poll(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=POLL).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("service", "0004_ticket_email"),
    ]

    operations = [migrations.RunPython(schedule_poll, unschedule_poll)]
