"""Data-subject requests and retention policies; the retention policies to start from
(file clean-ups on, the rest off until an administrator decides), the nightly retention
run and the daily deadline reminders on celery beat (administrators see and change them)."""

import json

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import rapport.core.crypto

RETENTION = "Data: retention"
REMINDERS = "Data: data-subject request deadlines"
POLICIES = [
    # data class, action, days, enabled
    ("interactions", "redact", 1825, False),
    ("inactive_contacts", "anonymize", 1095, False),
    ("withdrawn_consents", "strip", 730, False),
    ("export_files", "delete", 30, True),
    ("import_files", "delete", 90, False),
    ("privacy_bundles", "delete", 30, True),
    ("subject_requests", "anonymize", 1095, False),
]


def create(apps, schema_editor):
    RetentionPolicy = apps.get_model("dataops", "RetentionPolicy")
    for data_class, action, days, enabled in POLICIES:
        RetentionPolicy.objects.get_or_create(
            data_class=data_class, defaults={"action": action, "days": days, "enabled": enabled}
        )
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="3", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.get_or_create(
        name=RETENTION,
        defaults={"task": "dataops.retention", "crontab": nightly, "args": json.dumps([])},
    )
    morning, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="8", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.get_or_create(
        name=REMINDERS,
        defaults={
            "task": "dataops.subject_request_reminders",
            "crontab": morning,
            "args": json.dumps([]),
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[RETENTION, REMINDERS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_search_title_vector"),
        ("customers", "0012_anonymized"),
        ("dataops", "0006_quality"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RetentionPolicy",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "data_class",
                    models.CharField(
                        choices=[
                            ("interactions", "Interactions and tasks"),
                            ("inactive_contacts", "Inactive contacts"),
                            ("withdrawn_consents", "Withdrawn consents"),
                            ("export_files", "Export files"),
                            ("import_files", "Import files"),
                            ("privacy_bundles", "Data-subject access bundles"),
                            ("subject_requests", "Closed data-subject requests"),
                        ],
                        max_length=30,
                        unique=True,
                        verbose_name="data class",
                    ),
                ),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("redact", "Clear the text, keep the record"),
                            ("delete", "Delete"),
                            ("anonymize", "Anonymize"),
                            ("strip", "Clear the evidence text"),
                        ],
                        max_length=12,
                        verbose_name="then",
                    ),
                ),
                ("days", models.PositiveIntegerField(verbose_name="kept for (days)")),
                ("enabled", models.BooleanField(default=False, verbose_name="enabled")),
                (
                    "last_run_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="last run"),
                ),
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
                "verbose_name": "retention policy",
                "verbose_name_plural": "retention policies",
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="SubjectRequest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("access", "Access (copy of the data)"),
                            ("erasure", "Erasure (anonymize)"),
                            ("rectification", "Rectification"),
                            ("restriction", "Restriction of processing"),
                        ],
                        max_length=20,
                        verbose_name="kind",
                    ),
                ),
                (
                    "channel",
                    models.CharField(
                        choices=[
                            ("email", "E-mail"),
                            ("web_form", "Web form"),
                            ("letter", "Letter"),
                            ("phone", "Phone call"),
                            ("in_person", "In person"),
                            ("other", "Other"),
                        ],
                        default="email",
                        max_length=20,
                        verbose_name="received by",
                    ),
                ),
                (
                    "subject_name",
                    rapport.core.crypto.EncryptedTextField(
                        blank=True, default="", verbose_name="name"
                    ),
                ),
                (
                    "subject_phone",
                    rapport.core.crypto.EncryptedTextField(
                        blank=True, default="", verbose_name="phone"
                    ),
                ),
                (
                    "subject_email",
                    rapport.core.crypto.EncryptedTextField(
                        blank=True, default="", verbose_name="e-mail"
                    ),
                ),
                (
                    "subject_id_number",
                    rapport.core.crypto.EncryptedTextField(
                        blank=True, default="", verbose_name="ID number"
                    ),
                ),
                (
                    "details",
                    rapport.core.crypto.EncryptedTextField(
                        blank=True, default="", verbose_name="request details"
                    ),
                ),
                ("received_at", models.DateTimeField(verbose_name="received at")),
                ("due_at", models.DateTimeField(verbose_name="deadline")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("received", "Received"),
                            ("in_progress", "In progress"),
                            ("completed", "Completed"),
                            ("rejected", "Rejected"),
                        ],
                        default="received",
                        max_length=20,
                        verbose_name="status",
                    ),
                ),
                ("outcome_note", models.TextField(blank=True, verbose_name="outcome")),
                (
                    "erased_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="anonymized at"),
                ),
                (
                    "closed_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="closed at"),
                ),
                ("identification_removed_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                (
                    "assignee",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="assignee",
                    ),
                ),
                (
                    "bundle_job",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="core.job",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "data-subject request",
                "verbose_name_plural": "data-subject requests",
                "ordering": ["-id"],
            },
        ),
        migrations.CreateModel(
            name="SubjectMatch",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("reasons", models.JSONField(default=list)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("suggested", "To confirm"),
                            ("confirmed", "Confirmed"),
                            ("rejected", "Not the person"),
                        ],
                        default="suggested",
                        max_length=10,
                        verbose_name="state",
                    ),
                ),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                ("anonymized_at", models.DateTimeField(blank=True, null=True)),
                ("found_at", models.DateTimeField(auto_now_add=True)),
                (
                    "contact",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="customers.contact",
                    ),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "request",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="matches",
                        to="dataops.subjectrequest",
                    ),
                ),
            ],
            options={
                "verbose_name": "matched contact",
                "verbose_name_plural": "matched contacts",
                "ordering": ["id"],
            },
        ),
        migrations.AddIndex(
            model_name="subjectrequest",
            index=models.Index(fields=["status", "due_at"], name="subject_request_due_idx"),
        ),
        migrations.AddIndex(
            model_name="subjectrequest",
            index=models.Index(fields=["assignee", "status"], name="subject_request_assignee_idx"),
        ),
        migrations.AddConstraint(
            model_name="subjectmatch",
            constraint=models.UniqueConstraint(
                fields=("request", "contact"), name="subject_match_unique"
            ),
        ),
        migrations.RunPython(create, remove),
    ]
