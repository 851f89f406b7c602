"""Search term statistics (PostgreSQL): counted per type and term, read to plan a popular
fragment without counting its matches, refreshed by a rebuild, the CLI and the nightly task."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from rapport.core import search, tasks
from rapport.core.search import index, rebuild, statistics, text
from rapport.customers import services

pytestmark = pytest.mark.django_db
ACCOUNT, CONTACT = "customers.account", "customers.contact"
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="term statistics are taken on PostgreSQL only"
)


@pytest.fixture
def accounts(org, django_capture_on_commit_callbacks):
    rep = org["rep_east"]
    with django_capture_on_commit_callbacks(execute=True):
        many = [
            services.account_create(actor=rep, name=f"华信{'科技' * (n % 3 + 1)}第{n}分公司")
            for n in range(statistics.MIN_DOCUMENTS + 5)
        ]
        few = [services.account_create(actor=rep, name=f"永盛贸易{n}号") for n in range(3)]
    return {"many": many, "few": few}


def _ids(user, typed):
    results = search.search(user, typed, types=[ACCOUNT], limit=10)
    return [hit.id for hit in results.groups[0].hits]


@postgresql_only
def test_the_statistics_count_documents_per_term(accounts):
    assert statistics.estimate(ACCOUNT, text.parse_query("华信"), statistics.TITLE) is None
    assert statistics.refresh([ACCOUNT]) == {ACCOUNT: 28}
    many = len(accounts["many"])
    estimated = statistics.estimate(ACCOUNT, text.parse_query("华信"), statistics.TITLE)
    # each account holds a few terms starting with 华信 (the word, the whole run …)
    assert many <= estimated <= many * 3
    # rare terms are not kept; a clause that every match needs bounds the estimate
    assert statistics.estimate(ACCOUNT, text.parse_query("永盛"), statistics.TITLE) == 0
    assert statistics.estimate(ACCOUNT, text.parse_query("华信 永盛"), statistics.TITLE) == 0
    assert statistics.estimate(CONTACT, text.parse_query("华信"), statistics.TITLE) is None
    assert statistics.terms_kept(ACCOUNT) > 0


def test_a_verdict_only_when_clearly_on_one_side():
    line = 100
    assert statistics.popular(None, line) is None
    assert statistics.popular(line * statistics.MARGIN + 1, line) is True
    assert statistics.popular(line // statistics.MARGIN - 1, line) is False
    assert statistics.popular(line, line) is None


@postgresql_only
def test_the_search_plans_from_the_statistics_without_counting(org, accounts, monkeypatch):
    manager = org["sales_manager"]
    monkeypatch.setattr(index, "POPULAR", 5)  # 25 matches: popular here
    counted = {typed: _ids(manager, typed) for typed in ("华信", "永盛", "huaxin")}
    assert counted["华信"][0] in {a.pk for a in accounts["many"]}
    assert set(counted["永盛"]) == {a.pk for a in accounts["few"]}
    statistics.refresh([ACCOUNT])
    for typed, expected in counted.items():
        with CaptureQueriesContext(connection) as queries:
            assert _ids(manager, typed) == expected
        statements = " ".join(query["sql"] for query in queries.captured_queries)
        assert "count(*)" not in statements, typed
        assert "core_search_termstat" in statements


@postgresql_only
def test_a_fragment_near_the_line_is_still_counted(org, accounts, monkeypatch):
    statistics.refresh([ACCOUNT])
    estimated = statistics.estimate(ACCOUNT, text.parse_query("华信"), statistics.TITLE)
    monkeypatch.setattr(index, "POPULAR", estimated)
    with CaptureQueriesContext(connection) as queries:
        found = _ids(org["sales_manager"], "华信")
    assert "count(*)" in " ".join(query["sql"] for query in queries.captured_queries)
    assert len(found) == 10


@postgresql_only
def test_a_rebuild_takes_the_statistics_again(accounts):
    rebuild.rebuild(types=[ACCOUNT])
    assert statistics.estimate(ACCOUNT, text.parse_query("华信"), statistics.TITLE) >= 25


@postgresql_only
def test_the_command_and_the_nightly_task(accounts):
    out = StringIO()
    with translation.override("en"):
        call_command("search", "statistics", "--type", ACCOUNT, stdout=out)
    assert f"{ACCOUNT}: 28 documents" in out.getvalue()
    assert tasks.search_statistics()[ACCOUNT] == 28


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite's answer")
def test_the_command_says_sqlite_needs_none(db):
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command("search", "statistics", stdout=StringIO())
