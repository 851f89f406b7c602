"""Search on PostgreSQL at scale: the record type inside the full-text indexes, a vector of
the title's terms, and an index that walks a type's documents shortest title first.

- `btree_gin` lets one GIN index hold `(object_type, search_vector)`: a type's matches come
  straight from the index, instead of AND-ing the text matches of every type with a bitmap
  of all of that type's documents (a million entries for accounts at the large size).
- `title_vector` holds the title's terms alone (those before `index.TITLE_END`), with its own
  GIN index and statistics: records whose title matches are found (and estimated by the
  planner) without reading the others. A weighted single vector cannot do that: GIN does not
  store weights, so every match would be read back to check them, and the planner's estimate
  ignores them.
- `(object_type, length(title), object_id DESC)` lets the best title matches of a popular
  fragment be read in ranking order, stopping at the page, instead of ranking every match.

Documents written before this keep working (all their terms count as title terms) until
`rapport search rebuild` rewrites them. SQLite keeps its FTS5 table: nothing changes there.
"""

from django.db import migrations

POSTGRESQL_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    "DROP INDEX IF EXISTS core_searchdocument_vector_gin",
    """CREATE INDEX core_searchdocument_type_vector_gin ON core_searchdocument
           USING GIN (object_type, search_vector)""",
    """ALTER TABLE core_searchdocument ADD COLUMN title_vector tsvector GENERATED ALWAYS AS (
           to_tsvector('simple'::regconfig, split_part(terms, ' | ', 1))) STORED""",
    """CREATE INDEX core_searchdocument_type_title_gin ON core_searchdocument
           USING GIN (object_type, title_vector)""",
    """CREATE INDEX core_searchdocument_type_title_length ON core_searchdocument
           (object_type, length(title), object_id DESC)""",
]
POSTGRESQL_BACKWARD = [
    "DROP INDEX IF EXISTS core_searchdocument_type_title_length",
    "DROP INDEX IF EXISTS core_searchdocument_type_title_gin",
    "ALTER TABLE core_searchdocument DROP COLUMN title_vector",
    "DROP INDEX IF EXISTS core_searchdocument_type_vector_gin",
    "CREATE INDEX core_searchdocument_vector_gin ON core_searchdocument USING GIN (search_vector)",
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
    dependencies = [("core", "0007_custom_fields")]
    operations = [migrations.RunPython(forward, backward)]
