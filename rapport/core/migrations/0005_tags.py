"""Tags: the tag tree and the links between tags and records of any taggable model.

Also gives the built-in administrator role the `manage` grant on tags in databases where
that role already exists (new databases get it when the built-in roles are created after
migrating, from `rapport.identity.builtin`).
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def grant_tag_management(apps, schema_editor):
    Role = apps.get_model("identity", "Role")
    Grant = apps.get_model("identity", "Grant")
    for role in Role.objects.filter(code="administrator", is_builtin=True):
        Grant.objects.get_or_create(
            role=role, object_type="core.tag", action="manage", defaults={"scope": "all"}
        )


def revoke_tag_management(apps, schema_editor):
    Grant = apps.get_model("identity", "Grant")
    Grant.objects.filter(object_type="core.tag").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0004_search"),
        ("identity", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Tag",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="created at")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                ("name", models.CharField(max_length=60, verbose_name="name")),
                ("name_en", models.CharField(blank=True, max_length=60, verbose_name="English name")),
                (
                    "colour",
                    models.CharField(
                        choices=[
                            ("blue", "Blue"),
                            ("azure", "Azure"),
                            ("indigo", "Indigo"),
                            ("purple", "Purple"),
                            ("pink", "Pink"),
                            ("red", "Red"),
                            ("orange", "Orange"),
                            ("yellow", "Yellow"),
                            ("lime", "Lime"),
                            ("green", "Green"),
                            ("teal", "Teal"),
                            ("cyan", "Cyan"),
                        ],
                        default="blue",
                        max_length=20,
                        verbose_name="colour",
                    ),
                ),
                ("path", models.CharField(db_index=True, default="/", editable=False, max_length=255)),
                ("is_active", models.BooleanField(default=True, verbose_name="active")),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
                (
                    "parent",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="children",
                        to="core.tag",
                        verbose_name="parent tag",
                    ),
                ),
            ],
            options={"verbose_name": "tag", "verbose_name_plural": "tags", "ordering": ["path"]},
        ),
        migrations.CreateModel(
            name="TaggedRecord",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("object_id", models.PositiveBigIntegerField()),
                ("tagged_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "content_type",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="contenttypes.contenttype",
                    ),
                ),
                (
                    "tag",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="links", to="core.tag"
                    ),
                ),
                (
                    "tagged_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"verbose_name": "tagged record", "verbose_name_plural": "tagged records"},
        ),
        migrations.AddConstraint(
            model_name="tag",
            constraint=models.UniqueConstraint(
                condition=models.Q(("parent__isnull", False)),
                fields=("parent", "name"),
                name="core_tag_sibling_name_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="tag",
            constraint=models.UniqueConstraint(
                condition=models.Q(("parent__isnull", True)),
                fields=("name",),
                name="core_tag_root_name_unique",
            ),
        ),
        migrations.AddIndex(
            model_name="taggedrecord",
            index=models.Index(fields=["tag", "content_type", "object_id"], name="tagged_by_tag_idx"),
        ),
        migrations.AddConstraint(
            model_name="taggedrecord",
            constraint=models.UniqueConstraint(
                fields=("content_type", "object_id", "tag"), name="core_tagged_record_unique"
            ),
        ),
        migrations.RunPython(grant_tag_management, revoke_tag_management),
    ]
