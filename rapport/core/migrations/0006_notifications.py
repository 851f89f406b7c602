"""Notifications (filled in by the notifications work of issue 4)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("core", "0005_tags")]

    operations: list = []
