"""The nightly backup, on celery beat (administrators see and change it there)."""

import json

from django.db import migrations

NAME = "Data: nightly backup"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="1", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.get_or_create(
        name=NAME, defaults={"task": "dataops.backup", "crontab": nightly, "args": json.dumps([])}
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("dataops", "0004_backups"), ("dataops", "0002_scan_schedule")]
    operations = [migrations.RunPython(create, remove)]
