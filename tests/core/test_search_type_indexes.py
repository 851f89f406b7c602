"""Search on PostgreSQL reads one type's own text indexes (partial GIN per registered type),
made after every `migrate` for each registered type."""

from __future__ import annotations

import pytest
from django.db import connection

from rapport.core.search import index, indexes, registry, text

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the per-type text indexes are PostgreSQL's"
)


def test_index_names_fit_postgresql_and_differ_per_type_and_vector():
    types = ["customers.account", "customers.contact", "x" * 60, "x" * 60 + "y"]
    names = {indexes.index_name(vector, t) for t in types for vector in indexes.VECTORS}
    assert len(names) == len(types) * len(indexes.VECTORS)
    assert all(len(name) <= 63 for name in names)


def test_a_type_name_is_quoted_in_its_index_predicate():
    (title, _vector) = indexes.statements("odd'type")
    assert "WHERE object_type = 'odd''type'" in title


@postgresql_only
def test_every_registered_type_has_its_text_indexes_after_migrate():
    assert registry.object_types()
    assert indexes.missing() == []


@postgresql_only
def test_ensure_makes_a_missing_index_again():
    name = indexes.index_name("title_vector", "customers.contact")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {name}")
    assert indexes.missing(["customers.contact"]) == [name]
    assert indexes.ensure(["customers.contact"]) == [name]
    assert indexes.missing() == []
    assert indexes.ensure() == []


@postgresql_only
@pytest.mark.parametrize("vector", indexes.VECTORS)
def test_a_search_of_one_type_reads_that_types_index(vector):
    expression = index.match_expression(text.parse_query("华信"))
    with connection.cursor() as cursor:
        # enough documents of two types that reading the type's btree would cost more
        cursor.execute(
            "INSERT INTO core_searchdocument (object_type, object_id, title, subtitle, terms, "
            "updated_at) SELECT CASE WHEN n % 3 = 0 THEN 'customers.account' "
            "ELSE 'customers.contact' END, n, 'p' || n, '', 'p' || n || ' | c' || (n % 97), now() "
            "FROM generate_series(1, 6000) AS n"
        )
        cursor.execute("ANALYZE core_searchdocument")
        # as the search plans a rare fragment: bitmap scans of the text indexes only
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(
            "EXPLAIN SELECT object_id FROM core_searchdocument "
            f"WHERE object_type = %s AND {vector} @@ %s::tsquery",
            ["customers.contact", expression],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert indexes.index_name(vector, "customers.contact") in plan
