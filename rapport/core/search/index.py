"""Storage and lookup of the search index, on SQLite (FTS5) and PostgreSQL (tsvector + GIN).

Writes upsert one `SearchDocument` per record (the full-text side follows: triggers on
SQLite, a generated column on PostgreSQL) and replace its blind keys. Reads return the ids of
matching records of one type, either as SQL to put inside a queryset's WHERE (lists) or
ranked (bm25 / ts_rank) and joined in SQL with a restricted queryset (global search), so a
user who may see few records still gets all of their matches.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from ..blind import blind_index
from . import registry, statistics, text
from .models import SearchDocument, SearchKey

logger = logging.getLogger(__name__)

DOCUMENT_TABLE = SearchDocument._meta.db_table
KEY_TABLE = SearchKey._meta.db_table
FTS_TABLE = "core_search_fts"
VOCAB_TABLE = "core_search_vocab"
TERM_TABLE = "core_search_term"
FUZZY_CANDIDATES = 5000
FUZZY_PER_WORD = 5
UPSERT = (
    "ON CONFLICT (object_type, object_id) DO UPDATE SET title = excluded.title, "
    "subtitle = excluded.subtitle, terms = excluded.terms, updated_at = excluded.updated_at"
)


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


# --- documents ------------------------------------------------------------------------------


def blind_keys(document: registry.Document) -> list[str]:
    keys = []
    for phone in document.phones:
        normalized = text.normalize_phone(phone)
        if normalized:
            keys.append(blind_index(normalized, purpose="phone"))
    for email in document.emails:
        normalized = text.normalize_email(email)
        if normalized:
            keys.append(blind_index(normalized, purpose="email"))
    return list(dict.fromkeys(keys))


# Between a document's title terms and its other terms in `SearchDocument.terms`: not a
# character any term holds (terms are letters, digits and CJK), a separator to FTS5, and where
# PostgreSQL's generated `title_vector` splits the title's terms off (migration 0008).
TITLE_END = " | "


def document_terms(document: registry.Document) -> tuple[list[str], list[str]]:
    """The terms of the title, and the other texts' terms not already among them."""
    title_terms = list(text.terms_of(document.title or ""))
    seen = set(title_terms)
    others: list[str] = []
    for value in document.texts:
        for term in text.terms_of(value or ""):
            if term not in seen:
                seen.add(term)
                others.append(term)
    return title_terms, others


@dataclass
class Rows:
    """The index rows of a batch of records of one type, as columns, ready to write."""

    object_type: str
    object_ids: list[int] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    subtitles: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    # (object id, blind key) pairs, as two columns.
    key_object_ids: list[int] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    vocabulary: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.object_ids)


def rows_for(registration: registry.Registration, records: Iterable[models.Model]) -> Rows:
    """The documents and blind keys of `records` (no database access of its own)."""
    documents: dict[int, registry.Document] = {}
    for record in records:  # one document per record, the last given wins
        documents[record.pk] = registration.document(record)
    rows = Rows(object_type=registration.object_type)
    every_term: set[str] = set()
    for object_id, document in documents.items():
        title_terms, other_terms = document_terms(document)
        every_term.update(title_terms)
        every_term.update(other_terms)
        rows.object_ids.append(object_id)
        rows.titles.append((document.title or "")[:300])
        rows.subtitles.append((document.subtitle or "")[:300])
        rows.terms.append(" ".join(title_terms) + TITLE_END + " ".join(other_terms))
        for key in blind_keys(document):
            rows.key_object_ids.append(object_id)
            rows.keys.append(key)
    rows.vocabulary = {term for term in every_term if text.fuzzy_candidates_key(term)}
    return rows


def store(rows: Rows) -> None:
    """Upsert the documents of `rows` and replace their blind keys (and, on PostgreSQL, add
    their words to the typo vocabulary); call inside a transaction.

    Set-based statements, none of which needs another's result (document ids are joined in
    SQL), so on PostgreSQL they can be sent in a pipeline: old keys deleted, documents
    inserted or updated by (type, id) (`ON CONFLICT … DO UPDATE`: a document written twice,
    or by two writers, stays one row), new keys inserted.
    """
    if not rows:
        return
    updated_at = connection.ops.adapt_datetimefield_value(timezone.now())
    if is_postgresql():
        _store_postgresql(rows, updated_at)
        return
    with connection.cursor() as cursor:
        # SQLite: the ids as one JSON parameter (no limit on their number), rows by executemany.
        cursor.execute(
            f"DELETE FROM {KEY_TABLE} WHERE document_id IN (SELECT id FROM {DOCUMENT_TABLE} "
            "WHERE object_type = %s AND object_id IN (SELECT value FROM json_each(%s)))",
            [rows.object_type, json.dumps(rows.object_ids)],
        )
        cursor.executemany(
            f"INSERT INTO {DOCUMENT_TABLE} "
            "(object_type, object_id, title, subtitle, terms, updated_at) "
            f"VALUES (%s, %s, %s, %s, %s, %s) {UPSERT}",
            [
                (rows.object_type, object_id, title, subtitle, terms, updated_at)
                for object_id, title, subtitle, terms in zip(
                    rows.object_ids, rows.titles, rows.subtitles, rows.terms, strict=True
                )
            ],
        )
        if rows.keys:
            cursor.executemany(
                f"INSERT INTO {KEY_TABLE} (document_id, key) SELECT id, %s FROM {DOCUMENT_TABLE} "
                "WHERE object_type = %s AND object_id = %s",
                [
                    (key, rows.object_type, object_id)
                    for object_id, key in zip(rows.key_object_ids, rows.keys, strict=True)
                ],
            )


def _store_postgresql(rows: Rows, updated_at: Any) -> None:
    """`store` on PostgreSQL: each column is one array parameter, bound on the server and sent
    in binary (no SQL text to build and parse for thousands of values)."""
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        # ARRAY(…) rather than a join: planned without estimating the documents' ids.
        cursor.execute(
            f"DELETE FROM {KEY_TABLE} WHERE document_id = ANY(ARRAY(SELECT id FROM "
            f"{DOCUMENT_TABLE} WHERE object_type = %b AND object_id = ANY(%b::bigint[])))",
            [rows.object_type, rows.object_ids],
        )
        cursor.execute(
            f"INSERT INTO {DOCUMENT_TABLE} (object_type, object_id, title, subtitle, terms, "
            "updated_at) SELECT %b, r.object_id, r.title, r.subtitle, r.terms, %b "
            "FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::text[]) "
            f"AS r(object_id, title, subtitle, terms) {UPSERT}",
            [
                rows.object_type,
                updated_at,
                rows.object_ids,
                rows.titles,
                rows.subtitles,
                rows.terms,
            ],
        )
        if rows.keys:
            cursor.execute(
                f"INSERT INTO {KEY_TABLE} (document_id, key) SELECT d.id, k.key "
                "FROM unnest(%b::bigint[], %b::text[]) AS k(object_id, key) "
                f"JOIN {DOCUMENT_TABLE} d ON d.object_type = %b AND d.object_id = k.object_id",
                [rows.key_object_ids, rows.keys, rows.object_type],
            )
        if rows.vocabulary:
            cursor.execute(
                f"INSERT INTO {TERM_TABLE} (term) SELECT unnest(%b::text[]) ON CONFLICT DO NOTHING",
                [sorted(rows.vocabulary)],
            )


@contextmanager
def pipelined() -> Iterator[None]:
    """On PostgreSQL, statements in this block are sent without waiting for their results
    (psycopg's pipeline mode), so the server writes one batch while Python prepares the next;
    errors are raised at the latest when the block ends. Use it only around `store` and
    reads: an ORM write in it could not see its row count. Elsewhere a plain block.
    """
    if not is_postgresql():
        yield
        return
    connection.ensure_connection()
    # An error of a pipelined statement may only be raised when the pipeline is synced, on
    # leaving the block: raised as Django's exception classes, like any other query's.
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield


def write(registration: registry.Registration, records: Sequence[models.Model]) -> int:
    """Upsert the documents (and blind keys) of `records`; returns how many were written."""
    if not records:
        return 0
    rows = rows_for(registration, records)
    with transaction.atomic(), pipelined():
        store(rows)
    return len(rows)


def remove(object_type: str, ids: Iterable[int]) -> int:
    """Drop the documents of records that no longer exist."""
    ids = list(ids)
    with transaction.atomic():
        documents = SearchDocument.objects.filter(object_type=object_type, object_id__in=ids)
        SearchKey.objects.filter(document__in=documents).delete()
        deleted, _by_model = documents.delete()
    return deleted


def _write_batches(batches: Iterable[tuple[registry.Registration, list[Any]]]) -> int:
    """Write the documents of each batch of records (in the caller's transaction).

    On PostgreSQL the writes are pipelined and staggered: the next batch is taken (read, for
    `refresh`), then the previous one's rows are sent, and the next one's documents are built
    while the server stores them.
    """
    written = 0
    pending: Rows | None = None
    words_sent: set[str] = set()  # to the vocabulary, in this transaction: not sent again
    with pipelined():
        for registration, batch in batches:
            if pending is not None:
                store(pending)
            pending = rows_for(registration, batch)
            pending.vocabulary -= words_sent
            words_sent |= pending.vocabulary
            written += len(pending)
        if pending is not None:
            store(pending)
    return written


def refresh(object_type: str, ids: Iterable[int], *, batch_size: int = 500) -> int:
    """Re-read the records `ids` of `object_type` and rewrite their documents (or drop them),
    in one transaction."""
    registration = registry.get(object_type)
    if registration is None:
        return 0
    ids = sorted({int(pk) for pk in ids})
    if not ids:
        return 0
    records = registration.model._default_manager
    missing: set[int] = set()

    def batches() -> Iterator[tuple[registry.Registration, list[Any]]]:
        for start in range(0, len(ids), batch_size):
            chunk = ids[start : start + batch_size]
            batch = list(registration.for_indexing(records.filter(pk__in=chunk)))
            missing.update(set(chunk) - {record.pk for record in batch})
            yield registration, batch

    with transaction.atomic():
        written = _write_batches(batches())
        if missing:
            remove(object_type, missing)
    return written


def index_records(
    records_by_type: Mapping[str, Sequence[models.Model]], *, batch_size: int = 500
) -> int:
    """Write the documents of records as they are in memory ({object type: records}), without
    reading them back: records just made by `bulk_create` (which sends no events) in this
    transaction, say. Returns how many documents were written.

    The relations that each registration's `for_indexing` prefetches are prefetched onto the
    records first, so the documents are those `refresh` would write. (Anything else
    `for_indexing` adds, such as `select_related`, is loaded lazily: still the same
    documents, only slower.) In one transaction; every read comes first, then all types'
    documents are written in one pipeline on PostgreSQL, the server storing one batch while
    the next is built.
    """
    groups: list[tuple[registry.Registration, list[Any]]] = []
    for object_type, records in records_by_type.items():
        registration = registry.get(object_type)
        if registration is not None and records:
            groups.append((registration, list(records)))
    if not groups:
        return 0
    with transaction.atomic():
        for registration, records in groups:
            queryset = registration.for_indexing(registration.model._default_manager.none())
            lookups = list(getattr(queryset, "_prefetch_related_lookups", ()))
            # In batches as `refresh` reads them: a long IN list gets a poor plan on SQLite.
            for start in range(0, len(records), batch_size) if lookups else ():
                models.prefetch_related_objects(records[start : start + batch_size], *lookups)
        return _write_batches(_interleaved(groups, batch_size))


def _interleaved(
    groups: Sequence[tuple[registry.Registration, list[Any]]], batch_size: int
) -> list[tuple[registry.Registration, list[Any]]]:
    """The batches of every group, the groups' batches spread evenly among one another: types
    cost Python and the database differently (new account names are slow to segment, small
    contact documents are quick to build), so mixing them keeps both busy in the pipeline."""
    batches = []
    for order, (registration, records) in enumerate(groups):
        starts = range(0, len(records), batch_size)
        for number, start in enumerate(starts):
            position = (number + 0.5) / len(starts)
            batches.append((position, order, registration, records[start : start + batch_size]))
    batches.sort(key=lambda batch: batch[:2])
    return [(registration, batch) for _position, _order, registration, batch in batches]


def prune(object_type: str) -> int:
    """Drop documents whose records are gone (after a rebuild)."""
    registration = registry.get(object_type)
    if registration is None:
        return 0
    orphans = SearchDocument.objects.filter(object_type=object_type).exclude(
        object_id__in=registration.model._default_manager.values("pk")
    )
    with transaction.atomic():
        SearchKey.objects.filter(document__in=orphans).delete()
        deleted, _by_model = orphans.delete()
    return deleted


# --- match expressions ------------------------------------------------------------------------


def _fts5_term(term: str) -> str:
    return '"' + term.replace('"', '""') + '"*'


def _tsquery_term(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "':*"


def match_expression(query: text.Query) -> str:
    """The FTS5 MATCH string or the tsquery text of a text query."""
    if is_postgresql():
        term, both, either = _tsquery_term, " & ", " | "
    else:
        term, both, either = _fts5_term, " AND ", " OR "
    clauses = []
    for clause in query.clauses:
        alternatives = [
            "(" + both.join(term(word) for word in words) + ")" for words in clause.alternatives
        ]
        clauses.append("(" + either.join(alternatives) + ")")
    return both.join(clauses)


def exact_key(query: text.Query) -> str:
    assert query.exact is not None
    kind, value = query.exact
    return blind_index(value, purpose=kind)


def matching_ids_sql(object_type: str, query: text.Query) -> tuple[str, list[Any]]:
    """SQL selecting the ids of `object_type` records matching `query` (no ranking)."""
    if query.exact is not None:
        return (
            "SELECT d.object_id FROM core_searchdocument d "
            "JOIN core_searchkey k ON k.document_id = d.id "
            "WHERE k.key = %s AND d.object_type = %s",
            [exact_key(query), object_type],
        )
    if is_postgresql():
        return (
            "SELECT d.object_id FROM core_searchdocument d "
            "WHERE d.search_vector @@ %s::tsquery AND d.object_type = %s",
            [match_expression(query), object_type],
        )
    return (
        "SELECT d.object_id FROM core_searchdocument d "
        f"WHERE d.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s) "
        "AND d.object_type = %s",
        [match_expression(query), object_type],
    )


def matching_q(object_type: str, query: text.Query) -> models.Q:
    sql, params = matching_ids_sql(object_type, query)
    return models.Q(pk__in=RawSQL(sql, params))  # noqa: S611 (fixed SQL; text is a parameter)


def _restriction(restricted: QuerySet) -> tuple[str, list[Any]]:
    """`AND EXISTS (…)` tying the outer document `d` to a visible record, or "" for all rows."""
    if not restricted.query.where:
        return "", []
    correlated = (
        restricted.order_by()
        .filter(pk=RawSQL("d.object_id", (), output_field=models.BigIntegerField()))
        .values("pk")
    )
    sql, params = correlated.query.sql_with_params()
    return f" AND EXISTS ({sql})", list(params)


# How many of the best matches are ranked before the user's visibility is checked (SQLite):
# when that many hold `limit` visible ones, they are exactly the best visible ones (the order
# is total), and the statement reads `CANDIDATES` records instead of every match.
CANDIDATES = 300


def ranked_ids(object_type: str, query: text.Query, restricted: QuerySet, limit: int) -> list[int]:
    """Ids of matching records in `restricted`, best first, at most `limit`.

    The matches of the index, joined with the restricted queryset in SQL (EXISTS on the
    record's id). The order, per database:

    - PostgreSQL: records whose title matches every term first, shortest title first (the
      closest names: 华信 before 北京华信软件有限公司), then the records that match elsewhere
      (a contact by its company's name), newest first; the id breaks ties. Both parts are
      read in that order from an index, so a popular fragment reads about a page of its
      matches, not all of them (migration 0008).
    - SQLite: bm25 over the terms, the id breaking ties. A popular fragment matches thousands
      of records: first only the `CANDIDATES` best matches are checked for visibility, and
      only when fewer than `limit` of them are visible is every match checked (the same
      answer either way, since the order is total).
    """
    if restricted.query.is_empty() or query.is_empty:
        return []
    restriction, restriction_params = _restriction(restricted)
    if query.exact is not None:
        sql = (
            "SELECT d.object_id FROM core_searchdocument d "
            "JOIN core_searchkey k ON k.document_id = d.id "
            f"WHERE k.key = %s AND d.object_type = %s{restriction} "
            "ORDER BY d.object_id DESC LIMIT %s"
        )
        return _ids(sql, [exact_key(query), object_type, *restriction_params, limit])
    if is_postgresql():
        return _ranked_postgresql(object_type, query, restriction, restriction_params, limit)
    matches = (
        f"SELECT d.object_id, bm25({FTS_TABLE}) AS score FROM {FTS_TABLE} "
        f"JOIN core_searchdocument d ON d.id = {FTS_TABLE}.rowid "
        f"WHERE {FTS_TABLE} MATCH %s AND d.object_type = %s"
    )
    match_params = [match_expression(query), object_type]
    best = "ORDER BY d.score, d.object_id DESC"
    if restriction:
        first = (
            f"SELECT d.object_id FROM ({matches} ORDER BY score, d.object_id DESC LIMIT %s) d "
            f"WHERE TRUE{restriction} {best} LIMIT %s"
        )
        found = _ids(first, [*match_params, CANDIDATES, *restriction_params, limit])
        if len(found) >= limit:
            return found
    sql = f"SELECT d.object_id FROM ({matches}) d WHERE TRUE{restriction} {best} LIMIT %s"
    return _ids(sql, [*match_params, *restriction_params, limit])


# A text that matches more than this many records of a type is popular: its best matches
# are read in ranking order from an index, stopping at the page; a rarer one's matches are
# all read from the text index and sorted (a few thousand rows at most).
POPULAR = 5000


def _ranked_postgresql(
    object_type: str, query: text.Query, restriction: str, restriction_params: list, limit: int
) -> list[int]:
    """Name matches shortest name first, then the other matches newest first.

    Each part is planned by how many records match: from the term statistics when they say
    clearly (`statistics`), else counted (up to `POPULAR`) through the text index — not by
    the planner's estimate: for a prefix query that estimate is often off by thousands either
    way, and trusting it walked all 1M contacts in name-length order looking for a company's
    name that no contact's name holds (3.6 s), or ranked every one of 44,000 matches
    (0.4 s)."""
    expression = match_expression(query)
    parts = (
        ("d.title_vector @@ %s::tsquery", [expression], "length(d.title), d.object_id DESC"),
        (
            "d.search_vector @@ %s::tsquery AND NOT d.title_vector @@ %s::tsquery",
            [expression, expression],
            "d.object_id DESC",
        ),
    )
    found: list[int] = []
    in_title = statistics.estimate(object_type, query, statistics.TITLE)
    for number, (condition, params, order) in enumerate(parts):
        if len(found) >= limit:
            break
        matches = f"SELECT d.object_id FROM core_searchdocument d WHERE d.object_type = %s AND {condition}"
        if number == 0:
            estimated = in_title
        else:
            anywhere = statistics.estimate(object_type, query, statistics.ALL)
            estimated = None if None in (anywhere, in_title) else max(0, anywhere - in_title)
        popular = statistics.popular(estimated, POPULAR)
        if popular is None:
            with _pinned_plan(ordered=False):
                (count,) = _ids(
                    f"SELECT count(*) FROM ({matches} LIMIT %s) matches",
                    [object_type, *params, POPULAR + 1],
                )
            popular = count > POPULAR
        with _pinned_plan(ordered=popular):
            found += _ids(
                f"{matches}{restriction} ORDER BY {order} LIMIT %s",
                [object_type, *params, *restriction_params, limit - len(found)],
            )
    return found


@contextmanager
def _pinned_plan(*, ordered: bool) -> Iterator[None]:
    """PostgreSQL plans the statements inside with ordered index scans only (`ordered`: read
    in the ORDER BY's order from a btree, stopping at the LIMIT) or with bitmap scans of the
    text indexes only. The settings are transaction-local and put back on leaving (or undone
    with the savepoint if a statement fails)."""
    names = ("enable_seqscan", "enable_bitmapscan" if ordered else "enable_indexscan")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT "
            + ", ".join(
                f"current_setting('{name}'), set_config('{name}', 'off', true)" for name in names
            )
        )
        row = cursor.fetchone()
        before = row[0::2]
        yield
        cursor.execute(
            "SELECT " + ", ".join("set_config(%s, %s, true)" for _name in names),
            [value for pair in zip(names, before, strict=True) for value in pair],
        )


def _ids(sql: str, params: list[Any]) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


# --- typo tolerance ---------------------------------------------------------------------------


def _candidates(word: str) -> list[str]:
    """Indexed terms that might be `word` mistyped: a bounded read of the vocabulary."""
    low, high = word[0], chr(ord(word[0]) + 1)
    shortest, longest = max(1, len(word) - 2), len(word) + 2
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute(
                f"SELECT term FROM {TERM_TABLE} WHERE term %% %s "
                f"UNION SELECT term FROM {TERM_TABLE} WHERE term >= %s AND term < %s "
                "AND length(term) BETWEEN %s AND %s LIMIT %s",
                [word, low, high, shortest, longest, FUZZY_CANDIDATES],
            )
        else:
            cursor.execute(
                f"SELECT term FROM {VOCAB_TABLE} WHERE term >= %s AND term < %s "
                "AND length(term) BETWEEN %s AND %s LIMIT %s",
                [low, high, shortest, longest, FUZZY_CANDIDATES],
            )
        return [row[0] for row in cursor.fetchall() if text.fuzzy_candidates_key(row[0])]


def close_terms(words: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """{word: indexed terms within one or two edits (transpositions count as one)}."""
    from rapidfuzz import process
    from rapidfuzz.distance import DamerauLevenshtein

    corrections: dict[str, tuple[str, ...]] = {}
    for word in words:
        if not text.fuzzy_candidates_key(word):
            continue
        allowed = 1 if len(word) <= 5 else 2
        found = process.extract(
            word,
            _candidates(word),
            scorer=DamerauLevenshtein.distance,
            score_cutoff=allowed,
            limit=FUZZY_PER_WORD,
        )
        close = tuple(term for term, _distance, _index in found if term != word)
        if close:
            corrections[word] = close
    return corrections


def corrected(query: text.Query) -> text.Query | None:
    """The query retried with close terms for its words, or None when nothing is close."""
    if query.exact is not None or query.fuzzy:
        return None
    words = [clause.words[0] for clause in query.clauses if len(clause.words) == 1]
    corrections = close_terms(words)
    if not corrections:
        return None
    return text.with_corrections(query, corrections)
