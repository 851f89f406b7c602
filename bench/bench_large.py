"""Customers 360 on an existing demo database (`rapport demo --size large`): ORM beside raw SQL.

    RAPPORT_DATABASE_URL=postgres://…/rapport_large .venv/bin/python bench/bench_large.py --existing

Generating the large data set (1M accounts, 3M contacts, 10M interactions, with the search
index) takes hours, so it is generated once and this script measures against it as it is:
it never migrates or generates, and refuses a database with unapplied migrations or fewer
accounts than `--accounts`. `--existing` is required, as the acknowledgement that it writes
to that database (see "prepares" below).

The actor is the demo organisation's department-scoped sales manager (`sales_manager`,
department scope on 华东区); the share of accounts it sees is reported.

It prepares what the cases need, idempotently and in a few bulk statements (nothing is done
when a previous run did it): the number custom field `employees` on accounts with "fast
filtering" (its expression index) through the custom-field services, its values for every
account in one UPDATE; the `VIP` tag of the demo tag tree on the A-tier accounts in one
INSERT … SELECT when no account carries it; an account of the manager's brought up to
`--history` interactions in bulk; then ANALYZE of what changed.

Cases, each beside hand-written SQL doing the same work on a cursor in the same run, both
sides first checked to return the same rows (the functions of bench_customer360.py and
bench_search.py, reused):

- account list page 1 (50 + 1) with the filter language `cf.employees >= 500 and tag = VIP`;
- global search (`search.search`, accounts and contacts as the search page shows them) for a
  Chinese fragment, a full pinyin string, pinyin initials and a phone number;
- the 360 page's reads for the account with the longest history and for random accounts, the
  number of queries asserted equal for the shortest and the longest history;
- "My tasks" page 1; logging a call (the audited service beside the raw inserts).

Writes it leaves behind: the custom field, values and tag links above, the history top-up,
and per run 2 × (iterations + warm-up + 1) logged calls with their audit and outbox rows on
the long-history account. The audit chain is verified at the end (`--no-verify` to skip).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

import bench_customer360 as c360  # noqa: E402  (sets Django up)
import bench_search  # noqa: E402
import django  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402
from django.db.models import Count, Exists, OuterRef, Q  # noqa: E402
from django.utils import timezone  # noqa: E402
from harness import (  # noqa: E402
    comparison_table,
    database_version,
    measure_cases,
    write_results,
)

from rapport.audit import chain  # noqa: E402
from rapport.core import search  # noqa: E402
from rapport.core.customfields import services as customfield_services  # noqa: E402
from rapport.core.customfields.models import CustomField, FieldType  # noqa: E402
from rapport.core.search import text  # noqa: E402
from rapport.core.tags.models import Tag, TaggedRecord  # noqa: E402
from rapport.customers.filtering import apply_filter  # noqa: E402
from rapport.customers.models import Account, AccountContact, Contact, Interaction  # noqa: E402
from rapport.identity import policy  # noqa: E402
from rapport.identity.models import Scope, User  # noqa: E402
from rapport.web import demo, demo_history  # noqa: E402

CUSTOM_KEY = "employees"
TAG = "VIP"
SEARCHED = ((Account, "customers_account"), (Contact, "customers_contact"))
SEARCH_LIMIT = bench_search.LIMIT  # the search page's hits per type (web.views)
ANALYZED = {
    "accounts": "customers_account",
    "tags": "core_taggedrecord",
    "history": "customers_interaction",
}


# --- the database as it is -----------------------------------------------------------------


def check_database(minimum_accounts: int) -> int:
    """The number of accounts; exits with a message when the database is not ready."""
    url = os.environ.get("RAPPORT_DATABASE_URL", "(unset: the default SQLite file)")
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise SystemExit(
            f"The database at {url} has {len(pending)} unapplied migrations (first: "
            f"{pending[0][0]}); this benchmark does not migrate. Run `.venv/bin/python "
            "manage.py migrate` first."
        )
    accounts = Account.objects.count()
    if accounts < minimum_accounts:
        raise SystemExit(
            f"The database at {url} has {accounts:,} accounts, fewer than the "
            f"{minimum_accounts:,} asked for (--accounts). Generate them once with "
            "`rapport demo --size large`, or give a smaller --accounts to measure what is there."
        )
    return accounts


def actor() -> User:
    """The demo organisation's sales manager, whose grant on accounts has department scope."""
    username = next(user.username for user in demo.DEMO_USERS if user.role == "sales_manager")
    manager = (
        User.objects.select_related("department").filter(username=username, is_active=True).first()
    )
    if manager is None:
        raise SystemExit(
            f"No active user {username!r}: this is not a demo database (`rapport demo`)."
        )
    scope = policy.best_scope(manager, Account.security_type, "view")
    if scope != Scope.DEPARTMENT:
        raise SystemExit(
            f"{username} sees accounts with scope {scope!r}, not 'department': the raw SQL here "
            "writes the department restriction by hand, so the comparison would be wrong."
        )
    return manager


# --- what the cases need, prepared once ----------------------------------------------------


def ensure_custom_field(admin: User, minimum: int, maximum: int) -> dict:
    """`employees` (whole number, fast filtering) on accounts, and a value on every account.

    The values are filled before the field's expression index is created (one index build
    instead of index upkeep on every updated row); each is a fixed function of the account's
    id, spread evenly over minimum..maximum."""
    done: dict = {}
    span = maximum - minimum + 1
    started = time.monotonic()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE customers_account SET custom = jsonb_set(custom, %s, "
                "to_jsonb(%s + mod(id * 7919, %s))) WHERE NOT (custom ? %s)",
                [[CUSTOM_KEY], minimum, span, CUSTOM_KEY],
            )
        else:
            cursor.execute(
                "UPDATE customers_account SET custom = json_set(custom, %s, %s + ((id * 7919) %% %s)) "
                "WHERE json_extract(custom, %s) IS NULL",
                [f'$."{CUSTOM_KEY}"', minimum, span, f'$."{CUSTOM_KEY}"'],
            )
        done["values_filled"] = cursor.rowcount
    done["values_s"] = time.monotonic() - started
    field = CustomField.objects.filter(object_type=Account.security_type, key=CUSTOM_KEY).first()
    if field is not None and field.type != FieldType.NUMBER:
        raise SystemExit(
            f"The accounts' custom field {CUSTOM_KEY!r} exists with type {field.type!r}, not "
            "a whole number: the filter here would not mean what it says."
        )
    started = time.monotonic()
    if field is None:
        field = customfield_services.custom_field_create(
            actor=admin,
            object_type=Account.security_type,
            key=CUSTOM_KEY,
            type=FieldType.NUMBER,
            label="员工人数",
            label_en="Employees",
            validation={"min": 0},
            indexed=True,
        )
        done["field_created"] = True
    elif not field.is_active:
        customfield_services.custom_field_set_active(actor=admin, field=field, active=True)
        done["field_reactivated"] = True
    if not field.indexed:
        customfield_services.custom_field_update(actor=admin, field=field, indexed=True)
        done["index_created"] = True
    done["field_s"] = time.monotonic() - started
    return done


def ensure_tag(admin: User) -> tuple[Tag, dict]:
    """The demo tag tree's VIP tag, on the A-tier accounts when no account carries it yet
    (one INSERT … SELECT; the bulk demo sizes do not tag)."""
    vip = Tag.objects.filter(name=TAG, parent=None).first()
    if vip is None:
        vip = demo.build_tags(admin=admin)[TAG]
    account_type = ContentType.objects.get_for_model(Account)
    links = TaggedRecord.objects.filter(tag=vip, content_type=account_type)
    done = {"tag_links_added": 0}
    if not links.exists():
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(
                """INSERT INTO core_taggedrecord (content_type_id, object_id, tag_id,
                       tagged_by_id, tagged_at)
                   SELECT %s, a.id, %s, %s, %s FROM customers_account a WHERE a.tier = %s""",
                [
                    account_type.pk,
                    vip.pk,
                    admin.pk,
                    connection.ops.adapt_datetimefield_value(timezone.now()),
                    "A",
                ],
            )
            done["tag_links_added"] = cursor.rowcount
        done["tag_s"] = time.monotonic() - started
    done["tagged_accounts"] = links.count()
    return vip, done


def history_accounts(manager: User, total: int) -> tuple[Account, Account, dict]:
    """The manager's accounts (with contacts, a timeline and an open task, so that every
    read of the 360 page has rows) with the shortest and the longest history; the longest is
    brought up to `total` interactions in bulk if it has fewer."""
    timeline = Q(interactions__is_active=True) & ~Q(
        interactions__kind="task", interactions__done_at__isnull=True
    )
    open_task = Q(
        interactions__kind="task",
        interactions__is_active=True,
        interactions__done_at__isnull=True,
    )
    candidates = list(
        Account.objects.filter(owner=manager)
        .filter(Exists(AccountContact.objects.filter(account=OuterRef("pk"))))
        .annotate(
            total=Count("interactions"),
            logged=Count("interactions", filter=timeline),
            open=Count("interactions", filter=open_task),
        )
        .filter(logged__gt=0, open__gt=0)
        .order_by("total", "id")
        .values_list("pk", "total")
    )
    if len(candidates) < 2:
        raise SystemExit(
            f"{manager.username} owns fewer than two accounts with contacts, interactions and "
            "an open task: the data set is too small for the query-count check."
        )
    short = Account.objects.get(pk=candidates[0][0])
    long = Account.objects.get(pk=candidates[-1][0])
    history = demo_history.HistoryData(random.Random(long.pk), as_of=timezone.now())
    started = time.monotonic()
    added = c360.add_history(manager, long, total, history)
    done = {"history_added": added, "history_s": time.monotonic() - started}
    return short, long, done


def analyze(done: dict) -> float:
    """ANALYZE the tables the preparation changed (VACUUM too for the accounts' UPDATE on
    PostgreSQL, which leaves a dead version of every row behind)."""
    started = time.monotonic()
    changed = {
        "accounts": done.get("values_filled", 0)
        or done.get("field_created")
        or done.get("index_created"),
        "tags": done.get("tag_links_added", 0),
        "history": done.get("history_added", 0),
    }
    with connection.cursor() as cursor:
        for what, table in ANALYZED.items():
            if not changed[what]:
                continue
            vacuum = connection.vendor == "postgresql" and what == "accounts"
            cursor.execute(f"{'VACUUM ANALYZE' if vacuum else 'ANALYZE'} {table}")
    return time.monotonic() - started


# --- the cases -----------------------------------------------------------------------------


def orm_custom_tag_list(manager: User, filter_text: str) -> list[int]:
    """The account list's query for a filter (restricted, filtered, the page of 50 + 1)."""
    return c360.orm_list(
        manager,
        apply_filter(
            Account.objects.restrict(manager, "view"),
            manager,
            Account.security_type,
            filter_text,
        ),
    )


def raw_custom_tag_list(raw: c360.RawSql, minimum: int, tag_id: int) -> list[int]:
    if connection.vendor == "postgresql":
        custom = "(a.custom -> %s) >= %s::jsonb"
        params = [CUSTOM_KEY, json.dumps(minimum)]
    else:  # the expression of the field's SQLite index
        custom = f"json_extract(a.custom, '$.\"{CUSTOM_KEY}\"') >= %s"
        params = [minimum]
    return raw._list(
        f"""{custom} AND a.id IN (SELECT t.object_id FROM core_taggedrecord t
                                 WHERE t.content_type_id = %s AND t.tag_id IN (%s))""",
        [*params, raw.account_type, tag_id],
    )


def orm_search(manager: User, typed: str) -> dict[str, list[int]]:
    results = search.search(
        manager, typed, types=[model.security_type for model, _ in SEARCHED], limit=SEARCH_LIMIT
    )
    return {group.object_type: [hit.id for hit in group.hits] for group in results.groups}


def raw_text_search(raw: bench_search.RawSql, typed: str) -> dict[str, list[int]]:
    return {
        model.security_type: [row[0] for row in raw.text([typed], model, table)][:SEARCH_LIMIT]
        for model, table in SEARCHED
    }


def raw_phone_search(raw: bench_search.RawSql, e164: str) -> dict[str, list[int]]:
    return {
        model.security_type: [row[0] for row in raw.phone(e164, model, table)][:SEARCH_LIMIT]
        for model, table in SEARCHED
    }


def search_cases(manager: User, args) -> list:
    text.warm_up()
    registered = set(search.registry.object_types())
    searched = {model.security_type for model, _ in SEARCHED}
    if registered != searched:
        print(
            f"note: global search also covers {sorted(registered - searched)}; measured here: "
            f"{sorted(searched)} only",
            flush=True,
        )
    raw = bench_search.RawSql(manager)
    if args.phone:
        e164 = text.normalize_phone(args.phone)
        assert e164, f"not a phone number: {args.phone!r}"
        typed_phone = args.phone
    else:
        e164, typed_phone = bench_search.visible_phone(manager)
    cases = [
        (
            f"search {typed} ({what})",
            lambda typed=typed: orm_search(manager, typed),
            lambda typed=typed: raw_text_search(raw, typed),
        )
        for what, typed in (
            ("Chinese fragment", args.chinese),
            ("pinyin", args.pinyin),
            ("pinyin initials", args.initials),
        )
    ]
    cases.append(
        (
            f"search {typed_phone} (phone)",
            lambda: orm_search(manager, typed_phone),
            lambda: raw_phone_search(raw, e164),
        )
    )
    for name, orm_call, raw_call in cases:
        found = orm_call()
        if not any(found.values()):
            raise SystemExit(f"{name}: finds nothing the manager may see; type something else.")
        assert found == raw_call(), f"{name}: search and SQL disagree"
    return cases


def sample_accounts(manager: User, count: int) -> list[int]:
    """Up to `count` random accounts the manager may see (one sort of the visible ids)."""
    return list(
        Account.objects.restrict(manager, "view").order_by("?").values_list("pk", flat=True)[:count]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--existing",
        action="store_true",
        required=True,
        help="measure the database at RAPPORT_DATABASE_URL as it is (it is written to)",
    )
    parser.add_argument(
        "--accounts",
        type=int,
        default=1_000_000,
        help="refuse a database with fewer accounts (default: the large size's 1,000,000)",
    )
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--history", type=int, default=500, help="the long history's length")
    parser.add_argument("--employees-min", type=int, default=500, help="the custom filter's bound")
    parser.add_argument("--chinese", default=bench_search.CHINESE_FRAGMENT)
    parser.add_argument("--pinyin", default=bench_search.PINYIN)
    parser.add_argument("--initials", default="htwl", help="initials of 恒通物流 by default")
    parser.add_argument("--phone", help="default: a mobile of a contact the manager sees")
    parser.add_argument("--no-verify", action="store_true", help="skip the audit chain check")
    parser.add_argument(
        "--search-only",
        action="store_true",
        help="measure the search cases only (no preparation: a database without interactions)",
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    vendor = connection.vendor
    version = database_version()
    total = check_database(args.accounts)
    manager = actor()
    visible = Account.objects.restrict(manager, "view").count()
    print(
        f"== {vendor} {version}: {total:,} accounts, {Contact.objects.count():,} contacts, "
        f"{Interaction.objects.count():,} interactions; {manager.username} "
        f"({manager.department.name}, department scope) sees {visible:,} accounts "
        f"({visible / total:.0%}) ==",
        flush=True,
    )

    if args.search_only:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh statistics, as after the demo job
        results = measure_cases(
            search_cases(manager, args), iterations=args.iterations, warmup=args.warmup
        )
        print()
        print(
            f"{vendor} {version}; {total:,} accounts, {Contact.objects.count():,} contacts; "
            f"{manager.username} sees {visible / total:.0%}; search only; {args.iterations} "
            f"timed runs after {args.warmup} warm-up; Python {platform.python_version()}, "
            f"Django {django.get_version()}, {os.cpu_count()} CPUs"
        )
        print()
        print(comparison_table(results))
        if args.json:
            write_results(
                args.json,
                results,
                vendor=vendor,
                version=version,
                accounts=total,
                actor=manager.username,
                visible_share=visible / total,
            )
        return

    admin = User.objects.filter(username="admin", is_active=True).first()
    if admin is None:
        raise SystemExit("No active user 'admin' (the demo administrator) to prepare with.")
    prepared = ensure_custom_field(admin, 1, 2000)
    vip, tagged = ensure_tag(admin)
    short, long, topped = history_accounts(manager, args.history)
    prepared.update(tagged)
    prepared.update(topped)
    prepared["analyze_s"] = analyze(prepared)
    print(
        "prepared: "
        + ", ".join(
            f"{key} {value:.1f}" if isinstance(value, float) else f"{key} {value:,}"
            for key, value in prepared.items()
        ),
        flush=True,
    )

    raw = c360.RawSql(manager)
    filter_text = f"cf.{CUSTOM_KEY} >= {args.employees_min} and tag = {vip.pk}"
    queries = c360.check_query_count(manager, short, long)
    lengths = (short.interactions.count(), long.interactions.count())  # before the logged calls
    cases = [
        (
            f"list page 1, {filter_text.replace(str(vip.pk), TAG)}",
            lambda: orm_custom_tag_list(manager, filter_text),
            lambda: raw_custom_tag_list(raw, args.employees_min, vip.pk),
        ),
        (
            f"360 reads, {lengths[1]:,} interactions",
            lambda: c360.orm_account_page(manager, long.pk),
            lambda: raw.account_page(long.pk),
        ),
        ("my tasks, page 1", lambda: c360.orm_my_tasks(manager), raw.my_tasks),
    ]
    c360.check_same_rows(cases)
    cases.insert(2, c360.random_account_case(manager, raw, sample_accounts(manager, 2000)))
    cases[1:1] = search_cases(manager, args)
    runs = args.iterations + args.warmup
    contact = long.contacts.order_by("id").first()
    cases.append(c360.log_call_case(manager, raw, long, contact, runs))
    results = measure_cases(cases, iterations=args.iterations, warmup=args.warmup)

    verified = None
    if not args.no_verify:
        verified = chain.verify()
        assert verified.ok, f"audit chain broken at #{verified.first_bad_seq}: {verified.reason}"
    print()
    print(
        f"{vendor} {version}; {total:,} accounts; {manager.username} sees {visible / total:.0%}; "
        f"360 reads: {queries} queries with {lengths[0]:,} and {lengths[1]:,} interactions; "
        f"{args.iterations} timed runs after "
        f"{args.warmup} warm-up; Python {platform.python_version()}, Django "
        f"{django.get_version()}, {os.cpu_count()} CPUs"
        + (f"; audit chain verified ({verified.checked:,} events)" if verified else "")
    )
    print()
    print(comparison_table(results))
    if args.json:
        write_results(
            args.json,
            results,
            vendor=vendor,
            version=version,
            accounts=total,
            actor=manager.username,
            visible_share=visible / total,
            prepared=prepared,
            queries_360=queries,
        )


if __name__ == "__main__":
    main()
