"""Sales at scale (issue 7): the kanban board, the pipeline report, the forecast roll-up,
attainment, the order list and a quote's PDF — each beside the raw SQL doing the same reads.

    .venv/bin/python bench/bench_sales.py            # PostgreSQL: 2,000,000 deals, 5,000,000 order lines
    .venv/bin/python bench/bench_sales.py --sqlite --opportunities 20000 --order-lines 50000

PostgreSQL: the database `rapport_bench_sales` on RAPPORT_BENCH_POSTGRES_URL's server (dropped
and re-created unless `--existing`). `--sqlite`: a fresh file var/bench/sales.sqlite3.

Setup: migrate; an organisation of `--regions` regions (each with a manager) of `--offices`
offices (each with a manager) of `--reps` sales reps; one pipeline; `--accounts` accounts;
then through `core.rows.insert_rows` (COPY on PostgreSQL): the opportunities — 20 % open in
one of three stages with an expected close date in the last or next 9 months and a forecast
category, 35 % won with `closed_at` over the last two years, the rest lost — and their stage
history (every deal entered the first stage when created, then each stage up to where it
is); orders of four lines (`--order-lines` in all) confirmed over the last two years, one in
four invoiced and paid; one target per rep, office and region for the current quarter.

Cases (the application's read — a page through Django's test client, or the read the page
makes — beside raw SQL returning the same rows or sums):
1. the kanban board of an office, as its manager (the page: first paint, server time);
2. the kanban board of the whole company, as the sales director (the page);
3. the pipeline report of the quarter, as the director (the page);
4. the pipeline report of the quarter of an office, as its manager (the reads);
5. `forecast.forecast`: the company roll-up of the quarter;
6. `forecast.attainment`: every holder with a target (won deals, orders, payments);
7. the order list of an office, as its manager (the page);
8. a quote of ten lines rendered to PDF (WeasyPrint; the raw side reads its rows only).
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
    parser.add_argument("--order-lines", type=int, default=5_000_000)
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
    from rapport.sales.models import (
        Invoice,
        LostReason,
        Opportunity,
        Order,
        OrderLine,
        Payment,
        Pipeline,
        Stage,
        Target,
    )

    rep_role = Role.objects.get(code="sales_rep")
    top = Department.objects.create(name="销售总部", code="bench-sales")
    top.path = f"/{top.pk}/"
    top.save()
    manager_role = Role.objects.get(code="sales_manager")
    director = User.objects.create(
        username="bench-director", display_name="销售总监", department=top
    )
    director.roles.add(manager_role)
    top.manager = director
    top.save()
    reps: list[int] = []
    holders: list[dict] = [{"department_id": top.pk}]
    for r in range(args.regions):
        region = Department.objects.create(name=f"大区{r}", code=f"bench-r{r}", parent=top)
        region.path = f"{top.path}{region.pk}/"
        region.manager = User.objects.create(username=f"bench-rm{r}", department=region)
        region.manager.roles.add(manager_role)
        region.save()
        holders.append({"department_id": region.pk})
        for o in range(args.offices):
            office = Department.objects.create(
                name=f"办事处{r}-{o}", code=f"bench-o{r}-{o}", parent=region
            )
            office.path = f"{region.path}{office.pk}/"
            office.manager = User.objects.create(username=f"bench-om{r}-{o}", department=office)
            office.manager.roles.add(manager_role)
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
    reasons = list(LostReason.objects.values_list("pk", flat=True))
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
                created = now - timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
                row.update(
                    stage_id=stage.pk,
                    status="open",
                    probability=stage.probability,
                    expected_close_date=today + timedelta(days=rng.randrange(-270, 270)),
                    forecast_category=rng.choice(["pipeline", "best_case", "commit", "omitted"]),
                    created_at=created,
                    stage_entered_at=created + (now - created) * rng.random(),
                    board_rank=rng.randrange(1, 1 << 40),
                )
            elif kind < 0.55:
                closed = now - timedelta(minutes=rng.randrange(0, 730 * 24 * 60))
                row.update(
                    stage_id=stages[3].pk,
                    status="won",
                    probability=100,
                    closed_at=closed,
                    forecast_category="closed",
                    created_at=closed - timedelta(days=rng.randrange(5, 120)),
                    stage_entered_at=closed,
                )
            else:
                closed = now - timedelta(minutes=rng.randrange(0, 730 * 24 * 60))
                row.update(
                    stage_id=stages[4].pk,
                    status="lost",
                    probability=0,
                    closed_at=closed,
                    forecast_category="omitted",
                    created_at=closed - timedelta(days=rng.randrange(5, 120)),
                    stage_entered_at=closed,
                    lost_reason_id=rng.choice(reasons),
                )
            rows.append(row)
        with transaction.atomic():
            insert_rows(Opportunity, rows)
        made += len(rows)
        print(f"  {made:,} opportunities ({time.perf_counter() - started:.0f} s)", flush=True)
    stage_history(connection, stages)
    orders_and_payments(args, rng, reps, accounts, Order, OrderLine, Invoice, Payment, insert_rows)
    quarter = forecast.period_start_of("quarter", today)
    Target.objects.bulk_create(
        Target(period="quarter", period_start=quarter, amount=Decimal(5_000_000), **holder)
        for holder in holders
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE")


def stage_history(connection, stages) -> None:
    """Every deal entered the first stage when it was created, then each stage up to where it
    is now (a won deal went through the three open stages; a lost one went straight to lost):
    INSERT … SELECT, one statement per stage."""
    started = time.perf_counter()
    s1, s2, s3, won, lost = (stage.pk for stage in stages)
    steps = [
        (s1, None, [s1, s2, s3, won, lost], "created_at"),
        (s2, s1, [s2, s3, won], "created_at + (stage_entered_at - created_at) / 3"),
        (s3, s2, [s3, won], "created_at + (stage_entered_at - created_at) * 2 / 3"),
        (won, s3, [won], "closed_at"),
        (lost, s1, [lost], "closed_at"),
    ]
    with connection.cursor() as cursor:
        for to_stage, from_stage, holders, moment in steps:
            if connection.vendor == "sqlite":
                moment = {
                    "created_at": "created_at",
                    "closed_at": "closed_at",
                }.get(moment, "stage_entered_at")
            cursor.execute(
                "INSERT INTO sales_stagechange (opportunity_id, from_stage_id, to_stage_id, "
                "changed_at, amount) "
                f"SELECT id, %s, %s, {moment}, amount FROM sales_opportunity "
                f"WHERE stage_id IN ({', '.join(str(pk) for pk in holders)})",
                [from_stage, to_stage],
            )
    print(f"  stage history ({time.perf_counter() - started:.0f} s)", flush=True)


def orders_and_payments(args, rng, reps, accounts, Order, OrderLine, Invoice, Payment, insert_rows):
    """Orders of four lines confirmed over the last two years (a tenth still draft), one in
    four invoiced in full and paid."""
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    now = timezone.now()
    per_order = 4
    orders = args.order_lines // per_order
    started = time.perf_counter()
    made = 0
    while made < orders:
        count = min(args.batch // per_order * per_order, orders - made) or 1
        order_rows, line_rows, invoice_rows, payment_rows = [], [], [], []
        first = made
        for index in range(first, first + count):
            confirmed = now - timedelta(minutes=rng.randrange(0, 730 * 24 * 60))
            draft = rng.random() < 0.1
            prices = [Decimal(rng.randrange(100, 50_000)) for _ in range(per_order)]
            quantities = [Decimal(rng.randrange(1, 20)) for _ in range(per_order)]
            nets = [p * q for p, q in zip(prices, quantities, strict=True)]
            taxes = [(net * Decimal("0.13")).quantize(Decimal("0.01")) for net in nets]
            net, tax = sum(nets), sum(taxes)
            invoiced = not draft and index % 4 == 0
            order_rows.append(
                {
                    "number": f"SO-B{index:08d}",
                    "owner_id": rng.choice(reps),
                    "account_id": rng.choice(accounts),
                    "status": "draft" if draft else rng.choice(["confirmed", "shipped", "done"]),
                    "order_date": confirmed.date(),
                    "confirmed_at": None if draft else confirmed,
                    "subtotal": net,
                    "tax_total": tax,
                    "total": net + tax,
                    "invoiced_total": net + tax if invoiced else Decimal(0),
                    "created_at": confirmed,
                }
            )
        with transaction.atomic():
            insert_rows(Order, order_rows)
            ids = dict(
                Order.objects.filter(
                    number__gte=f"SO-B{first:08d}", number__lte=f"SO-B{first + count - 1:08d}"
                ).values_list("number", "pk")
            )
            for row in order_rows:
                order_id = ids[row["number"]]
                share = row["subtotal"] / per_order
                for position in range(per_order):
                    line_rows.append(
                        {
                            "order_id": order_id,
                            "position": position + 1,
                            "description": f"产品 {position + 1}",
                            "quantity": Decimal(1),
                            "unit_price": share,
                            "tax_percent": Decimal(13),
                            "net_amount": share,
                            "tax_amount": (share * Decimal("0.13")).quantize(Decimal("0.01")),
                            "total_amount": share
                            + (share * Decimal("0.13")).quantize(Decimal("0.01")),
                        }
                    )
                if row["invoiced_total"]:
                    invoice_rows.append(
                        {
                            "number": f"INV-B{order_id:08d}",
                            "kind": "invoice",
                            "order_id": order_id,
                            "account_id": row["account_id"],
                            "owner_id": row["owner_id"],
                            "status": "paid",
                            "issue_date": row["order_date"],
                            "due_date": row["order_date"] + timedelta(days=30),
                            "subtotal": row["subtotal"],
                            "tax_total": row["tax_total"],
                            "total": row["total"],
                            "paid_total": row["total"],
                            "created_at": row["created_at"],
                        }
                    )
            insert_rows(OrderLine, line_rows)
            if invoice_rows:
                insert_rows(Invoice, invoice_rows)
                invoices = Invoice.objects.filter(
                    number__in=[row["number"] for row in invoice_rows]
                ).values_list("pk", "total", "issue_date")
                payment_rows = [
                    {
                        "invoice_id": pk,
                        "amount": total,
                        "currency": "CNY",
                        "received_on": issued + timedelta(days=rng.randrange(0, 45)),
                        "method": "bank_transfer",
                        "recorded_by_id": reps[0],
                    }
                    for pk, total, issued in invoices
                ]
                insert_rows(Payment, payment_rows)
        made += count
        print(
            f"  {made:,} orders, {made * per_order:,} lines "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )


def main() -> None:
    args = parse_args()
    choose_database(args)
    os.environ["RAPPORT_ALLOWED_HOSTS"] = "testserver"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone
    from harness import comparison_table, database_version, measure_cases, write_results

    from rapport.customers.models import Account
    from rapport.identity.models import Department, User
    from rapport.sales import forecast, pipeline_report, quote_pdf
    from rapport.sales.models import Pipeline
    from rapport.sales.services.quotes import quote_create

    if not args.existing:
        call_command("migrate", verbosity=0)
        build(args, random.Random(7))
    admin = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
        "bench-admin", "", None
    )
    director = User.objects.get(username="bench-director")
    office_manager = User.objects.get(username="bench-om0-0")
    office = office_manager.department
    pipeline = Pipeline.objects.get(name_en="Bench pipeline")
    stages = list(pipeline.stages.order_by("position").values_list("pk", flat=True))
    today = timezone.localdate()
    quarter = forecast.period_start_of("quarter", today)
    end = forecast.period_end("quarter", quarter)
    since, until = forecast._moments(quarter, end)
    in_office = (
        "owner_id IN (SELECT u.id FROM identity_user u JOIN identity_department d "
        "ON d.id = u.department_id WHERE d.path LIKE %s)"
    )
    office_path = Department.objects.get(pk=office.pk).path + "%"

    def client_for(user):
        client = Client()
        client.force_login(user)
        return client

    def page(client, url, params):
        def run():
            response = client.get(url, params)
            assert response.status_code == 200, response.status_code
            return response.content

        return run

    def raw(*statements):
        def run():
            with connection.cursor() as cursor:
                for sql, params in statements:
                    cursor.execute(sql, params)
                    cursor.fetchall()

        return run

    def board_sql(scope: str, scope_params: list):
        totals = (
            "SELECT stage_id, COUNT(*), SUM(amount) FROM sales_opportunity "
            f"WHERE pipeline_id = %s AND status = 'open' AND {scope} GROUP BY stage_id"
        )
        cards = " UNION ALL ".join(
            "SELECT * FROM (SELECT o.id, o.name, o.amount, o.stage_id, a.name AS account, "
            "u.username FROM sales_opportunity o JOIN customers_account a ON a.id = o.account_id "
            "JOIN identity_user u ON u.id = o.owner_id "
            f"WHERE o.stage_id = %s AND o.status = 'open' AND o.{scope} "
            "ORDER BY o.board_rank, o.id LIMIT 21) AS c" + str(i)
            for i in range(3)
        )
        card_params = []
        for stage in stages[:3]:
            card_params += [stage, *scope_params]
        return [(totals, [pipeline.pk, *scope_params]), (cards, card_params)]

    def report_sql(scope: str, scope_params: list):
        return [
            (
                "SELECT stage_id, currency, COUNT(*), SUM(amount), SUM(amount * probability / 100) "
                f"FROM sales_opportunity WHERE pipeline_id = %s AND status = 'open' AND {scope} "
                "GROUP BY stage_id, currency",
                [pipeline.pk, *scope_params],
            ),
            (
                "SELECT status, currency, COUNT(*), SUM(amount) FROM sales_opportunity "
                "WHERE pipeline_id = %s AND status IN ('won', 'lost') AND closed_at >= %s "
                f"AND closed_at < %s AND {scope} GROUP BY status, currency",
                [pipeline.pk, since, until, *scope_params],
            ),
            (
                "SELECT lost_reason_id, COUNT(*), SUM(amount) FROM sales_opportunity "
                "WHERE pipeline_id = %s AND status = 'lost' AND closed_at >= %s "
                f"AND closed_at < %s AND {scope} GROUP BY lost_reason_id",
                [pipeline.pk, since, until, *scope_params],
            ),
            (
                "SELECT to_stage_id, COUNT(DISTINCT opportunity_id) FROM sales_stagechange "
                "WHERE opportunity_id IN (SELECT id FROM sales_opportunity WHERE pipeline_id = %s "
                f"AND created_at >= %s AND created_at < %s AND {scope}) GROUP BY to_stage_id",
                [pipeline.pk, since, until, *scope_params],
            ),
        ]

    everyone = "owner_id IS NOT NULL"
    forecast_sql = (
        "SELECT owner_id, currency, status, forecast_category, SUM(amount), "
        "SUM(amount * probability), COUNT(*) FROM sales_opportunity "
        "WHERE (status = 'open' AND expected_close_date >= %s AND expected_close_date < %s) "
        "OR (status = 'won' AND closed_at >= %s AND closed_at < %s) "
        "GROUP BY owner_id, currency, status, forecast_category"
    )
    attainment_sql = [
        (
            "SELECT owner_id, currency, SUM(amount), COUNT(*) FROM sales_opportunity "
            "WHERE status = 'won' AND closed_at >= %s AND closed_at < %s GROUP BY owner_id, currency",
            [since, until],
        ),
        (
            "SELECT owner_id, currency, SUM(total) FROM sales_order WHERE confirmed_at >= %s "
            "AND confirmed_at < %s AND status <> 'cancelled' GROUP BY owner_id, currency",
            [since, until],
        ),
        (
            "SELECT i.owner_id, p.currency, SUM(p.amount) FROM sales_payment p JOIN sales_invoice i "
            "ON i.id = p.invoice_id WHERE p.reversed_at IS NULL AND p.received_on >= %s "
            "AND p.received_on < %s GROUP BY i.owner_id, p.currency",
            [quarter, end],
        ),
    ]
    orders_sql = [
        (
            "SELECT o.id, o.number, o.status, o.total, o.order_date, a.name, u.username "
            "FROM sales_order o JOIN customers_account a ON a.id = o.account_id "
            f"JOIN identity_user u ON u.id = o.owner_id WHERE o.{in_office} "
            "ORDER BY o.id DESC LIMIT 50",
            [office_path],
        )
    ]
    account = Account.objects.order_by("pk").first()
    quote = quote_create(
        actor=admin,
        account=account,
        title="基准报价",
        lines=[
            {
                "description": f"数控机床配件 {n}",
                "quantity": str(n),
                "unit_price": "1280.00",
                "tax_percent": "13",
            }
            for n in range(1, 11)
        ],
    )
    quote_rows = [
        ("SELECT * FROM sales_quote WHERE id = %s", [quote.pk]),
        ("SELECT * FROM sales_quoteline WHERE quote_id = %s ORDER BY position", [quote.pk]),
    ]
    manager_client, director_client = client_for(office_manager), client_for(director)
    board_url = "/sales/opportunities/board/"
    report_url = "/sales/reports/pipeline/"
    results = measure_cases(
        [
            (
                "kanban board, one office (page)",
                page(manager_client, board_url, {"pipeline": pipeline.pk}),
                raw(*board_sql(in_office, [office_path])),
            ),
            (
                "kanban board, whole company (page)",
                page(director_client, board_url, {"pipeline": pipeline.pk}),
                raw(*board_sql(everyone, [])),
            ),
            (
                "pipeline report, company quarter (page)",
                page(
                    director_client,
                    report_url,
                    {"pipeline": pipeline.pk, "period": "quarter"},
                ),
                raw(*report_sql(everyone, [])),
            ),
            (
                "pipeline report, office quarter (reads)",
                lambda: pipeline_report.pipeline_report(
                    office_manager, pipeline, period="quarter", start=quarter
                ),
                raw(*report_sql(in_office, [office_path])),
            ),
            (
                "forecast roll-up, whole company (quarter)",
                lambda: forecast.forecast(viewer=admin, period="quarter", start=quarter),
                raw((forecast_sql, [quarter, end, since, until])),
            ),
            (
                "attainment, every holder (quarter)",
                lambda: forecast.attainment(viewer=admin, period="quarter", start=quarter),
                raw(*attainment_sql),
            ),
            (
                "order list, one office (page)",
                page(manager_client, "/sales/orders/", {}),
                raw(*orders_sql),
            ),
            (
                "quote PDF, ten lines",
                lambda: quote_pdf.render_quote_pdf(quote),
                raw(*quote_rows),
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
        order_lines=args.order_lines,
    )


if __name__ == "__main__":
    main()
