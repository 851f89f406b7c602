"""The duplicate scan on an existing database (e.g. `rapport demo --size large`: 1M
accounts, 3M contacts): each phase's wall time, rows read and pairs found, beside the raw
SQL that does the grouping part of the same work, in the same run; peak memory (RSS).

Also the check run before a create (`matching.find_accounts` / `find_contacts`), p50/p95
over a sample of existing names, beside the one SQL statement that reads the same
candidates from the search index.

    RAPPORT_DATABASE_URL=postgres://…/rapport_large python bench/bench_duplicates.py \
        --json var/bench/duplicates-postgresql.json
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from harness import comparison_table, database_version, measure, write_results  # noqa: E402

from rapport.core import names as core_names  # noqa: E402
from rapport.core.search import index as search_index  # noqa: E402
from rapport.core.search import text as search_text  # noqa: E402
from rapport.customers.models import Account, Contact  # noqa: E402
from rapport.dataops import matching, scan  # noqa: E402
from rapport.identity.models import User  # noqa: E402

RAW = {
    "contact_identifiers": (
        "SELECT kind, blind, count(DISTINCT contact_id) FROM customers_contactidentifier i "
        "JOIN customers_contact c ON c.id = i.contact_id WHERE c.is_active "
        "GROUP BY kind, blind HAVING count(DISTINCT contact_id) > 1"
    ),
    "contact_names": (
        "SELECT ac.account_id, c.name, count(*) FROM customers_contact_accounts ac "
        "JOIN customers_contact c ON c.id = ac.contact_id WHERE c.is_active "
        "GROUP BY ac.account_id, c.name HAVING count(*) > 1"
    ),
    "account_phones": (
        "SELECT phone, count(*) FROM customers_account WHERE is_active AND phone <> '' "
        "GROUP BY phone HAVING count(*) > 1"
    ),
    "account_names": (
        "SELECT name_core, count(*) FROM customers_account WHERE is_active AND name_core <> '' "
        "GROUP BY name_core HAVING count(*) > 1"
    ),
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=200, help="create-time checks timed")
    parser.add_argument("--skip-scan", action="store_true")
    parser.add_argument("--skip-checks", action="store_true")
    parser.add_argument("--only", nargs="*", help="scan phases to run (default: all)")
    parser.add_argument("--json")
    args = parser.parse_args()
    accounts, contacts = Account.objects.count(), Contact.objects.count()
    print(f"== {connection.vendor}: {accounts:,} accounts, {contacts:,} contacts ==", flush=True)
    phases = []
    if not args.skip_scan:
        since = timezone.now()  # as the scan job runs its phases: pairs written every 50,000
        for name, object_type, phase in scan.PHASES:
            if args.only and name not in args.only:
                continue
            started = time.perf_counter()
            stored = scan.run_phase(object_type, phase, since=since)
            took = time.perf_counter() - started
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(RAW[name])
                raw_rows = len(cursor.fetchall())
            raw = time.perf_counter() - started
            phases.append(
                {
                    "phase": name,
                    "seconds": round(took, 1),
                    "pairs": stored,
                    "raw_sql_seconds": round(raw, 1),
                    "raw_rows": raw_rows,
                    "peak_rss_mb": round(peak_rss_mb()),
                }
            )
            print(
                f"  {name}: {took:.1f} s, {stored:,} pairs; raw SQL {raw:.1f} s "
                f"({raw_rows:,} rows); peak RSS {peak_rss_mb():.0f} MB",
                flush=True,
            )
        total = sum(p["seconds"] for p in phases)
        print(f"  scan total: {total:.1f} s ({total / 60:.1f} min)", flush=True)

    actor = User.objects.filter(is_superuser=True).first() or User.objects.first()
    cases = []
    if args.skip_checks:
        return
    for label, model, find in (
        ("check before create: account", Account, matching.find_accounts),
        ("check before create: contact", Contact, matching.find_contacts),
    ):
        sample = list(model.objects.order_by("?").values_list("name", flat=True)[: args.checks])
        if not sample:
            continue
        app_names, sql_names = iter(sample * 3), iter(sample * 3)

        def raw(model=model, names=sql_names):
            if model is Account:  # the candidates' read: the name's keys, one statement
                keys = core_names.blocks(next(names))
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT id, name FROM customers_account WHERE name_key = %s "
                        "OR name_core = %s OR name_sound = %s LIMIT %s",
                        [keys.key, keys.core, keys.sound or "-", matching.CANDIDATES],
                    )
                    return cursor.fetchall()
            # the candidates' read: the name's words in the search index, as one statement
            query = search_text.parse_query(" ".join(matching._words(next(names))))
            sql, params = search_index.matching_ids_sql(model.security_type, query)
            with connection.cursor() as cursor:
                cursor.execute(f"{sql} LIMIT {matching.PER_QUERY}", params)
                return cursor.fetchall()

        app = measure(
            lambda find=find, names=app_names: find(actor, {"name": next(names)}),
            iterations=len(sample),
            warmup=min(20, len(sample)),
        )
        sql = measure(raw, iterations=len(sample), warmup=min(20, len(sample)))
        cases.append((label, app, sql))
        print(
            f"  {label}: p50 {app.p50_ms:.1f} ms, p95 {app.p95_ms:.1f} ms; "
            f"raw SQL p50 {sql.p50_ms:.1f} ms",
            flush=True,
        )
    accounts_sample = list(
        Account.objects.order_by("?").values_list("name", flat=True)[: args.checks]
    )
    if accounts_sample:
        # Before session 8 the account check read its candidates from the search index
        # (the name's words, its distinctive words, their pinyin): timed on the same names.
        names_left = iter(accounts_sample * 3)
        visible = Account.objects.restrict(actor, "view")

        def by_search():
            name = next(names_left)
            ids = matching._ranked(
                Account.security_type, matching._name_queries(name, company=True), visible
            )
            others = dict(visible.filter(pk__in=ids).values_list("pk", "name"))
            return [matching.name_score(name, other, company=True) for other in others.values()]

        keys_left = iter(accounts_sample * 3)

        def by_keys():
            name = next(keys_left)
            others = dict(matching.name_candidates(visible, name).values_list("pk", "name"))
            return [matching.name_score(name, other, company=True) for other in others.values()]

        old = measure(by_search, iterations=len(accounts_sample), warmup=10)
        new = measure(by_keys, iterations=len(accounts_sample), warmup=10)
        cases.append(("account name candidates + scores: by keys vs by search", new, old))
        print(
            f"  account name candidates: by keys p50 {new.p50_ms:.1f} ms / p95 "
            f"{new.p95_ms:.1f} ms; by search (before) p50 {old.p50_ms:.1f} ms / p95 "
            f"{old.p95_ms:.1f} ms",
            flush=True,
        )
    print(comparison_table(cases, left="app"))
    if args.json:
        write_results(
            args.json,
            cases,
            left="app",
            database=database_version(),
            machine=platform.platform(),
            accounts=accounts,
            contacts=contacts,
            phases=phases,
        )


if __name__ == "__main__":
    main()
