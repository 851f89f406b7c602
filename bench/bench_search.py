"""Global search as a department-scoped sales manager: `search.search` beside raw SQL.

Run through bench/run.py, which points RAPPORT_DATABASE_URL at a fresh database. This
script migrates it, generates accounts and contacts with the demo bulk generator (which
indexes each batch as it goes), then measures three queries a user types:

- a Chinese fragment of company names (jieba word / substring of the name);
- a pinyin string (full pinyin of a brand);
- a phone number typed with spaces (exact match through the blind index);

each through `rapport.core.search.search(manager, text, types=[…], limit=10)` (parse, ranked
match joined with `restrict()` in SQL, records fetched, field rules applied) beside hand-written
SQL doing the same match, restriction, ranking and fetch on a cursor, in the same run. Both
sides are first checked to return the same records.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

import django  # noqa: E402

django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from harness import (  # noqa: E402
    comparison_table,
    database_version,
    measure_cases,
    write_results,
)

from rapport.core import search  # noqa: E402
from rapport.core.blind import blind_index  # noqa: E402
from rapport.core.search import index, text  # noqa: E402
from rapport.customers.models import Account, Contact  # noqa: E402
from rapport.identity.models import User  # noqa: E402
from rapport.web import demo  # noqa: E402

LIMIT = 10
CHINESE_FRAGMENT = "华信"
PINYIN = "hengtong"


def build(accounts: int, contacts: int, reps: int) -> dict:
    started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    migrated = time.monotonic()
    data = demo.DemoData(2026, first_serial=demo.next_serial())
    users = demo.build_organisation()
    owners = [users[u.username] for u in demo.DEMO_USERS if u.owns_accounts]
    owners += demo.add_sales_reps(reps, generator=data)
    organised = time.monotonic()
    made = demo.bulk_generate(
        owners=demo.owners_of(owners),
        accounts=accounts,
        contacts=contacts,
        data=data,
        batch_size=5000,
    )
    generated = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "migrate_s": migrated - started,
        "generate_and_index_s": generated - organised,
        "records_per_min": (made["accounts"] + made["contacts"]) / (generated - organised) * 60,
        "owners": len(owners),
    }


def restriction(alias: str) -> str:
    return f"""(
        {alias}.owner_id = %s
        OR {alias}.owner_id IN (
            SELECT u2.id FROM identity_user u2
            JOIN identity_department dep ON dep.id = u2.department_id
            WHERE dep.path LIKE %s
        )
        OR {alias}.id IN (
            SELECT s.object_id FROM identity_recordshare s
            WHERE s.user_id = %s AND s.content_type_id = %s AND s.level IN ('view', 'change')
        )
    )"""


class RawSql:
    """The same search, hand-written: match, restriction, ranking and the records' rows."""

    def __init__(self, manager: User) -> None:
        self.manager = manager
        self.postgresql = connection.vendor == "postgresql"

    def scope(self, model) -> list:
        return [
            self.manager.pk,
            self.manager.department.path + "%",
            self.manager.pk,
            ContentType.objects.get_for_model(model).pk,
        ]

    def text(self, words: list[str], model, table_name: str) -> list[tuple]:
        object_type = model.security_type
        if self.postgresql:
            # Name matches shortest name first, then the other matches newest first, each
            # read in that order from an index; the second part runs only when the first
            # leaves the page short (a non-parallel Append reads its parts in turn).
            expression = " & ".join(f"'{word}':*" for word in words)
            sql = f"""
                SELECT * FROM ((
                    SELECT r.* FROM core_searchdocument d
                    JOIN {table_name} r ON r.id = d.object_id
                    WHERE d.object_type = %s AND d.title_vector @@ %s::tsquery
                      AND {restriction("r")}
                    ORDER BY length(d.title), d.object_id DESC LIMIT {LIMIT + 1}
                ) UNION ALL (
                    SELECT r.* FROM core_searchdocument d
                    JOIN {table_name} r ON r.id = d.object_id
                    WHERE d.object_type = %s AND d.search_vector @@ %s::tsquery
                      AND NOT d.title_vector @@ %s::tsquery AND {restriction("r")}
                    ORDER BY d.object_id DESC LIMIT {LIMIT + 1}
                )) matches LIMIT {LIMIT + 1}"""
            params = [
                object_type,
                expression,
                *self.scope(model),
                object_type,
                expression,
                expression,
                *self.scope(model),
            ]
        else:
            expression = " AND ".join(f'"{word}"*' for word in words)
            sql = f"""
                SELECT r.* FROM core_search_fts
                JOIN core_searchdocument d ON d.id = core_search_fts.rowid
                JOIN {table_name} r ON r.id = d.object_id
                WHERE core_search_fts MATCH %s AND d.object_type = %s AND {restriction("r")}
                ORDER BY bm25(core_search_fts), d.object_id DESC
                LIMIT {LIMIT + 1}"""
            params = [expression, object_type, *self.scope(model)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def phone(self, e164: str, model=Contact, table_name: str = "customers_contact") -> list[tuple]:
        sql = f"""
            SELECT r.* FROM core_searchkey k
            JOIN core_searchdocument d ON d.id = k.document_id
            JOIN {table_name} r ON r.id = d.object_id
            WHERE k.key = %s AND d.object_type = %s AND {restriction("r")}
            ORDER BY d.object_id DESC LIMIT {LIMIT + 1}"""
        key = blind_index(e164, purpose="phone")
        with connection.cursor() as cursor:
            cursor.execute(sql, [key, model.security_type, *self.scope(model)])
            return cursor.fetchall()


def visible_phone(manager: User) -> tuple[str, str]:
    """A mobile of a contact the manager may see: (E.164, as typed with spaces)."""
    contact = Contact.objects.restrict(manager, "view").exclude(phones=[]).order_by("id").first()
    assert contact is not None, "the manager sees no contact with a phone"
    e164 = contact.phones[0]
    return e164, f"{e164[3:6]} {e164[6:10]} {e164[10:]}"  # "138 1234 5678"


def orm(manager: User, typed: str, object_type: str) -> list[int]:
    results = search.search(manager, typed, types=[object_type], limit=LIMIT)
    return [hit.id for hit in results.groups[0].hits]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, help="default: as many as accounts")
    parser.add_argument("--reps", type=int, default=80)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json")
    args = parser.parse_args()
    contacts = args.accounts if args.contacts is None else args.contacts

    vendor = connection.vendor
    print(f"== {vendor}: building {args.accounts:,} accounts, {contacts:,} contacts ==", flush=True)
    built = build(args.accounts, contacts, args.reps)
    manager = User.objects.select_related("department").get(username="sales_manager")
    share = Account.objects.restrict(manager, "view").count() / Account.objects.count()
    print(
        f"bulk insert + index {built['generate_and_index_s']:.1f} s "
        f"({built['records_per_min']:,.0f} records/min); manager sees {share:.0%}",
        flush=True,
    )
    text.warm_up()
    e164, typed_phone = visible_phone(manager)
    raw = RawSql(manager)
    cases = [
        (
            f"Chinese fragment {CHINESE_FRAGMENT}, accounts",
            lambda: orm(manager, CHINESE_FRAGMENT, Account.security_type),
            lambda: raw.text([CHINESE_FRAGMENT], Account, "customers_account"),
        ),
        (
            f"pinyin {PINYIN}, accounts",
            lambda: orm(manager, PINYIN, Account.security_type),
            lambda: raw.text([PINYIN], Account, "customers_account"),
        ),
        (
            f"phone {typed_phone}, contacts",
            lambda: orm(manager, typed_phone, Contact.security_type),
            lambda: raw.phone(e164),
        ),
    ]
    for name, orm_call, raw_call in cases:
        orm_ids = orm_call()
        raw_ids = [row[0] for row in raw_call()][:LIMIT]
        assert orm_ids == raw_ids and orm_ids, f"{name}: ORM and SQL disagree"
    assert index.is_postgresql() == (vendor == "postgresql")

    results = measure_cases(cases, iterations=args.iterations, warmup=args.warmup, left="search")
    version = database_version()
    print()
    print(
        f"{vendor} {version}, {Account.objects.count():,} accounts, {Contact.objects.count():,} "
        f"contacts, manager sees {share:.0%}; {args.iterations} timed runs after {args.warmup} "
        f"warm-up; Python {platform.python_version()}, Django {django.get_version()}, "
        f"{os.cpu_count()} CPUs"
    )
    print()
    print(comparison_table(results, left="search"))
    if args.json:
        write_results(
            args.json,
            results,
            left="search",
            vendor=vendor,
            version=version,
            build=built,
            visible_share=share,
        )


if __name__ == "__main__":
    main()
