from django.db import migrations

DEFAULT_RULES = [
    ("mass_view", 50, 10),
    ("failed_logins", 5, 15),
    ("off_hours", 1, 60),
    ("bulk_export", 1000, 60),
]


def create_rules(apps, schema_editor):
    BehaviourRule = apps.get_model("audit", "BehaviourRule")
    ChainHead = apps.get_model("audit", "ChainHead")
    for code, threshold, window in DEFAULT_RULES:
        BehaviourRule.objects.get_or_create(code=code, defaults={"threshold": threshold, "window_minutes": window})
    ChainHead.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_append_only_triggers")]
    operations = [migrations.RunPython(create_rules, migrations.RunPython.noop)]
