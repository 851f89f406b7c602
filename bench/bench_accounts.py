"""Account list and detail as a department-scoped sales manager: ORM beside raw SQL.

Run through bench/run.py, which points RAPPORT_DATABASE_URL at a fresh database. This
script migrates it, generates the accounts with the demo bulk generator, then measures:

- list, page 1: `Account.objects.restrict(manager, "view")` + a filter, `select_related("owner")`,
  ordered by (name, id), 51 rows (the page of 50 plus one to know whether there is a next
  page: what `rapport.core.paging.cursor_page` fetches);
- list, page 2: the same with the keyset condition (name, id) > last row of page 1;
- detail: `policy.get_for(manager, "view", Account, pk)` + `record_viewed` (an audit event
  appended to the hash chain, then the mass-viewing behaviour rule after commit);

each beside hand-written SQL on a cursor doing the same work, in the same run. Before timing,
both sides are checked to return the same rows, and the audit chain (with the raw side's
events in it) is verified at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import timedelta
from itertools import cycle
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

import django  # noqa: E402

django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Q  # noqa: E402
from django.utils import timezone  # noqa: E402
from harness import (  # noqa: E402
    comparison_table,
    database_version,
    measure_cases,
    write_results,
)

from rapport.audit import chain  # noqa: E402
from rapport.audit.models import Alert, AuditEvent, BehaviourRule  # noqa: E402
from rapport.core import context  # noqa: E402
from rapport.customers import services  # noqa: E402
from rapport.customers.models import Account  # noqa: E402
from rapport.identity import policy  # noqa: E402
from rapport.identity.models import User  # noqa: E402
from rapport.web import demo  # noqa: E402

PAGE = 50
LIST_PROVINCE = "江苏省"


def build(accounts: int, reps: int) -> dict:
    started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    migrated = time.monotonic()
    data = demo.DemoData(2026, first_serial=demo.next_serial())
    users = demo.build_organisation()
    owners = [users[u.username] for u in demo.DEMO_USERS if u.owns_accounts]
    owners += demo.add_sales_reps(reps, generator=data)
    organised = time.monotonic()
    made = demo.bulk_generate(
        owners=demo.owners_of(owners), accounts=accounts, contacts=0, data=data, batch_size=5000
    )
    generated = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "migrate_s": migrated - started,
        "organisation_s": organised - migrated,
        "generate_s": generated - organised,
        "rows_per_min": made["accounts"] / (generated - organised) * 60,
        "owners": len(owners),
    }


# --- the raw SQL side ----------------------------------------------------------------------

RESTRICTION = """(
    a.owner_id = %s
    OR a.owner_id IN (
        SELECT u2.id FROM identity_user u2
        JOIN identity_department d ON d.id = u2.department_id
        WHERE d.path LIKE %s
    )
    OR a.id IN (
        SELECT s.object_id FROM identity_recordshare s
        WHERE s.user_id = %s AND s.content_type_id = %s AND s.level IN ('view', 'change')
    )
)"""


class RawSql:
    """Hand-written SQL for the manager's reads and the audited view."""

    def __init__(self, manager: User) -> None:
        self.manager = manager
        self.scope_params = [
            manager.pk,
            manager.department.path + "%",
            manager.pk,
            ContentType.objects.get_for_model(Account).pk,
        ]
        self.rule = BehaviourRule.objects.get(code="mass_view")
        self.for_update = " FOR UPDATE" if connection.features.has_select_for_update else ""

    def page(self, where: str, params: list, after: tuple[str, int] | None = None) -> list[tuple]:
        sql = f"""
            SELECT a.*, u.*
            FROM customers_account a
            JOIN identity_user u ON u.id = a.owner_id
            WHERE {RESTRICTION} AND {where}
            {"AND (a.name > %s OR (a.name = %s AND a.id > %s))" if after else ""}
            ORDER BY a.name, a.id
            LIMIT {PAGE + 1}
        """
        keyset = [after[0], after[0], after[1]] if after else []
        with connection.cursor() as cursor:
            cursor.execute(sql, [*self.scope_params, *params, *keyset])
            return cursor.fetchall()

    def detail(self, pk: int) -> tuple:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT a.* FROM customers_account a WHERE a.id = %s AND {RESTRICTION}",
                [pk, *self.scope_params],
            )
            row = cursor.fetchone()
            if row is None:
                raise LookupError(pk)
            name = row[[col[0] for col in cursor.description].index("name")]
            self._append_view_event(cursor, pk, name)
            self._mass_view_rule(cursor)
        return row

    def _append_view_event(self, cursor, pk: int, name: str) -> None:
        request = context.current()
        with transaction.atomic():
            cursor.execute(
                f"SELECT last_seq, last_hash FROM audit_chainhead WHERE id = 1{self.for_update}"
            )
            last_seq, last_hash = cursor.fetchone()
            event = AuditEvent(
                seq=last_seq + 1,
                at=timezone.now(),
                actor_id=self.manager.pk,
                actor_repr=self.manager.username,
                action="view",
                object_type="customers.account",
                object_id=str(pk),
                object_repr=name[:200],
                changes={},
                result="success",
                ip=request.ip,
                user_agent=request.user_agent,
                channel=request.channel,
                extra={},
                prev_hash=last_hash,
            )
            event_hash = chain.content_hash(last_hash, chain.event_content(event))
            cursor.execute(
                """INSERT INTO audit_auditevent (seq, at, actor_id, actor_repr, action,
                       object_type, object_id, object_repr, changes, result, ip, user_agent,
                       channel, extra, prev_hash, hash)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                [
                    event.seq,
                    connection.ops.adapt_datetimefield_value(event.at),
                    event.actor_id,
                    event.actor_repr,
                    event.action,
                    event.object_type,
                    event.object_id,
                    event.object_repr,
                    "{}",
                    event.result,
                    event.ip,
                    event.user_agent,
                    event.channel,
                    "{}",
                    event.prev_hash,
                    event_hash,
                ],
            )
            cursor.execute(
                "UPDATE audit_chainhead SET last_seq = %s, last_hash = %s WHERE id = 1",
                [event.seq, event_hash],
            )

    def _mass_view_rule(self, cursor) -> None:
        # What evaluate_rules does after commit for a customer "view" event.
        cursor.execute("SELECT enabled FROM audit_behaviourrule WHERE code = 'mass_view'")
        if not cursor.fetchone()[0]:
            return
        since = timezone.now() - timedelta(minutes=self.rule.window_minutes)
        cursor.execute(
            """SELECT COUNT(*) FROM (
                   SELECT DISTINCT object_type, object_id FROM audit_auditevent
                   WHERE actor_id = %s AND action = 'view' AND at >= %s
                     AND object_type IN ('customers.account', 'customers.contact')
               ) viewed""",
            [self.manager.pk, connection.ops.adapt_datetimefield_value(since)],
        )
        if cursor.fetchone()[0] >= self.rule.threshold:
            cursor.execute(
                """SELECT 1 FROM audit_alert WHERE rule = 'mass_view'
                   AND acknowledged_at IS NULL AND created_at >= %s AND subject_id = %s LIMIT 1""",
                [connection.ops.adapt_datetimefield_value(since), self.manager.pk],
            )
            cursor.fetchone()


# --- the ORM side --------------------------------------------------------------------------


def orm_page(manager: User, condition: Q, after: tuple[str, int] | None = None) -> list[Account]:
    accounts = (
        Account.objects.restrict(manager, "view")
        .filter(condition)
        .select_related("owner")
        .order_by("name", "id")
    )
    if after:
        accounts = accounts.filter(Q(name__gt=after[0]) | Q(name=after[0], id__gt=after[1]))
    return list(accounts[: PAGE + 1])


def orm_detail(manager: User, pk: int) -> Account:
    account = policy.get_for(manager, "view", Account, pk)
    services.record_viewed(actor=manager, record=account)
    return account


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=80, help="extra sales reps owning accounts")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    vendor = connection.vendor
    print(f"== {vendor}: building {args.accounts:,} accounts ==", flush=True)
    built = build(args.accounts, args.reps)
    manager = User.objects.select_related("department").get(username="sales_manager")
    visible = Account.objects.restrict(manager, "view")
    total = Account.objects.count()
    share = visible.count() / total
    print(
        f"migrate {built['migrate_s']:.1f} s, organisation {built['organisation_s']:.1f} s, "
        f"bulk insert {built['generate_s']:.1f} s ({built['rows_per_min']:,.0f} accounts/min); "
        f"{built['owners']} owners; "
        f"manager sees {share:.0%} of {total:,} accounts",
        flush=True,
    )
    raw = RawSql(manager)
    version = database_version()

    tier_a = orm_page(manager, Q(tier="A"))
    last = (tier_a[PAGE - 1].name, tier_a[PAGE - 1].pk)
    detail_ids = list(visible.order_by("?").values_list("pk", flat=True)[:2000])
    cases = [
        (
            "list page 1, tier A",
            lambda: orm_page(manager, Q(tier="A")),
            lambda: raw.page("a.tier = %s", ["A"]),
        ),
        (
            f"list page 1, province {LIST_PROVINCE}",
            lambda: orm_page(manager, Q(province=LIST_PROVINCE)),
            lambda: raw.page("a.province = %s", [LIST_PROVINCE]),
        ),
        (
            "list page 1, no filter",
            lambda: orm_page(manager, Q()),
            lambda: raw.page("1 = 1", []),
        ),
        (
            "list page 2 (keyset), tier A",
            lambda: orm_page(manager, Q(tier="A"), after=last),
            lambda: raw.page("a.tier = %s", ["A"], after=last),
        ),
    ]
    # Both sides must return the same rows, or the comparison means nothing.
    for name, orm_call, raw_call in cases:
        orm_ids = [account.pk for account in orm_call()]
        raw_ids = [row[0] for row in raw_call()]
        assert orm_ids == raw_ids and orm_ids, f"{name}: ORM and SQL disagree"
    assert raw.detail(detail_ids[0])[0] == orm_detail(manager, detail_ids[0]).pk

    orm_ids, raw_ids = cycle(detail_ids), cycle(reversed(detail_ids))
    cases.append(
        (
            "detail + audited view",
            lambda: orm_detail(manager, next(orm_ids)),
            lambda: raw.detail(next(raw_ids)),
        )
    )

    results = measure_cases(cases, iterations=args.iterations, warmup=args.warmup)

    verified = chain.verify()
    assert verified.ok, f"audit chain broken at #{verified.first_bad_seq}: {verified.reason}"
    alerts = Alert.objects.filter(rule="mass_view").count()

    print()
    print(
        f"{vendor} {version}, {total:,} accounts, manager sees {share:.0%}; "
        f"{args.iterations} timed runs after {args.warmup} warm-up; Python "
        f"{platform.python_version()}, Django {django.get_version()}, {os.cpu_count()} CPUs; "
        f"audit chain verified ({verified.checked:,} events, {alerts} mass-view alert)"
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
            visible_share=share,
            build=built,
        )


if __name__ == "__main__":
    main()
