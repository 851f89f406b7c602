"""Storage and lookup of the search index, on SQLite (FTS5) and PostgreSQL (tsvector + GIN).

Writes upsert one `SearchDocument` per record (the full-text side follows: triggers on
SQLite, a generated column on PostgreSQL) and replace its blind keys. Reads return the ids of
matching records of one type, either as SQL to put inside a queryset's WHERE (lists) or
ranked (bm25 / ts_rank) and joined in SQL with a restricted queryset (global search), so a
user who may see few records still gets all of their matches.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from ..blind import blind_index
from . import registry, text
from .models import SearchDocument, SearchKey

logger = logging.getLogger(__name__)

FTS_TABLE = "core_search_fts"
VOCAB_TABLE = "core_search_vocab"
TERM_TABLE = "core_search_term"
FUZZY_CANDIDATES = 5000
FUZZY_PER_WORD = 5


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


def document_terms(document: registry.Document) -> list[str]:
    terms: list[str] = []
    for value in (document.title, *document.texts):
        terms.extend(text.index_terms(value or ""))
    return list(dict.fromkeys(terms))


def write(registration: registry.Registration, records: Sequence[models.Model]) -> int:
    """Upsert the documents (and blind keys) of `records`; returns how many were written."""
    if not records:
        return 0
    rows: list[SearchDocument] = []
    keys_by_id: dict[int, list[str]] = {}
    vocabulary: set[str] = set()
    for record in records:
        document = registration.document(record)
        terms = document_terms(document)
        if is_postgresql():
            vocabulary.update(term for term in terms if text.fuzzy_candidates_key(term))
        rows.append(
            SearchDocument(
                object_type=registration.object_type,
                object_id=record.pk,
                title=(document.title or "")[:300],
                subtitle=(document.subtitle or "")[:300],
                terms=" ".join(terms),
            )
        )
        keys_by_id[record.pk] = blind_keys(document)
    with transaction.atomic():
        SearchDocument.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["object_type", "object_id"],
            update_fields=["title", "subtitle", "terms", "updated_at"],
        )
        document_ids = dict(
            SearchDocument.objects.filter(
                object_type=registration.object_type, object_id__in=list(keys_by_id)
            ).values_list("object_id", "id")
        )
        SearchKey.objects.filter(document_id__in=list(document_ids.values())).delete()
        SearchKey.objects.bulk_create(
            [
                SearchKey(document_id=document_ids[object_id], key=key)
                for object_id, keys in keys_by_id.items()
                for key in keys
                if object_id in document_ids
            ]
        )
        if vocabulary:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {TERM_TABLE} (term) SELECT unnest(%s::text[]) "
                    "ON CONFLICT DO NOTHING",
                    [sorted(vocabulary)],
                )
    return len(rows)


def remove(object_type: str, ids: Iterable[int]) -> int:
    """Drop the documents of records that no longer exist."""
    ids = list(ids)
    with transaction.atomic():
        documents = SearchDocument.objects.filter(object_type=object_type, object_id__in=ids)
        SearchKey.objects.filter(document__in=documents).delete()
        deleted, _by_model = documents.delete()
    return deleted


def refresh(object_type: str, ids: Iterable[int], *, batch_size: int = 500) -> int:
    """Re-read the records `ids` of `object_type` and rewrite their documents (or drop them)."""
    registration = registry.get(object_type)
    if registration is None:
        return 0
    ids = sorted({int(pk) for pk in ids})
    written = 0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        records = list(
            registration.for_indexing(registration.model._default_manager.filter(pk__in=chunk))
        )
        written += write(registration, records)
        missing = set(chunk) - {record.pk for record in records}
        if missing:
            remove(object_type, missing)
    return written


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


def ranked_ids(object_type: str, query: text.Query, restricted: QuerySet, limit: int) -> list[int]:
    """Ids of matching records in `restricted`, best first, at most `limit`.

    One statement: the matches of the index, joined with the restricted queryset in SQL
    (EXISTS on the record's id), ranked by bm25 (SQLite) or ts_rank (PostgreSQL).
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
        params = [exact_key(query), object_type, *restriction_params, limit]
    elif is_postgresql():
        expression = match_expression(query)
        sql = (
            "SELECT d.object_id FROM core_searchdocument d "
            f"WHERE d.search_vector @@ %s::tsquery AND d.object_type = %s{restriction} "
            "ORDER BY ts_rank(d.search_vector, %s::tsquery) DESC, d.object_id DESC LIMIT %s"
        )
        params = [expression, object_type, *restriction_params, expression, limit]
    else:
        sql = (
            f"SELECT d.object_id FROM {FTS_TABLE} "
            f"JOIN core_searchdocument d ON d.id = {FTS_TABLE}.rowid "
            f"WHERE {FTS_TABLE} MATCH %s AND d.object_type = %s{restriction} "
            f"ORDER BY bm25({FTS_TABLE}), d.object_id DESC LIMIT %s"
        )
        params = [match_expression(query), object_type, *restriction_params, limit]
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
