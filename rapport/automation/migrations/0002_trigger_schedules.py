"""Beat schedules of the time-based triggers: the date sweep (date fields reached) and the
schedule tick (cron-like rules). Kept in the database so administrators can see and change
them, like the retry sweep."""

import json

from django.db import migrations

SCHEDULES = [
    # (name, task, every, period)
    ("Automation: date triggers", "automation.date_sweep", 1, "hours"),
    ("Automation: scheduled rules", "automation.schedule_tick", 1, "minutes"),
]


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every, period in SCHEDULES:
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "interval": interval, "args": json.dumps([])}
        )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("automation", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
