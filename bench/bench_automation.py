"""Automation at scale: what 1,000 active rules add to every write, and how fast the rule
worker runs what they start.

Run through bench/run.py-style fresh databases (RAPPORT_DATABASE_URL). This script migrates,
generates accounts with the demo bulk generator, creates `--rules` active rules on accounts
through `rapport.automation.services` (as an administrator would), then:

1. **Latency per write, rules off vs on, in the same run.** Account updates through
   `customers.services.account_update` (permission, validation, audit, outbox event, and
   after commit the automation matcher), timed with every rule off (`--baseline`, 20,000)
   and with every rule on (`--updates`, 100,000 by default), in `--blocks` alternating
   blocks so that whatever else the machine does weighs on both alike. Most updates change the short name;
   one in twenty changes the tier, which fires the tier rules. Beside each, the hand-written
   SQL doing the same storage work (UPDATE, audit row, outbox row) and, with rules on, also
   the one statement that checks the rules whose trigger fires against the record.
2. **Worker throughput.** The runs the updates queued (the broker replaced by a list) are
   executed by `engine.execute` one after another, as one Celery worker would: runs/s.

The rule mix (deterministic from `--seed`): field-changed rules on fields the updates never
touch (filtered out in memory), "tier changed to X" rules with a condition, "any update"
rules with a two-field condition (checked in SQL on every update, rarely true), stage-changed
and created rules (never fired by these updates). Actions add a tag or send a notification.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from harness import (  # noqa: E402
    Timing,
    comparison_table,
    database_version,
    percentile,
    write_results,
)

from rapport.automation import engine, services  # noqa: E402
from rapport.automation.models import Rule, RuleRun, RunState  # noqa: E402
from rapport.core.tags import services as tag_services  # noqa: E402
from rapport.customers import services as customer_services  # noqa: E402
from rapport.customers.models import Account  # noqa: E402
from rapport.identity.models import User  # noqa: E402
from rapport.web import demo  # noqa: E402

CITIES = ["上海市", "北京市", "广州市", "深圳市", "杭州市", "成都市", "武汉市", "南京市"]
TIERS = ["A", "B", "C"]
STAGES = ["lead", "prospect", "customer", "active", "at_risk", "churned"]
UNTOUCHED_FIELDS = ["industry", "province", "city", "address", "phone", "website"]


def build(accounts: int) -> dict:
    started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    data = demo.DemoData(2026, first_serial=demo.next_serial())
    users = demo.build_organisation()
    owners = [users[u.username] for u in demo.DEMO_USERS if u.owns_accounts]
    made = demo.bulk_generate(
        owners=demo.owners_of(owners),
        accounts=accounts,
        contacts=0,
        data=data,
        batch_size=5000,
        index=False,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"build_s": time.monotonic() - started, "made": made}


def rule_specs(count: int, seed: int, tag_id: int) -> list[dict]:
    """`count` rules on accounts, in the mix the module docstring describes."""
    rng = random.Random(seed)
    specs = []
    for number in range(count):
        share = number % 20
        action = (
            {"type": "add_tags", "tags": [tag_id]}
            if number % 2
            else {"type": "notify", "to": "owner", "message": f"规则 {number} 已触发"}
        )
        spec = {"name": f"基准规则 {number:04d}", "name_en": f"Bench rule {number:04d}"}
        if share < 10:  # half: a field the updates never touch
            spec.update(trigger="updated", trigger_config={"field": rng.choice(UNTOUCHED_FIELDS)})
        elif share < 14:  # a fifth: tier changed to X, and a city condition
            spec.update(
                trigger="updated",
                trigger_config={"field": "tier", "to": rng.choice(TIERS)},
                condition={"field": "city", "op": "=", "value": rng.choice(CITIES)},
            )
        elif share < 17:  # 15%: any update, two-field condition (checked on every update)
            spec.update(
                trigger="updated",
                trigger_config={},
                condition={
                    "and": [
                        {"field": "tier", "op": "=", "value": rng.choice(TIERS)},
                        {"field": "city", "op": "=", "value": rng.choice(CITIES)},
                        {"field": "short_name", "op": "=", "value": f"never-{number}"},
                    ]
                },
            )
        elif share < 19:
            spec.update(trigger="stage_changed", trigger_config={"to": rng.choice(STAGES)})
        else:
            spec.update(trigger="created", trigger_config={})
        spec["actions"] = [action]
        specs.append(spec)
    return specs


def create_rules(admin: User, specs: list[dict]) -> float:
    started = time.monotonic()
    for spec in specs:
        services.rule_create(actor=admin, object_type=Account.security_type, **spec)
    return time.monotonic() - started


def set_all_active(active: bool) -> None:
    """Every bench rule on or off at once (the bench's switch, not a user's path: the
    services would write 1,000 audited versions each time)."""
    from rapport.automation import rulecache

    Rule.objects.filter(name__startswith="基准规则").update(is_active=active)
    rulecache.invalidate()
    rulecache._memory.by_trigger = None


class Updates:
    """An endless, deterministic sequence of account updates (one in twenty a tier change)."""

    def __init__(self, actor: User, account_ids: list[int], seed: int) -> None:
        self.actor = actor
        self.rng = random.Random(seed)
        self.ids = itertools.cycle(account_ids)
        self.count = 0

    def next_change(self) -> tuple[int, dict]:
        self.count += 1
        account_id = next(self.ids)
        if self.count % 20 == 0:
            return account_id, {"tier": self.rng.choice(TIERS)}
        return account_id, {"short_name": f"简称{self.rng.randrange(10**6)}"}

    def orm(self) -> None:
        account_id, values = self.next_change()
        account = Account.objects.get(pk=account_id)
        customer_services.account_update(actor=self.actor, account=account, **values)


class RawSql:
    """The storage the update does, by hand: the row, its audit event, the outbox event;
    with `rules`, also the one statement checking the fired rules against the record."""

    def __init__(self, actor: User, account_ids: list[int], seed: int, specs: list[dict]) -> None:
        self.updates = Updates(actor, account_ids, seed + 1)
        self.actor = actor
        self.specs = specs

    def _rule_check(self, cursor, account_id: int, changed: str) -> None:
        clauses, params = [], []
        for spec in self.specs:
            config = spec.get("trigger_config") or {}
            if spec["trigger"] != "updated" or (config.get("field") not in (None, changed)):
                continue
            parts, values = [], []
            for condition in _leaves(spec.get("condition")):
                parts.append(f"{condition['field']} = %s")
                values.append(condition["value"])
            if "to" in config:
                parts.append(f"{config['field']} = %s")
                values.append(config["to"])
            clauses.append("(" + (" AND ".join(parts) or "TRUE") + ")")
            params.extend(values)
        if clauses:
            cursor.execute(
                f"SELECT {', '.join(clauses)} FROM customers_account WHERE id = %s",
                [*params, account_id],
            )
            cursor.fetchone()

    def run(self, *, rules: bool) -> None:
        account_id, values = self.updates.next_change()
        ((field, value),) = values.items()
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            with transaction.atomic():
                lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
                cursor.execute(
                    f"SELECT {field} FROM customers_account WHERE id = %s{lock}", [account_id]
                )
                before = cursor.fetchone()[0]
                cursor.execute(
                    f"UPDATE customers_account SET {field} = %s, updated_at = %s WHERE id = %s",
                    [value, now, account_id],
                )
                cursor.execute(
                    "INSERT INTO core_outboxmessage (topic, payload, idempotency_key, created_at, "
                    "attempts, last_error) VALUES (%s, %s, %s, %s, 0, '')",
                    [
                        "record.updated",
                        json.dumps(
                            {"type": Account.security_type, "id": account_id, "fields": [field]}
                        ),
                        uuid.uuid4().hex,
                        now,
                    ],
                )
                cursor.execute(
                    "INSERT INTO bench_audit (target, changes, at) VALUES (%s, %s, %s)",
                    [account_id, json.dumps({field: [before, value]}), now],
                )
            if rules:
                self._rule_check(cursor, account_id, field)


def _leaves(tree: dict | None) -> list[dict]:
    if not tree:
        return []
    if "field" in tree:
        return [tree]
    return [leaf for part in next(iter(tree.values())) for leaf in _leaves(part)]


def timed(operation, count: int) -> list[float]:
    clock = time.perf_counter
    durations = []
    for _ in range(count):
        started = clock()
        operation()
        durations.append(clock() - started)
    return durations


def timed_each(operation, items: list) -> list[float]:
    clock = time.perf_counter
    durations = []
    for item in items:
        started = clock()
        operation(item)
        durations.append(clock() - started)
    return durations


def timing(durations: list[float]) -> Timing:
    ordered = sorted(durations)
    return Timing(
        iterations=len(ordered),
        p50_ms=percentile(ordered, 0.5) * 1000,
        p95_ms=percentile(ordered, 0.95) * 1000,
        ops_per_s=len(ordered) / sum(ordered) if ordered else 0.0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--rules", type=int, default=1_000)
    parser.add_argument("--updates", type=int, default=100_000, help="with rules on")
    parser.add_argument("--baseline", type=int, default=20_000, help="updates with rules off")
    parser.add_argument("--worker-runs", type=int, default=5_000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--blocks", type=int, default=10, help="alternations of off and on")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    vendor = connection.vendor
    print(f"== {vendor}: {args.accounts:,} accounts, {args.rules:,} rules ==", flush=True)
    built = build(args.accounts)
    admin = User.objects.get(username="admin")
    tag = tag_services.tag_create(actor=admin, name="自动化基准")
    specs = rule_specs(args.rules, args.seed, tag.pk)
    rules_s = create_rules(admin, specs)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_audit (target bigint, changes text, at timestamp)"
        )
    account_ids = list(Account.objects.order_by("?").values_list("pk", flat=True)[:5000])
    print(
        f"built in {built['build_s']:.1f} s; {len(specs):,} rules created through the services "
        f"in {rules_s:.1f} s",
        flush=True,
    )

    queued: list[int] = []
    engine._enqueue = queued.append  # no broker: the worker phase runs them
    orm_updates = Updates(admin, account_ids, args.seed)
    raw = RawSql(admin, account_ids, args.seed, specs)

    # Rules off and on in alternating blocks, so whatever else the machine does weighs on
    # both alike; the first block of each is warm-up.
    durations: dict[str, list[float]] = {"off": [], "on": [], "off_sql": [], "on_sql": []}
    blocks = max(1, args.blocks)
    for block in range(blocks + 1):
        for rules_on in (False, True):
            set_all_active(rules_on)
            queued_before = len(queued)
            count = (args.updates if rules_on else args.baseline) // blocks
            sql_count = args.baseline // blocks
            if block == 0:
                count = sql_count = args.warmup
            label = "on" if rules_on else "off"
            times = timed(orm_updates.orm, count)
            sql_times = timed(lambda rules_on=rules_on: raw.run(rules=rules_on), sql_count)
            if not rules_on:
                assert len(queued) == queued_before, "a run was queued with every rule off"
            if block:
                durations[label] += times
                durations[f"{label}_sql"] += sql_times
        print(f"  block {block}/{blocks}: {len(queued):,} runs started so far", flush=True)
    off, off_sql, on, on_sql = (
        timing(durations[key]) for key in ("off", "off_sql", "on", "on_sql")
    )
    started_runs = len(queued)

    worker_batch = queued[: args.worker_runs]
    worker = timing(timed_each(engine.execute, worker_batch))
    states = dict(
        RuleRun.objects.filter(pk__in=worker_batch)
        .values_list("state")
        .annotate(count=django.db.models.Count("id"))
        .values_list("state", "count")
    )
    assert states.get(RunState.SUCCEEDED, 0) == len(worker_batch), states

    results = [
        ("account update, rules off", off, off_sql),
        (f"account update, {args.rules:,} rules on", on, on_sql),
    ]
    print()
    print(
        f"{vendor} {database_version()}; {built['made']['accounts']:,} accounts; {args.rules:,} "
        f"active rules; {args.updates:,} updates with rules on ({started_runs:,} runs started), "
        f"{args.baseline:,} with rules off, in {args.blocks} alternating blocks after "
        f"{args.warmup} warm-up each; Python "
        f"{platform.python_version()}, Django {django.get_version()}, {os.cpu_count()} CPUs"
    )
    print()
    print(comparison_table(results))
    print()
    print(
        f"added latency per write with {args.rules:,} rules on: p50 "
        f"{on.p50_ms - off.p50_ms:+.2f} ms, p95 {on.p95_ms - off.p95_ms:+.2f} ms"
    )
    print(
        f"rule worker, one process: {worker.ops_per_s:,.0f} runs/s over {worker.iterations:,} "
        f"runs (p50 {worker.p50_ms:.2f} ms, p95 {worker.p95_ms:.2f} ms per run); "
        f"states {states}"
    )
    if args.json:
        write_results(
            args.json,
            results,
            database=vendor,
            version=database_version(),
            accounts=built["made"]["accounts"],
            rules=args.rules,
            updates=args.updates,
            runs_started=started_runs,
            worker=worker.__dict__,
        )


if __name__ == "__main__":
    main()
