"""The text indexes of the search documents on PostgreSQL: one pair per record type.

Each searchable type has its own partial GIN indexes, on `title_vector` and on
`search_vector`, `WHERE object_type = '<type>'`. A search always names its type, so it reads
only that type's postings. The single index over `(object_type, …)` that came before
(migration 0008) made every search of a type AND the text's postings with the type's own
posting list: three million entries for contacts at the large size, 27–41 ms of a 100 ms
budget for a company fragment that no contact's name holds.

The indexes of every registered type are made after each `migrate` (`ensure`, connected to
`post_migrate`), so a domain that registers a new type gets them without a migration of its
own; `CREATE INDEX IF NOT EXISTS` makes this a no-op once they exist. Until a type has them
(a type registered by code not yet migrated) its searches still work, reading the table.
SQLite keeps its single FTS5 table: nothing here applies to it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from django.db import connection

from . import registry

TABLE = "core_searchdocument"
VECTORS = ("title_vector", "search_vector")


def index_name(vector: str, object_type: str) -> str:
    """A name within PostgreSQL's 63 characters, readable, unique per (vector, type)."""
    readable = re.sub(r"[^a-z0-9]+", "_", object_type.lower()).strip("_")[:30]
    digest = hashlib.sha256(f"{vector}:{object_type}".encode()).hexdigest()[:8]
    return f"core_searchdoc_{vector.split('_')[0]}_{readable}_{digest}"


def statements(object_type: str) -> list[str]:
    """The CREATE INDEX statements of one type's text indexes."""
    quoted = "'" + object_type.replace("'", "''") + "'"
    return [
        f"CREATE INDEX IF NOT EXISTS {index_name(vector, object_type)} ON {TABLE} "
        f"USING GIN ({vector}) WHERE object_type = {quoted}"
        for vector in VECTORS
    ]


def missing(object_types: Iterable[str] | None = None) -> list[str]:
    """Names of the indexes the given (default: all registered) types still lack."""
    if connection.vendor != "postgresql":
        return []
    wanted = [
        index_name(vector, object_type)
        for object_type in (object_types or registry.object_types())
        for vector in VECTORS
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname = ANY(%s)",
            [TABLE, wanted],
        )
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in wanted if name not in present]


def ensure(object_types: Iterable[str] | None = None, *, using: str = "default") -> list[str]:
    """Create the missing text indexes of the given (default: all registered) types; returns
    the names created. Without effect on SQLite."""
    from django.db import connections

    target = connections[using]
    if target.vendor != "postgresql":
        return []
    created = []
    for object_type in list(object_types or registry.object_types()):
        for statement, name in zip(
            statements(object_type),
            (index_name(vector, object_type) for vector in VECTORS),
            strict=True,
        ):
            with target.cursor() as cursor:
                cursor.execute("SELECT to_regclass(%s)", [name])
                if cursor.fetchone()[0] is not None:
                    continue
                cursor.execute(statement)
            created.append(name)
    return created


def after_migrate(sender, using: str = "default", **kwargs) -> None:
    """`post_migrate` receiver: the text indexes of every registered type."""
    ensure(using=using)
