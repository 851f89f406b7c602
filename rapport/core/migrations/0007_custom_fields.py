"""Custom fields (filled in by the custom-fields work of issue 4)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("core", "0006_notifications")]

    operations: list = []
