"""Search on PostgreSQL: the text indexes become one pair per record type (partial GIN on
`title_vector` and `search_vector`), made after `migrate` by `search.indexes.ensure` for every
registered type; the indexes over `(object_type, vector)` of migration 0008 go. A search of
one type no longer intersects the text's postings with the type's own posting list (millions
of entries for contacts at scale)."""

from django.db import migrations

POSTGRESQL_FORWARD = [
    "DROP INDEX IF EXISTS core_searchdocument_type_vector_gin",
    "DROP INDEX IF EXISTS core_searchdocument_type_title_gin",
]
POSTGRESQL_BACKWARD = [
    """CREATE INDEX IF NOT EXISTS core_searchdocument_type_vector_gin ON core_searchdocument
           USING GIN (object_type, search_vector)""",
    """CREATE INDEX IF NOT EXISTS core_searchdocument_type_title_gin ON core_searchdocument
           USING GIN (object_type, title_vector)""",
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
    dependencies = [("core", "0010_search_title_walk")]
    operations = [migrations.RunPython(forward, backward)]
