"""Sales forecast roll-up and attainment at scale (issue 7) — a skeleton: the whole company's
forecast rolled up the manager hierarchy and the attainment of every rep, team and
department, beside the raw SQL doing the same grouped reads.

    .venv/bin/python bench/bench_sales.py                                # PostgreSQL, 2,000,000
    .venv/bin/python bench/bench_sales.py --sqlite --opportunities 20000 # a quick check

PostgreSQL: the database `rapport_bench_sales` on RAPPORT_BENCH_POSTGRES_URL's server (dropped
and re-created unless `--existing`). `--sqlite`: a fresh file var/bench/sales.sqlite3.

Setup: migrate; an organisation of `--regions` regions (each with a manager) of `--offices`
offices (each with a manager) of `--reps` sales reps; one pipeline; `--accounts` accounts;
then the opportunities through `core.rows.insert_rows` (COPY on PostgreSQL): 20 % open with
an expected close date in the last or next 9 months and a forecast category, 35 % won with
`closed_at` over the last two years, the rest lost; one target per rep, office and region for
the current quarter.

Cases (the application's read beside one raw SQL statement returning the same sums):
1. `forecast.forecast(viewer=admin, period="quarter")`: the company roll-up;
2. `forecast.attainment(viewer=admin, period="quarter")`: every holder with a target.
What is still missing (left to the lead): orders and payments at 5M lines, the kanban and the
pipeline report, quote PDFs; the README section with the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
os.environ.pop("RAPPORT_TASKS_EAGER", None)
os.environ.setdefault("RAPPORT_LOG_LEVEL", "ERROR")

POSTGRES_URL = os.environ.get(
    "RAPPORT_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/rapport_bench"
)
DATABASE = "rapport_bench_sales"
PROTECTED_DATABASES = {"rapport", "test_rapport", "postgres", "template0", "template1"}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=2_000_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--regions", type=int, default=4)
    parser.add_argument("--offices", type=int, default=5, help="offices per region")
    parser.add_argument("--reps", type=int, default=10, help="reps per office")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--sqlite", action="store_true", help="a fresh SQLite file instead")
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--existing", action="store_true", help="measure an earlier build")
    return parser.parse_args()


def choose_database(args) -> str:
    if args.sqlite:
        path = ROOT / "var" / "bench" / "sales.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not args.existing:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        import psycopg

        parts = urlsplit(POSTGRES_URL)
        if args.database in PROTECTED_DATABASES:
            raise SystemExit(f"refusing to use the database {args.database!r} for benchmarks")
        if not args.existing:
            admin_url = urlunsplit(parts._replace(path="/postgres"))
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{args.database}"')
        url = urlunsplit(parts._replace(path=f"/{args.database}"))
    os.environ["RAPPORT_DATABASE_URL"] = url
    return url


def build(args, rng: random.Random) -> None:
    from decimal import Decimal

    from django.db import connection, transaction
    from django.utils import timezone

    from rapport.core.rows import insert_rows
    from rapport.customers.models import Account
    from rapport.identity.models import Department, Role, User
    from rapport.sales import forecast
    from rapport.sales.models import Opportunity, Pipeline, Stage, Target

    rep_role = Role.objects.get(code="sales_rep")
    top = Department.objects.create(name="销售总部", code="bench-sales")
    top.path = f"/{top.pk}/"
    top.save()
    director = User.objects.create(username="bench-director", display_name="销售总监")
    top.manager = director
    top.save()
    reps: list[int] = []
    holders: list[dict] = [{"department_id": top.pk}]
    for r in range(args.regions):
        region = Department.objects.create(name=f"大区{r}", code=f"bench-r{r}", parent=top)
        region.path = f"{top.path}{region.pk}/"
        region.manager = User.objects.create(username=f"bench-rm{r}", department=region)
        region.save()
        holders.append({"department_id": region.pk})
        for o in range(args.offices):
            office = Department.objects.create(
                name=f"办事处{r}-{o}", code=f"bench-o{r}-{o}", parent=region
            )
            office.path = f"{region.path}{office.pk}/"
            office.manager = User.objects.create(username=f"bench-om{r}-{o}", department=office)
            office.save()
            holders.append({"department_id": office.pk})
            for n in range(args.reps):
                rep = User.objects.create(username=f"bench-rep{r}-{o}-{n}", department=office)
                rep.roles.add(rep_role)
                reps.append(rep.pk)
                holders.append({"user_id": rep.pk})
    pipeline = Pipeline.objects.create(name="基准流程", name_en="Bench pipeline")
    stages = [
        Stage.objects.create(
            pipeline=pipeline,
            name=name,
            name_en=name,
            position=i,
            probability=p,
            is_won=won,
            is_lost=lost,
        )
        for i, (name, p, won, lost) in enumerate(
            [
                ("s1", 10, False, False),
                ("s2", 40, False, False),
                ("s3", 70, False, False),
                ("won", 100, True, False),
                ("lost", 0, False, True),
            ],
            start=1,
        )
    ]
    accounts = []
    for start in range(0, args.accounts, args.batch):
        rows = [
            {"name": f"基准客户{i}", "owner_id": rng.choice(reps)}
            for i in range(start, min(args.accounts, start + args.batch))
        ]
        with transaction.atomic():
            insert_rows(Account, rows)
    accounts = list(Account.objects.values_list("pk", flat=True))
    now = timezone.now()
    today = timezone.localdate()
    made = 0
    started = time.perf_counter()
    while made < args.opportunities:
        rows = []
        for _ in range(min(args.batch, args.opportunities - made)):
            kind = rng.random()
            amount = Decimal(rng.randrange(1_000, 2_000_000))
            row = {
                "name": "商机",
                "owner_id": rng.choice(reps),
                "account_id": rng.choice(accounts),
                "pipeline_id": pipeline.pk,
                "amount": amount,
            }
            if kind < 0.2:
                stage = rng.choice(stages[:3])
                row.update(
                    stage_id=stage.pk,
                    status="open",
                    probability=stage.probability,
                    expected_close_date=today + timedelta(days=rng.randrange(-270, 270)),
                    forecast_category=rng.choice(["pipeline", "best_case", "commit", "omitted"]),
                )
            elif kind < 0.55:
                row.update(
                    stage_id=stages[3].pk,
                    status="won",
                    probability=100,
                    closed_at=now - timedelta(minutes=rng.randrange(0, 730 * 24 * 60)),
                    forecast_category="closed",
                )
            else:
                row.update(
                    stage_id=stages[4].pk,
                    status="lost",
                    probability=0,
                    closed_at=now - timedelta(minutes=rng.randrange(0, 730 * 24 * 60)),
                    forecast_category="omitted",
                )
            rows.append(row)
        with transaction.atomic():
            insert_rows(Opportunity, rows)
        made += len(rows)
        print(f"  {made:,} opportunities ({time.perf_counter() - started:.0f} s)", flush=True)
    quarter = forecast.period_start_of("quarter", today)
    Target.objects.bulk_create(
        Target(period="quarter", period_start=quarter, amount=Decimal(5_000_000), **holder)
        for holder in holders
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE")


def main() -> None:
    args = parse_args()
    choose_database(args)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from harness import comparison_table, database_version, measure_cases, write_results

    from rapport.identity.models import User
    from rapport.sales import forecast

    if not args.existing:
        call_command("migrate", verbosity=0)
        build(args, random.Random(7))
    admin = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
        "bench-admin", "", None
    )
    today = timezone.localdate()
    quarter = forecast.period_start_of("quarter", today)
    end = forecast.period_end("quarter", quarter)
    since, until = forecast._moments(quarter, end)
    forecast_sql = (
        "SELECT owner_id, currency, status, forecast_category, SUM(amount), "
        "SUM(amount * probability), COUNT(*) FROM sales_opportunity "
        "WHERE (status = 'open' AND expected_close_date >= %s AND expected_close_date < %s) "
        "OR (status = 'won' AND closed_at >= %s AND closed_at < %s) "
        "GROUP BY owner_id, currency, status, forecast_category"
    )
    won_sql = (
        "SELECT owner_id, currency, SUM(amount), COUNT(*) FROM sales_opportunity "
        "WHERE status = 'won' AND closed_at >= %s AND closed_at < %s GROUP BY owner_id, currency"
    )

    def raw(sql, params):
        def run():
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()

        return run

    results = measure_cases(
        [
            (
                "forecast roll-up, whole company (quarter)",
                lambda: forecast.forecast(viewer=admin, period="quarter", start=quarter),
                raw(forecast_sql, [quarter, end, since, until]),
            ),
            (
                "attainment, every holder (quarter)",
                lambda: forecast.attainment(viewer=admin, period="quarter", start=quarter),
                raw(won_sql, [since, until]),
            ),
        ],
        iterations=args.iterations,
        warmup=args.warmup,
        left="app",
    )
    print(comparison_table(results, left="app"))
    write_results(
        ROOT / "var" / "bench" / "sales.json",
        results,
        left="app",
        database=connection.vendor,
        version=database_version(),
        opportunities=args.opportunities,
    )


if __name__ == "__main__":
    main()
