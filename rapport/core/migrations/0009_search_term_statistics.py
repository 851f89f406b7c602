"""Search term statistics (PostgreSQL): documents per term and type, taken nightly, so the
search plans a popular fragment without counting its matches (`search.statistics`)."""

import json

from django.db import migrations

SCHEDULE = "Search: term statistics"
POSTGRESQL_FORWARD = [
    """CREATE TABLE core_search_termstat (
           object_type varchar(60) NOT NULL,
           scope char(1) NOT NULL,
           term text COLLATE "C" NOT NULL,
           documents integer NOT NULL,
           PRIMARY KEY (object_type, scope, term))""",
]
POSTGRESQL_BACKWARD = ["DROP TABLE IF EXISTS core_search_termstat"]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRESQL_FORWARD:
            schema_editor.execute(statement)
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="10", hour="4", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.get_or_create(
        name=SCHEDULE,
        defaults={"task": "core.search_statistics", "crontab": nightly, "args": json.dumps([])},
    )


def backward(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SCHEDULE).delete()
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRESQL_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_search_title_vector"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forward, backward)]
