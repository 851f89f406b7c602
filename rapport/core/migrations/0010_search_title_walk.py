"""Search on PostgreSQL: the index that walks a type's documents shortest title first also
carries the title and its terms, so the walk reads that index alone (an index-only scan)
instead of fetching every document it passes to test its title — a popular fragment of a
company name walked ~5,000 documents, one table page each, at 1M accounts."""

from django.db import migrations

POSTGRESQL_FORWARD = [
    """CREATE INDEX IF NOT EXISTS core_searchdocument_type_title_walk ON core_searchdocument
           (object_type, length(title), object_id DESC) INCLUDE (title, title_vector)""",
    "DROP INDEX IF EXISTS core_searchdocument_type_title_length",
]
POSTGRESQL_BACKWARD = [
    """CREATE INDEX core_searchdocument_type_title_length ON core_searchdocument
           (object_type, length(title), object_id DESC)""",
    "DROP INDEX IF EXISTS core_searchdocument_type_title_walk",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRESQL_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRESQL_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("core", "0009_search_term_statistics")]
    operations = [migrations.RunPython(forward, backward)]
