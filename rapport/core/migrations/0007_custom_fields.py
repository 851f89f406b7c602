"""Custom fields: typed fields administrators add to accounts, contacts and interactions.

Also gives the built-in administrator role the `manage` grant on custom fields in databases
where that role already exists (new databases get it from `rapport.identity.builtin`).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def grant_management(apps, schema_editor):
    Role = apps.get_model("identity", "Role")
    Grant = apps.get_model("identity", "Grant")
    for role in Role.objects.filter(code="administrator", is_builtin=True):
        Grant.objects.get_or_create(
            role=role, object_type="core.customfield", action="manage", defaults={"scope": "all"}
        )


def revoke_management(apps, schema_editor):
    apps.get_model("identity", "Grant").objects.filter(object_type="core.customfield").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_notifications"),
        ("identity", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='CustomField',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='created at')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                ('object_type', models.CharField(max_length=60, verbose_name='record type')),
                ('key', models.SlugField(max_length=40, verbose_name='key')),
                ('label', models.CharField(max_length=100, verbose_name='label')),
                ('label_en', models.CharField(blank=True, max_length=100, verbose_name='English label')),
                ('type', models.CharField(choices=[('text', 'Text'), ('long_text', 'Long text'), ('number', 'Whole number'), ('decimal', 'Decimal number'), ('date', 'Date'), ('datetime', 'Date and time'), ('choice', 'Single choice'), ('multi_choice', 'Multiple choice'), ('boolean', 'Yes / no'), ('user', 'User'), ('url', 'Web address'), ('email', 'E-mail'), ('phone', 'Phone')], max_length=20, verbose_name='type')),
                ('required', models.BooleanField(default=False, verbose_name='required')),
                ('default', models.JSONField(blank=True, null=True, verbose_name='default value')),
                ('choices', models.JSONField(blank=True, default=list, verbose_name='choices')),
                ('validation', models.JSONField(blank=True, default=dict, verbose_name='validation')),
                ('help_text', models.CharField(blank=True, max_length=300, verbose_name='help text')),
                ('help_text_en', models.CharField(blank=True, max_length=300, verbose_name='English help text')),
                ('position', models.PositiveIntegerField(default=100, verbose_name='position')),
                ('indexed', models.BooleanField(default=False, help_text='Keep a database index on this field (for fields people often filter on).', verbose_name='fast filtering')),
                ('is_active', models.BooleanField(default=True, verbose_name='active')),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'custom field',
                'verbose_name_plural': 'custom fields',
                'ordering': ['object_type', 'position', 'id'],
                'constraints': [models.UniqueConstraint(fields=('object_type', 'key'), name='custom_field_key_unique')],
            },
        ),
        migrations.RunPython(grant_management, revoke_management),
    ]
