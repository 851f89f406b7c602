"""Customers 360 as a department-scoped sales manager: ORM beside raw SQL.

Run through bench/run.py, which points RAPPORT_DATABASE_URL at a fresh database. This
script migrates it, generates accounts, contacts (with roles and the blind index) and
interactions (one in ten a task) with the demo bulk generator, tags the accounts, then
measures, each beside hand-written SQL doing the same work on a cursor in the same run:

- the account 360 page's reads: the restricted get, the contacts with their roles, timeline
  page 1 (`interactions_for` started from `Interaction.objects.of_customer` + `timeline`,
  with participants and attachments prefetched), the open tasks, and who last changed the
  stage and the tier (`last_changes`). The number of queries is asserted to be the same for
  an account with 5 and with 500 interactions;
- the account list (page 1 of 50 + 1) filtered by a tag (`with_tags`, tag and the tags below
  it) and by the filter language (`tier in (A, B) and updated_at < today-30`);
- logging a call through `services.interaction_log` (permission checks, validation, the
  audited insert, the outbox event) beside the raw inserts of the same rows and audit event;
- "My tasks": the manager's open tasks by due date (page 1 of 50 + 1), started from
  `Interaction.objects.assigned_to`.

bench_large.py reuses these functions against an existing (large) demo database.

Before timing, both sides are checked to return the same rows; the audit chain (with the
raw side's events in it) is verified at the end.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

import django  # noqa: E402

django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from harness import (  # noqa: E402
    comparison_table,
    database_version,
    measure_cases,
    write_results,
)

from rapport.audit import chain  # noqa: E402
from rapport.audit.models import AuditEvent  # noqa: E402
from rapport.core import context, crypto  # noqa: E402
from rapport.core.tags.models import Tag, TaggedRecord  # noqa: E402
from rapport.core.tags.selectors import with_tags  # noqa: E402
from rapport.customers import services  # noqa: E402
from rapport.customers.filtering import apply_filter  # noqa: E402
from rapport.customers.models import (  # noqa: E402
    Account,
    Contact,
    Interaction,
)
from rapport.customers.querysets import (  # noqa: E402
    OPEN_TASKS_SHOWN,
    TIMELINE_PAGE,
    interactions_for,
    last_changes,
    open_tasks,
    timeline,
)
from rapport.customers.services.interactions import INTERACTION_FIELDS  # noqa: E402
from rapport.identity import policy  # noqa: E402
from rapport.identity.models import User  # noqa: E402
from rapport.web import demo, demo_history  # noqa: E402

PAGE = 50
RELATED_LIMIT = 20  # contacts shown on the 360 page (customers.views.RELATED_LIMIT)
FILTER = "tier in (A, B) and updated_at < today-30"
TAG = "VIP"
INTERACTION_COLUMNS = {field.column for field in Interaction._meta.concrete_fields}


def build(accounts: int, contacts: int, interactions: int, reps: int) -> dict:
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
        interactions=interactions,
        data=data,
        batch_size=5000,
        index=False,  # no search here: bench_search measures it
    )
    generated = time.monotonic()
    tagged = tag_accounts(users["admin"])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    finished = time.monotonic()
    rows = sum(made.values())
    return {
        "migrate_s": migrated - started,
        "organisation_s": organised - migrated,
        "generate_s": generated - organised,
        "tag_s": finished - generated,
        "made": made,
        "tagged": tagged,
        "records_per_min": (made["accounts"] + made["contacts"] + made["interactions"])
        / (generated - organised)
        * 60,
        "rows_per_min": rows / (generated - organised) * 60,
        "owners": len(owners),
    }


def tag_accounts(admin: User) -> int:
    """The demo tag tree; VIP on A-tier accounts, an industry tag on the rest (in bulk)."""
    tags = demo.build_tags(admin=admin)
    content_type = ContentType.objects.get_for_model(Account)
    made = 0
    rows = Account.objects.values_list("pk", "tier", "industry").order_by("pk").iterator(5000)
    batch: list[TaggedRecord] = []
    for pk, tier, industry in rows:
        names = [TAG] if tier == "A" else []
        if industry in demo.INDUSTRY_TAGS:
            names.append(demo.INDUSTRY_TAGS[industry])
        batch += [
            TaggedRecord(content_type=content_type, object_id=pk, tag=tags[name], tagged_by=admin)
            for name in names
        ]
        if len(batch) >= 5000:
            made += len(TaggedRecord.objects.bulk_create(batch))
            batch = []
    made += len(TaggedRecord.objects.bulk_create(batch))
    return made


def two_accounts(manager: User) -> tuple[Account, Account]:
    """An account of the manager's with 5 interactions (logged through the services) and one
    with 500 (in bulk), for the fixed-query-count check."""
    rng = demo.DemoData(7).rng
    history = demo_history.HistoryData(rng, as_of=timezone.now())
    small = services.account_create(
        actor=manager,
        owner=manager,
        **demo.account_fields(demo.DemoData(8, first_serial=demo.next_serial()).account()),
    )
    contact = services.contact_create(
        actor=manager, owner=manager, accounts=[small], name="周晓梅", phones=["+8613900001111"]
    )
    for _ in range(5):
        services.interaction_log(
            actor=manager, account=small, contact=contact, **history.interaction(english=False)
        )
    big = (
        Account.objects.restrict(manager, "view")
        .filter(owner=manager, contacts__isnull=False)
        .order_by("id")
        .first()
    )
    assert big is not None, "the manager owns no account with contacts"
    add_history(manager, big, 500, history)
    return small, big


def add_history(
    owner: User, account: Account, total: int, history: demo_history.HistoryData
) -> int:
    """Bring `account` up to `total` interactions (in bulk, spread over its contacts, a few
    meetings with participants so the prefetches have rows to fetch). Returns the rows added;
    none when it has that many already."""
    people = list(account.contacts.order_by("id"))
    assert people, f"account {account.pk} has no contacts"
    rows = []
    for position in range(max(0, total - account.interactions.count())):
        values = history.interaction(english=False)
        rows.append(
            Interaction(
                account=account,
                contact=people[position % len(people)],
                owner=owner,
                created_by=owner,
                **values,
            )
        )
    created = Interaction.objects.bulk_create(rows)
    meetings = [row for row in created if row.kind in ("meeting", "visit")][:20]
    for row in meetings:
        row.participant_contacts.add(people[-1])
        row.participant_users.add(owner)
    return len(created)


# --- the ORM side --------------------------------------------------------------------------


def orm_account_page(manager: User, pk: int) -> dict:
    """The reads `detail_views.render_account` makes for the page's content."""
    account = policy.get_for(manager, "view", Account, pk)
    contacts = list(
        Contact.objects.restrict(manager, "view")
        .filter(accountcontact__account=account)
        .annotate(role_here=F("accountcontact__role"))
        .only("pk", "name", "title", "phones", "emails", "id_number", "is_active")
        .order_by("name", "id")[: RELATED_LIMIT + 1]
    )
    # As `detail_views._activity_context`: the customer's visibility checked once, then a
    # plain walk of its interactions ("controlled by parent").
    mine = interactions_for(manager, Interaction.objects.of_customer(manager, account=account))
    page = list(timeline(mine).order_by("-occurred_at", "-id")[: TIMELINE_PAGE + 1])
    tasks = list(open_tasks(mine)[: OPEN_TASKS_SHOWN + 1])
    changed = last_changes(account, ("lifecycle_stage", "tier"))
    return {
        "account": account.pk,
        "contacts": [(contact.pk, contact.role_here) for contact in contacts],
        "timeline": [row.pk for row in page],
        "tasks": [task.pk for task in tasks],
        "changed": sorted(changed),
    }


def orm_list(manager: User, accounts) -> list[int]:
    page = accounts.select_related("owner").defer("owner__password").order_by("name", "id")
    return [account.pk for account in page[: PAGE + 1]]


def orm_tag_list(manager: User, tag_id: int) -> list[int]:
    return orm_list(manager, with_tags(Account.objects.restrict(manager, "view"), [tag_id]))


def orm_filter_list(manager: User) -> list[int]:
    return orm_list(
        manager,
        apply_filter(
            Account.objects.restrict(manager, "view"), manager, Account.security_type, FILTER
        ),
    )


def orm_my_tasks(manager: User) -> list[int]:
    # As `detail_views.task_list` ("mine"): one's own tasks need no per-row visibility check.
    tasks = (
        interactions_for(manager, Interaction.objects.assigned_to(manager))
        .filter(
            kind="task",
            is_active=True,
            done_at__isnull=True,
            due_at__isnull=False,
            assignee=manager,
        )
        .order_by("due_at", "id")
    )
    return [task.pk for task in tasks[: PAGE + 1]]


def orm_log(manager: User, account: Account, contact: Contact, values: dict) -> int:
    return services.interaction_log(actor=manager, account=account, contact=contact, **values).pk


# --- the raw SQL side ----------------------------------------------------------------------


def restriction(alias: str) -> str:
    """The manager's view scope on accounts or contacts: own, their department, shares."""
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


TIMELINE_COLUMNS = """i.*, o.username, o.display_name, c.name, ac.name, asg.username,
    asg.display_name, db.username"""
TIMELINE_JOINS = """
    LEFT JOIN identity_user o ON o.id = i.owner_id
    LEFT JOIN customers_contact c ON c.id = i.contact_id
    LEFT JOIN customers_account ac ON ac.id = i.account_id
    LEFT JOIN identity_user asg ON asg.id = i.assignee_id
    LEFT JOIN identity_user db ON db.id = i.done_by_id"""


class RawSql:
    """Hand-written SQL for the same reads and the same audited write."""

    def __init__(self, manager: User) -> None:
        self.manager = manager
        self.postgresql = connection.vendor == "postgresql"
        path = manager.department.path + "%"
        self.account_scope = [
            manager.pk,
            path,
            manager.pk,
            ContentType.objects.get_for_model(Account).pk,
        ]
        self.contact_scope = [
            manager.pk,
            path,
            manager.pk,
            ContentType.objects.get_for_model(Contact).pk,
        ]
        self.account_type = ContentType.objects.get_for_model(Account).pk
        self.for_update = " FOR UPDATE" if connection.features.has_select_for_update else ""

    def _rows(self, sql: str, params: list) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _prefetch(self, cursor, ids: list[int]) -> None:
        """Participants (contacts the manager may see, users) and attachments of the rows."""
        if not ids:
            return
        marks = ", ".join(["%s"] * len(ids))
        cursor.execute(
            f"""SELECT p.interaction_id, c.id, c.name FROM customers_contact c
                JOIN customers_interaction_participant_contacts p ON p.contact_id = c.id
                WHERE p.interaction_id IN ({marks}) AND {restriction("c")}""",
            [*ids, *self.contact_scope],
        )
        cursor.fetchall()
        cursor.execute(
            f"""SELECT p.interaction_id, u.id, u.username, u.display_name FROM identity_user u
                JOIN customers_interaction_participant_users p ON p.user_id = u.id
                WHERE p.interaction_id IN ({marks})""",
            ids,
        )
        cursor.fetchall()
        cursor.execute(
            f"""SELECT id, interaction_id, name, size, content_type FROM customers_attachment
                WHERE is_active AND interaction_id IN ({marks})""",
            ids,
        )
        cursor.fetchall()

    def account_page(self, pk: int) -> dict:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT a.* FROM customers_account a WHERE a.id = %s AND {restriction('a')}",
                [pk, *self.account_scope],
            )
            if cursor.fetchone() is None:
                raise LookupError(pk)
            cursor.execute(
                f"""SELECT c.id, c.name, c.title, c.phones, c.emails, c.id_number, c.is_active,
                           l.role
                    FROM customers_contact c
                    JOIN customers_contact_accounts l ON l.contact_id = c.id
                    WHERE l.account_id = %s AND {restriction("c")}
                    ORDER BY c.name, c.id LIMIT {RELATED_LIMIT + 1}""",
                [pk, *self.contact_scope],
            )
            contacts = cursor.fetchall()
            for row in contacts:  # the same decryption the ORM's fields do
                for value in row[3:6]:
                    if crypto.is_encrypted(value):
                        crypto.decrypt(value)
            cursor.execute(
                f"""SELECT {TIMELINE_COLUMNS} FROM customers_interaction i {TIMELINE_JOINS}
                    WHERE i.account_id = %s
                      AND i.is_active AND NOT (i.kind = 'task' AND i.done_at IS NULL)
                    ORDER BY i.occurred_at DESC, i.id DESC LIMIT {TIMELINE_PAGE + 1}""",
                [pk],
            )
            page = cursor.fetchall()
            self._prefetch(cursor, [row[0] for row in page])
            cursor.execute(
                f"""SELECT {TIMELINE_COLUMNS} FROM customers_interaction i {TIMELINE_JOINS}
                    WHERE i.account_id = %s
                      AND i.kind = 'task' AND i.is_active AND i.done_at IS NULL
                    ORDER BY i.due_at ASC NULLS LAST, i.id ASC LIMIT {OPEN_TASKS_SHOWN + 1}""",
                [pk],
            )
            tasks = cursor.fetchall()
            self._prefetch(cursor, [row[0] for row in tasks])
            changed = []
            for field in ("lifecycle_stage", "tier"):
                has_key = (
                    "e.changes ? %s" if self.postgresql else "JSON_TYPE(e.changes, %s) IS NOT NULL"
                )
                cursor.execute(
                    f"""SELECT e.at, e.actor_repr, u.username, u.display_name
                        FROM audit_auditevent e LEFT JOIN identity_user u ON u.id = e.actor_id
                        WHERE e.object_type = %s AND e.object_id = %s AND {has_key}
                        ORDER BY e.seq DESC LIMIT 1""",
                    [
                        Account.security_type,
                        str(pk),
                        field if self.postgresql else f'$."{field}"',
                    ],
                )
                if cursor.fetchone() is not None:
                    changed.append(field)
        return {
            "account": pk,
            "contacts": [(row[0], row[7]) for row in contacts],
            "timeline": [row[0] for row in page],
            "tasks": [row[0] for row in tasks],
            "changed": sorted(changed),
        }

    def _list(self, where: str, params: list) -> list[int]:
        rows = self._rows(
            f"""SELECT a.*, u.id, u.username, u.display_name, u.email
                FROM customers_account a JOIN identity_user u ON u.id = a.owner_id
                WHERE {restriction("a")} AND {where}
                ORDER BY a.name, a.id LIMIT {PAGE + 1}""",
            [*self.account_scope, *params],
        )
        return [row[0] for row in rows]

    def tag_list(self, tag_ids: list[int]) -> list[int]:
        marks = ", ".join(["%s"] * len(tag_ids))
        return self._list(
            f"""a.id IN (SELECT t.object_id FROM core_taggedrecord t
                         WHERE t.content_type_id = %s AND t.tag_id IN ({marks}))""",
            [self.account_type, *tag_ids],
        )

    def filter_list(self) -> list[int]:
        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        return self._list(
            "a.tier IN (%s, %s) AND a.updated_at < %s",
            ["A", "B", connection.ops.adapt_datetimefield_value(today - timedelta(days=30))],
        )

    def my_tasks(self) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT {TIMELINE_COLUMNS} FROM customers_interaction i {TIMELINE_JOINS}
                    WHERE i.assignee_id = %s AND i.kind = 'task' AND i.is_active
                      AND i.done_at IS NULL AND i.due_at IS NOT NULL
                    ORDER BY i.due_at, i.id LIMIT {PAGE + 1}""",
                [self.manager.pk],
            )
            rows = cursor.fetchall()
            self._prefetch(cursor, [row[0] for row in rows])
        return [row[0] for row in rows]

    def log(self, account: Account, contact: Contact, values: dict) -> int:
        """What `interaction_log` writes: the grant check, the account and the contact checked
        visible, the row, its audit event on the chain, the outbox event."""
        now = timezone.now()
        adapt = connection.ops.adapt_datetimefield_value
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT a.id, a.name FROM customers_account a WHERE a.id = %s AND "
                f"{restriction('a')}",
                [account.pk, *self.account_scope],
            )
            assert cursor.fetchone()
            cursor.execute(
                f"SELECT c.id, c.name FROM customers_contact c WHERE c.id = %s AND "
                f"{restriction('c')}",
                [contact.pk, *self.contact_scope],
            )
            assert cursor.fetchone()
            with transaction.atomic():
                row = {
                    "created_at": now,
                    "updated_at": now,
                    "owner_id": self.manager.pk,
                    "created_by_id": self.manager.pk,
                    "account_id": account.pk,
                    "contact_id": contact.pk,
                    "priority": "normal",
                    "is_active": True,
                    **values,
                }
                if "custom" in INTERACTION_COLUMNS:  # custom fields, when that column exists
                    row["custom"] = "{}"
                placeholders = ", ".join(["%s"] * len(row))
                cursor.execute(
                    f"INSERT INTO customers_interaction ({', '.join(row)}) "
                    f"VALUES ({placeholders}) RETURNING id",
                    [
                        adapt(value) if isinstance(value, datetime) else value
                        for value in row.values()
                    ],
                )
                pk = cursor.fetchone()[0]
                snapshot = {
                    name: row.get(f"{name}_id" if name in ("account", "contact", "owner") else name)
                    for name in INTERACTION_FIELDS
                }
                changes = {
                    name: [None, value.isoformat() if hasattr(value, "isoformat") else value]
                    for name, value in snapshot.items()
                    if value not in (None, "", [])
                }
                self._append_event(cursor, pk, values["subject"], changes)
                cursor.execute(
                    """INSERT INTO core_outboxmessage (topic, payload, idempotency_key, created_at,
                           attempts, last_error) VALUES (%s, %s, %s, %s, 0, '')""",
                    [
                        "record.created",
                        json.dumps(
                            {
                                "type": "customers.interaction",
                                "id": pk,
                                "kind": values["kind"],
                                "account": account.pk,
                                "contact": contact.pk,
                            }
                        ),
                        uuid.uuid4().hex,
                        adapt(now),
                    ],
                )
        return pk

    def _append_event(self, cursor, pk: int, subject: str, changes: dict) -> None:
        request = context.current()
        cursor.execute(
            f"SELECT last_seq, last_hash FROM audit_chainhead WHERE id = 1{self.for_update}"
        )
        last_seq, last_hash = cursor.fetchone()
        event = AuditEvent(
            seq=last_seq + 1,
            at=timezone.now(),
            actor_id=self.manager.pk,
            actor_repr=self.manager.username,
            action="create",
            object_type="customers.interaction",
            object_id=str(pk),
            object_repr=subject[:200],
            changes=changes,
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
                json.dumps(changes),
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


def count_queries(operation) -> int:
    with CaptureQueriesContext(connection) as captured:
        operation()
    return len(captured.captured_queries)


def check_query_count(manager: User, short: Account, long: Account) -> int:
    """The 360 page costs the same number of queries whatever the history's length (asserted
    for an account with a short and one with a long history). Returns that number."""
    policy.get_for(manager, "view", Account, short.pk)  # grants cached, as within a request
    queries_short = count_queries(lambda: orm_account_page(manager, short.pk))
    queries_long = count_queries(lambda: orm_account_page(manager, long.pk))
    assert queries_short == queries_long, (queries_short, queries_long)
    print(
        f"account 360 reads: {queries_short} queries with {short.interactions.count():,} "
        f"interactions and with {long.interactions.count():,}",
        flush=True,
    )
    return queries_short


def check_same_rows(cases) -> None:
    """Both sides must return the same rows (and some), or the comparison means nothing."""
    for name, orm_call, raw_call in cases:
        orm_rows, raw_rows = orm_call(), raw_call()
        assert orm_rows == raw_rows and orm_rows, f"{name}: ORM and SQL disagree"


def random_account_case(manager: User, raw: RawSql, visible_ids: list[int]):
    """The 360 reads of accounts taken in turn from `visible_ids` (the two sides from
    opposite ends), after checking both sides agree on the first 50."""
    assert visible_ids, "the manager sees no account with interactions"
    for pk in visible_ids[:50]:
        assert orm_account_page(manager, pk) == raw.account_page(pk), pk
    orm_ids = itertools.cycle(visible_ids)
    raw_ids = itertools.cycle(reversed(visible_ids))
    return (
        "360 reads, random account",
        lambda: orm_account_page(manager, next(orm_ids)),
        lambda: raw.account_page(next(raw_ids)),
    )


def log_call_case(manager: User, raw: RawSql, account: Account, contact: Contact, runs: int):
    """Logging a call on `account` with `contact`, `runs` times a side (plus one each to check
    that both sides store the same row first)."""
    history = demo_history.HistoryData(demo.DemoData(9).rng, as_of=timezone.now())
    log_values = [history.interaction(english=False, kind="call") for _ in range(2 * runs + 2)]
    for values in log_values:
        values["occurred_at"] = timezone.now() - timedelta(hours=1)
    orm_values, raw_values = iter(log_values), iter(reversed(log_values))
    stored = [
        Interaction.objects.filter(pk=pk).values("kind", "account_id", "contact_id", "owner_id")[0]
        for pk in (
            orm_log(manager, account, contact, next(orm_values)),
            raw.log(account, contact, next(raw_values)),
        )
    ]
    assert stored[0] == stored[1], stored
    return (
        "log a call (audited)",
        lambda: orm_log(manager, account, contact, next(orm_values)),
        lambda: raw.log(account, contact, next(raw_values)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, help="default: 3 per account")
    parser.add_argument("--interactions", type=int, help="default: 10 per account")
    parser.add_argument("--reps", type=int, default=80, help="extra sales reps owning accounts")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    contacts = args.contacts if args.contacts is not None else args.accounts * 3
    interactions = args.interactions if args.interactions is not None else args.accounts * 10

    vendor = connection.vendor
    print(
        f"== {vendor}: building {args.accounts:,} accounts, {contacts:,} contacts, "
        f"{interactions:,} interactions ==",
        flush=True,
    )
    built = build(args.accounts, contacts, interactions, args.reps)
    manager = User.objects.select_related("department").get(username="sales_manager")
    total = Account.objects.count()
    share = Account.objects.restrict(manager, "view").count() / total
    print(
        f"migrate {built['migrate_s']:.1f} s, organisation {built['organisation_s']:.1f} s, "
        f"bulk insert {built['generate_s']:.1f} s ({built['records_per_min']:,.0f} "
        f"records/min, {built['rows_per_min']:,.0f} rows/min with links, blind index, consents, "
        f"participants), tags {built['tag_s']:.1f} s ({built['tagged']:,} links); "
        f"manager sees {share:.0%} of {total:,} accounts",
        flush=True,
    )
    small, big = two_accounts(manager)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    version = database_version()
    raw = RawSql(manager)
    vip = Tag.objects.get(name=TAG, parent=None)

    queries = check_query_count(manager, small, big)
    visible_ids = list(
        Account.objects.restrict(manager, "view")
        .filter(interactions__isnull=False)
        .order_by("?")
        .values_list("pk", flat=True)
        .distinct()[:2000]
    )
    cases = [
        (
            "360 reads, 500 interactions",
            lambda: orm_account_page(manager, big.pk),
            lambda: raw.account_page(big.pk),
        ),
        (
            f"list page 1, tag {TAG}",
            lambda: orm_tag_list(manager, vip.pk),
            lambda: raw.tag_list([vip.pk]),
        ),
        (
            "list page 1, filter language",
            lambda: orm_filter_list(manager),
            lambda: raw.filter_list(),
        ),
        ("my tasks, page 1", lambda: orm_my_tasks(manager), lambda: raw.my_tasks()),
    ]
    check_same_rows(cases)
    cases.insert(1, random_account_case(manager, raw, visible_ids))
    runs = args.iterations + args.warmup
    cases.append(log_call_case(manager, raw, small, small.contacts.get(), runs))
    results = measure_cases(cases, iterations=args.iterations, warmup=args.warmup)

    verified = chain.verify()
    assert verified.ok, f"audit chain broken at #{verified.first_bad_seq}: {verified.reason}"
    made = built["made"]
    print()
    print(
        f"{vendor} {version}; {total:,} accounts, {made['contacts']:,} contacts, "
        f"{made['interactions']:,} interactions ({made.get('tasks', 0):,} tasks, "
        f"{made.get('open_tasks', 0):,} open); manager sees {share:.0%}; "
        f"{args.iterations} timed runs after {args.warmup} warm-up; Python "
        f"{platform.python_version()}, Django {django.get_version()}, {os.cpu_count()} CPUs; "
        f"audit chain verified ({verified.checked:,} events)"
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
            queries_360=queries,
        )


if __name__ == "__main__":
    main()
