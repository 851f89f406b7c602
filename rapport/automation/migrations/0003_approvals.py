"""Approval processes, their steps, requests, per-approver tasks and delegations; and the beat
schedule of the approval sweep (reminders and escalations), kept in the database like the
other automation sweeps."""

import json

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


SWEEP = "Automation: approval reminders"


def schedule_sweep(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=SWEEP,
        defaults={"task": "automation.approvals_sweep", "interval": interval, "args": json.dumps([])},
    )


def unschedule_sweep(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SWEEP).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('automation', '0002_trigger_schedules'),
        ('identity', '0003_saved_view_params'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApprovalProcess',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='created at')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                ('name', models.CharField(max_length=200, verbose_name='name')),
                ('name_en', models.CharField(blank=True, max_length=200, verbose_name='English name')),
                ('object_type', models.CharField(max_length=60, verbose_name='record type')),
                ('condition', models.JSONField(blank=True, default=dict, verbose_name='condition')),
                ('description', models.TextField(blank=True, verbose_name='description')),
                ('is_active', models.BooleanField(default=True, verbose_name='active')),
                ('position', models.PositiveIntegerField(default=0, verbose_name='position')),
                ('version', models.PositiveIntegerField(default=1, verbose_name='version')),
                ('lock_record', models.BooleanField(default=True, verbose_name='lock the record while pending')),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
            ],
            options={
                'verbose_name': 'approval process',
                'verbose_name_plural': 'approval processes',
                'ordering': ['object_type', 'position', 'id'],
            },
        ),
        migrations.CreateModel(
            name='ApprovalRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('process_version', models.PositiveIntegerField(verbose_name='process version')),
                ('steps', models.JSONField(blank=True, default=list, verbose_name='steps')),
                ('object_type', models.CharField(max_length=60, verbose_name='record type')),
                ('object_id', models.BigIntegerField(verbose_name='record')),
                ('title', models.CharField(blank=True, max_length=300, verbose_name='title')),
                ('state', models.CharField(choices=[('pending', 'Pending'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('cancelled', 'Cancelled')], default='pending', max_length=10, verbose_name='state')),
                ('current_number', models.PositiveIntegerField(blank=True, null=True, verbose_name='current step')),
                ('comment', models.TextField(blank=True, verbose_name='comment')),
                ('submitted_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='submitted at')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                ('payload', models.JSONField(blank=True, default=dict, verbose_name='payload')),
                ('lock_record', models.BooleanField(default=True, verbose_name='locks the record')),
                ('process', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='requests', to='automation.approvalprocess')),
                ('submitted_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='submitted by')),
            ],
            options={
                'verbose_name': 'approval request',
                'verbose_name_plural': 'approval requests',
                'ordering': ['-submitted_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='ApprovalStep',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField(default=1, verbose_name='step number')),
                ('name', models.CharField(max_length=200, verbose_name='name')),
                ('name_en', models.CharField(blank=True, max_length=200, verbose_name='English name')),
                ('approver_kind', models.CharField(choices=[('user', 'A named user'), ('role', 'A role'), ('manager', "The submitter's manager"), ('team', 'A team')], default='user', max_length=10, verbose_name='approved by')),
                ('manager_levels', models.PositiveSmallIntegerField(default=1, verbose_name='levels up')),
                ('mode', models.CharField(choices=[('any', 'Any one of them'), ('all', 'All of them')], default='any', max_length=5, verbose_name='who must approve')),
                ('remind_after_hours', models.PositiveIntegerField(blank=True, null=True, verbose_name='remind after (hours)')),
                ('escalate_after_hours', models.PositiveIntegerField(blank=True, null=True, verbose_name='escalate after (hours)')),
                ('escalate_to', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='escalate to')),
                ('process', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='steps', to='automation.approvalprocess')),
                ('role', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='identity.role', verbose_name='role')),
                ('team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='identity.team', verbose_name='team')),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='user')),
            ],
            options={
                'verbose_name': 'approval step',
                'verbose_name_plural': 'approval steps',
                'ordering': ['process', 'number', 'id'],
            },
        ),
        migrations.CreateModel(
            name='ApprovalTask',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('step_index', models.PositiveSmallIntegerField(default=0, verbose_name='step')),
                ('step_number', models.PositiveIntegerField(verbose_name='step number')),
                ('step_name', models.CharField(blank=True, max_length=200, verbose_name='step')),
                ('state', models.CharField(choices=[('pending', 'Pending'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('skipped', 'Skipped'), ('cancelled', 'Cancelled')], default='pending', max_length=10, verbose_name='state')),
                ('comment', models.TextField(blank=True, verbose_name='comment')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('due_at', models.DateTimeField(blank=True, null=True, verbose_name='due')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                ('remind_at', models.DateTimeField(blank=True, null=True, verbose_name='remind at')),
                ('reminded_at', models.DateTimeField(blank=True, null=True, verbose_name='reminded at')),
                ('escalate_at', models.DateTimeField(blank=True, null=True, verbose_name='escalate at')),
                ('escalated_at', models.DateTimeField(blank=True, null=True, verbose_name='escalated at')),
                ('approver', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='approval_tasks', to=settings.AUTH_USER_MODEL, verbose_name='approver')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='decided by')),
                ('delegated_from', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='delegated by')),
                ('escalated_from', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='escalations', to='automation.approvaltask', verbose_name='escalated from')),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tasks', to='automation.approvalrequest')),
            ],
            options={
                'verbose_name': 'approval task',
                'verbose_name_plural': 'approval tasks',
                'ordering': ['request', 'step_number', 'id'],
            },
        ),
        migrations.CreateModel(
            name='ApprovalDelegation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('starts_on', models.DateField(verbose_name='from')),
                ('ends_on', models.DateField(verbose_name='until')),
                ('reason', models.CharField(blank=True, max_length=300, verbose_name='reason')),
                ('is_active', models.BooleanField(default=True, verbose_name='active')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('delegate', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='delegate')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='approval_delegations', to=settings.AUTH_USER_MODEL, verbose_name='away')),
            ],
            options={
                'verbose_name': 'approval delegation',
                'verbose_name_plural': 'approval delegations',
                'ordering': ['-starts_on', '-id'],
                'indexes': [models.Index(fields=['user', 'is_active', 'ends_on'], name='automation__user_id_4270f6_idx')],
            },
        ),
        migrations.AddIndex(
            model_name='approvalprocess',
            index=models.Index(fields=['object_type', 'is_active', 'position'], name='automation__object__763cf1_idx'),
        ),
        migrations.AddIndex(
            model_name='approvalrequest',
            index=models.Index(fields=['object_type', 'object_id'], name='approval_request_record'),
        ),
        migrations.AddIndex(
            model_name='approvalrequest',
            index=models.Index(fields=['state', 'submitted_at'], name='approval_request_state'),
        ),
        migrations.AddConstraint(
            model_name='approvalrequest',
            constraint=models.UniqueConstraint(condition=models.Q(('state', 'pending')), fields=('object_type', 'object_id'), name='approval_one_pending_per_record'),
        ),
        migrations.AddIndex(
            model_name='approvaltask',
            index=models.Index(fields=['approver', 'state'], name='approval_task_inbox'),
        ),
        migrations.AddIndex(
            model_name='approvaltask',
            index=models.Index(fields=['state', 'remind_at'], name='approval_task_remind'),
        ),
        migrations.AddIndex(
            model_name='approvaltask',
            index=models.Index(fields=['state', 'escalate_at'], name='approval_task_escalate'),
        ),
        migrations.RunPython(schedule_sweep, unschedule_sweep),
    ]
