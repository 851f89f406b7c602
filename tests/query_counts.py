"""Shared check for HTML pages: the number of queries does not grow with the rows shown."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext


def page_queries(client, url: str, params: dict | None = None) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured), response.content.decode()


def assert_flat(client, url, grow, *, few: int, many: int, params=None, rows=None) -> None:
    """Render `url` with `few` rows, then with `many`: the query count must not change."""
    grow(few)
    client.get(url, params or {})  # warm up: session, user-session and cache writes
    expected, _body = page_queries(client, url, params)
    grow(many - few)
    actual, body = page_queries(client, url, params)
    if rows is not None:
        assert rows(body) >= many, "the many rows were not all on the page"
    assert actual == expected, f"{actual} queries for {many} rows, {expected} for {few}"
