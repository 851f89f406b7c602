"""Data-quality rules and scores, and their nightly computation on celery beat
(administrators see and change the schedule there)."""

import json

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

NAME = "Data: quality scores"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # After the duplicate scan (02:30): the duplicates component reads its pairs.
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="3", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={"task": "dataops.quality_compute", "crontab": nightly, "args": json.dumps([])},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dataops", "0005_backup_schedule"),
        ("identity", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="QualityRule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("object_type", models.CharField(max_length=40, unique=True, verbose_name="record type")),
                ("fields", models.JSONField(default=dict, verbose_name="fields")),
                ("freshness_days", models.PositiveIntegerField(default=180, verbose_name="fresh for (days)")),
                ("weights", models.JSONField(default=dict, verbose_name="component weights")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "data-quality rule",
                "verbose_name_plural": "data-quality rules",
            },
        ),
        migrations.CreateModel(
            name="QualityScore",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("object_type", models.CharField(max_length=40, verbose_name="record type")),
                ("record_id", models.PositiveBigIntegerField()),
                ("total", models.PositiveSmallIntegerField(verbose_name="score")),
                ("completeness", models.PositiveSmallIntegerField(verbose_name="completeness")),
                ("validity", models.PositiveSmallIntegerField(verbose_name="validity")),
                ("freshness", models.PositiveSmallIntegerField(verbose_name="freshness")),
                ("duplicates", models.PositiveSmallIntegerField(verbose_name="duplicates")),
                ("reasons", models.JSONField(blank=True, default=list)),
                ("computed_at", models.DateTimeField(verbose_name="computed at")),
                (
                    "department",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="identity.department",
                    ),
                ),
                (
                    "owner",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "data-quality score",
                "verbose_name_plural": "data-quality scores",
                "indexes": [
                    models.Index(fields=["object_type", "total", "record_id"], name="quality_worst_idx"),
                    models.Index(fields=["object_type", "owner", "total"], name="quality_owner_idx"),
                    models.Index(fields=["object_type", "department", "total"], name="quality_department_idx"),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("object_type", "record_id"), name="quality_score_unique")
                ],
            },
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
