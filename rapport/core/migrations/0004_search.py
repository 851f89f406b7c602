"""The search index (filled in by the search work of issue 4)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("core", "0003_periodic_tasks")]

    operations: list = []
