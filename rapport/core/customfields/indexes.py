"""An expression index per custom field marked "indexed", so filters on it stay fast.

PostgreSQL: a b-tree on `(custom -> 'key')` (what the ORM's `custom__key` comparisons
compile to; jsonb compares numbers as numbers and ISO dates as text), or a GIN index for
multiple-choice fields (`@>` containment). SQLite: an index on
`json_extract("custom", '$."key"')`, the expression the filter language's comparisons on
custom fields are written as on SQLite (`filters.JsonValue`: =, !=, <, >, in, is empty); the
ORM's own JSON lookups there compile to a CASE over json_type that no index matches.
tests/core/test_custom_field_index_plan.py asks each database's query plan.
"""

from __future__ import annotations

import hashlib

from django.db import connection

from . import registry
from .models import CustomField, FieldType


def index_name(field: CustomField) -> str:
    digest = hashlib.sha1(f"{field.object_type}.{field.key}".encode()).hexdigest()[:10]  # noqa: S324 (a name, not security)
    return f"cf_{field.key[:30]}_{digest}"


def _table(field: CustomField) -> str | None:
    model = registry.model_for(field.object_type)
    return model._meta.db_table if model is not None else None


def ensure_index(field: CustomField) -> None:
    table = _table(field)
    if table is None:
        return
    quote = connection.ops.quote_name
    name = quote(index_name(field))
    key = field.key.replace("'", "")  # keys are slugs; belt and braces
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            method = "USING GIN " if field.type == FieldType.MULTI_CHOICE else ""
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON {quote(table)} {method}((\"custom\" -> '{key}'))"
            )
        else:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON {quote(table)} "
                f'(json_extract("custom", \'$."{key}"\'))'
            )


def drop_index(field: CustomField) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(index_name(field))}")
