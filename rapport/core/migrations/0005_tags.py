"""Tags (filled in by the tags work of issue 4)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("core", "0004_search")]

    operations: list = []
