"""Importing a contact file: rows/s and peak memory of `rapport.dataops.importing` (every
row validated, normalized and written through the services, with per-row savepoints, audit
and events, duplicate checks within the file), beside a plain executemany (SQLite) or COPY
(PostgreSQL) of the same rows into a scratch table, in the same run.

    RAPPORT_DATABASE_URL=… python bench/bench_import.py --rows 20000 --json var/bench/import-sqlite.json

The database must be migrated; an administrator is created if there is none. The file is
messy on purpose: full-width digits, +86 / 0086 phone forms, traditional characters,
mixed-case e-mails and one row in fifty repeating an earlier row.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

import django  # noqa: E402

django.setup()

from django.core.files import File  # noqa: E402
from django.db import connection  # noqa: E402
from harness import database_version  # noqa: E402

from rapport.dataops import importing  # noqa: E402
from rapport.identity.models import User  # noqa: E402
from rapport.identity.services import user_create  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
TITLES = ["销售总监", "采购经理", "总经理", "財務主管", "IT 经理", "Purchasing Manager"]
FULL = str.maketrans("0123456789", "０１２３４５６７８９")


def messy_rows(count: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    rows = []
    for number in range(count):
        if rows and number % 50 == 49:
            rows.append(list(rows[rng.randrange(len(rows))]))
            continue
        name = (
            rng.choice(SURNAMES)
            + rng.choice(GIVEN)
            + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
        )
        mobile = f"1{rng.choice('38')}{rng.randrange(10**9):09d}"
        phone = rng.choice(
            [
                mobile,
                f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}",
                f"0086-{mobile}",
                mobile.translate(FULL),
            ]
        )
        email = f"User{number}@Example{number % 97}.COM"
        rows.append([name, rng.choice(TITLES), phone, email])
    return rows


def write_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "职位", "手机", "Email"])
    writer.writerows(rows)
    return out.getvalue().encode("gb18030")


def raw_load(rows: list[list[str]]) -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_import_raw")
        cursor.execute(
            "CREATE TABLE bench_import_raw (name text, title text, phone text, email text)"
        )
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            csv.writer(buffer).writerows(rows)
            buffer.seek(0)
            with cursor.cursor.copy("COPY bench_import_raw FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())
        else:
            cursor.executemany("INSERT INTO bench_import_raw VALUES (%s, %s, %s, %s)", rows)
        cursor.execute("DROP TABLE bench_import_raw")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    actor = (
        User.objects.filter(roles__code="administrator", is_active=True).first()
        or User.objects.filter(username="bench_admin").first()
    )
    if actor is None:
        actor = user_create(actor=None, username="bench_admin", roles=[], is_superuser=True)
    rows = messy_rows(args.rows, args.seed)
    data = write_csv(rows)
    print(
        f"== {connection.vendor}: {args.rows:,} contact rows ({len(data) / 1e6:.1f} MB, GB18030) ==",
        flush=True,
    )
    raw = raw_load(rows)
    print(
        f"  raw {'COPY' if connection.vendor == 'postgresql' else 'executemany'}: {raw:.2f} s, {args.rows / raw:,.0f} rows/s",
        flush=True,
    )
    with tempfile.NamedTemporaryFile(suffix=".csv") as handle:
        handle.write(data)
        handle.flush()
        handle.seek(0)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        run = importing.import_create(
            actor=actor,
            object_type="customers.contact",
            upload=File(handle, name="bench.csv"),
            file_name="bench.csv",
        )
        importing.import_configure(actor=actor, run=run, mapping=run.mapping)
        job = importing.import_start(actor=actor, run=run)
        importing.import_execute(job)
        took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = job.result.get("counts", {})
    print(
        f"  import: {took:.1f} s, {args.rows / took:,.0f} rows/s; {counts}; peak RSS {peak:.0f} MB (before {rss_before:.0f} MB)",
        flush=True,
    )
    if args.json:
        import json

        Path(args.json).write_text(
            json.dumps(
                {
                    "database": database_version(),
                    "machine": platform.platform(),
                    "rows": args.rows,
                    "import_seconds": round(took, 2),
                    "import_rows_per_s": round(args.rows / took),
                    "raw_seconds": round(raw, 2),
                    "raw_rows_per_s": round(args.rows / raw),
                    "counts": counts,
                    "peak_rss_mb": round(peak),
                    "rss_before_mb": round(rss_before),
                },
                ensure_ascii=False,
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
