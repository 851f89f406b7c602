"""How many documents of a type hold each term (PostgreSQL): what the search reads to tell a
popular fragment from a rare one without counting its matches.

A fragment matching more than `index.POPULAR` records is read in ranking order from a btree,
stopping at the page; a rarer one's matches are read from the text index and sorted. Telling
the two apart by counting (up to `POPULAR + 1` matches through the text index) cost 70–110 ms
a query on the large data set, more than the search itself. The counts per term, taken
nightly with `ts_stat` (and after a rebuild), answer the same question in about a
millisecond, with a margin: only a fragment clearly on one side is planned from them, one
near the line is still counted.

`core_search_termstat` holds (type, scope, term, documents) for the terms of the titles
(scope `t`) and of the whole documents (scope `a`) held by at least `MIN_DOCUMENTS`
documents, plus one row per type and scope with the empty term whose count is the number
of documents when the statistics were taken (its presence says "statistics exist"). Rare
terms are left out: a prefix's estimate misses at most a few of them. Statistics grow
stale between runs; a stale estimate only chooses the slower of the two plans, never a
wrong result.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction

from . import registry, text

TABLE = "core_search_termstat"
TITLE, ALL = "t", "a"
VECTORS = {TITLE: "title_vector", ALL: "search_vector"}
# Terms held by fewer documents are not kept (most of the vocabulary, none of the weight).
MIN_DOCUMENTS = 20
# Terms read per word of a query: enough to settle whether a prefix is popular.
PREFIX_TERMS = 1000
# A fragment is planned from the statistics only when its estimate is this far from the line.
MARGIN = 4


def available() -> bool:
    return connection.vendor == "postgresql"


def refresh(object_types: Iterable[str] | None = None) -> dict[str, int]:
    """Take the statistics of each type again (all registered types by default); returns
    {type: documents}. Each type's statistics are replaced in one transaction."""
    if not available():
        return {}
    counted: dict[str, int] = {}
    for object_type in list(object_types or registry.object_types()):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE object_type = %s", [object_type])
            for scope, vector in VECTORS.items():
                # ts_stat takes the query as text: the type goes in quoted by format(%L).
                cursor.execute(
                    f"INSERT INTO {TABLE} (object_type, scope, term, documents) "
                    "SELECT %s, %s, word, ndoc FROM ts_stat(format("
                    f"'SELECT {vector} FROM core_searchdocument WHERE object_type = %%L', %s)) "
                    "WHERE ndoc >= %s",
                    [object_type, scope, object_type, MIN_DOCUMENTS],
                )
            cursor.execute(
                "SELECT count(*) FROM core_searchdocument WHERE object_type = %s", [object_type]
            )
            (documents,) = cursor.fetchone()
            cursor.execute(
                f"INSERT INTO {TABLE} (object_type, scope, term, documents) "
                "VALUES (%s, %s, '', %s), (%s, %s, '', %s)",
                [object_type, TITLE, documents, object_type, ALL, documents],
            )
            counted[object_type] = documents
    return counted


def _prefix_documents(cursor, object_type: str, scope: str, word: str) -> int:
    """Documents holding a term that starts with `word` (counted once per such term)."""
    cursor.execute(
        f"SELECT coalesce(sum(documents), 0) FROM (SELECT documents FROM {TABLE} "
        "WHERE object_type = %s AND scope = %s AND term >= %s AND term < %s "
        "ORDER BY term LIMIT %s) terms",
        [object_type, scope, word, word + "\U0010ffff", PREFIX_TERMS],
    )
    return int(cursor.fetchone()[0])


def estimate(object_type: str, query: text.Query, scope: str) -> int | None:
    """About how many documents of the type match `query` in `scope` (title or all), or None
    when there are no statistics for the type. Every clause must match: the rarest clause
    bounds the count; a clause matches through any of its alternatives: they add up."""
    if not available() or not query.clauses:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {TABLE} WHERE object_type = %s AND scope = %s AND term = ''",
            [object_type, scope],
        )
        if cursor.fetchone() is None:
            return None
        bound: int | None = None
        for clause in query.clauses:
            total = 0
            for words in clause.alternatives:
                total += min(_prefix_documents(cursor, object_type, scope, w) for w in words)
            bound = total if bound is None else min(bound, total)
    return bound


def popular(estimated: int | None, line: int) -> bool | None:
    """True or False when `estimated` is clearly above or below `line`; None when there is no
    estimate or it is too close to call (the caller counts)."""
    if estimated is None:
        return None
    if estimated > line * MARGIN:
        return True
    if estimated * MARGIN < line:
        return False
    return None


def terms_kept(object_type: str) -> int:
    """How many terms of the type's documents the statistics hold (all scopes)."""
    if not available():
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {TABLE} WHERE object_type = %s AND term <> ''", [object_type]
        )
        return int(cursor.fetchone()[0])
