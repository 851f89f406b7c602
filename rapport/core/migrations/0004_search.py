"""The search index: documents and their blind keys, and the full-text side per database.

SQLite: an FTS5 table over `core_searchdocument.terms` (external content, kept in sync by
triggers) and its fts5vocab vocabulary for the typo fallback. PostgreSQL: a generated
`simple` tsvector column with a GIN index, and pg_trgm over a vocabulary table.
"""

import django.db.models.deletion
from django.db import migrations, models

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE core_search_fts USING fts5(
           terms, content='core_searchdocument', content_rowid='id',
           tokenize='unicode61 remove_diacritics 0')""",
    "CREATE VIRTUAL TABLE core_search_vocab USING fts5vocab(core_search_fts, 'row')",
    """CREATE TRIGGER core_searchdocument_fts_insert AFTER INSERT ON core_searchdocument BEGIN
           INSERT INTO core_search_fts (rowid, terms) VALUES (new.id, new.terms);
       END""",
    """CREATE TRIGGER core_searchdocument_fts_delete AFTER DELETE ON core_searchdocument BEGIN
           INSERT INTO core_search_fts (core_search_fts, rowid, terms)
           VALUES ('delete', old.id, old.terms);
       END""",
    """CREATE TRIGGER core_searchdocument_fts_update AFTER UPDATE ON core_searchdocument BEGIN
           INSERT INTO core_search_fts (core_search_fts, rowid, terms)
           VALUES ('delete', old.id, old.terms);
           INSERT INTO core_search_fts (rowid, terms) VALUES (new.id, new.terms);
       END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS core_searchdocument_fts_update",
    "DROP TRIGGER IF EXISTS core_searchdocument_fts_delete",
    "DROP TRIGGER IF EXISTS core_searchdocument_fts_insert",
    "DROP TABLE IF EXISTS core_search_vocab",
    "DROP TABLE IF EXISTS core_search_fts",
]
POSTGRESQL_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """ALTER TABLE core_searchdocument ADD COLUMN search_vector tsvector
           GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, terms)) STORED""",
    "CREATE INDEX core_searchdocument_vector_gin ON core_searchdocument USING GIN (search_vector)",
    "CREATE TABLE core_search_term (term text PRIMARY KEY)",
    "CREATE INDEX core_search_term_trgm ON core_search_term USING GIN (term gin_trgm_ops)",
]
POSTGRESQL_BACKWARD = [
    "DROP TABLE IF EXISTS core_search_term",
    "DROP INDEX IF EXISTS core_searchdocument_vector_gin",
    "ALTER TABLE core_searchdocument DROP COLUMN IF EXISTS search_vector",
]


def _run(statements: dict[str, list[str]], schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in statements:
        raise RuntimeError(f"the search index supports SQLite and PostgreSQL, not {vendor}")
    for statement in statements[vendor]:
        schema_editor.execute(statement)


def create_full_text(apps, schema_editor):
    _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}, schema_editor)


def drop_full_text(apps, schema_editor):
    _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD}, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("core", "0003_periodic_tasks")]

    operations = [
        migrations.CreateModel(
            name="SearchDocument",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("object_type", models.CharField(max_length=60, verbose_name="object type")),
                ("object_id", models.BigIntegerField(verbose_name="object id")),
                ("title", models.CharField(max_length=300, verbose_name="title")),
                ("subtitle", models.CharField(blank=True, max_length=300, verbose_name="subtitle")),
                ("terms", models.TextField(blank=True, verbose_name="terms")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
            ],
            options={
                "verbose_name": "search document",
                "verbose_name_plural": "search documents",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("object_type", "object_id"), name="core_searchdocument_object_unique"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="SearchKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=64)),
                (
                    "document",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="keys",
                        to="core.searchdocument",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["key", "document"], name="core_searchkey_key_idx")],
            },
        ),
        migrations.RunPython(create_full_text, drop_full_text),
    ]
