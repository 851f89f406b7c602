"""Exporting a whole list on an existing database (e.g. `rapport demo --size large`: 1M
accounts): wall time, rows/s and peak memory (RSS) of `dataops.exporting` — restricted,
field-masked, the list's columns, watermarked, read in id order 2,000 at a time — for CSV
and XLSX, beside the raw SQL reading the same columns of the same rows into a CSV file
(`COPY … TO STDOUT` on PostgreSQL, a cursor on SQLite), in the same run.

    RAPPORT_DATABASE_URL=postgres://…/rapport_large python bench/bench_export.py \
        --type customers.account --formats csv,xlsx --json var/bench/export-postgresql.json

The actor is the first active administrator (sees every record); `--as USERNAME` picks
another. It writes export files under MEDIA_ROOT/exports (deleted at the end) and a job and
an audit event per export.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
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

from django.db import connection  # noqa: E402
from harness import database_version  # noqa: E402

from rapport.dataops import exporting  # noqa: E402
from rapport.identity.models import User  # noqa: E402

TABLES = {"customers.account": "customers_account", "customers.contact": "customers_contact"}
RAW_COLUMNS = {
    "customers.account": "id, name, tier, lifecycle_stage, province, city, owner_id, updated_at",
    "customers.contact": "id, name, title, owner_id, updated_at",
}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def raw_export(object_type: str, path: Path) -> tuple[float, int]:
    table, columns = TABLES[object_type], RAW_COLUMNS[object_type]
    started = time.perf_counter()
    rows = 0
    with connection.cursor() as cursor, path.open("w", encoding="utf-8-sig", newline="") as out:
        sql = f"SELECT {columns} FROM {table} WHERE is_active ORDER BY id"
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
                for block in copy:
                    out.write(bytes(block).decode("utf-8"))
            cursor.execute(f"SELECT count(*) FROM {table} WHERE is_active")
            rows = cursor.fetchone()[0]
        else:
            writer = csv.writer(out)
            cursor.execute(sql)
            while batch := cursor.fetchmany(5000):
                writer.writerows(batch)
                rows += len(batch)
    return time.perf_counter() - started, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--type", default="customers.account", choices=sorted(TABLES))
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--as", dest="username")
    parser.add_argument("--json")
    args = parser.parse_args()
    actor = (
        User.objects.get(username=args.username)
        if args.username
        else User.objects.filter(roles__code="administrator", is_active=True).first()
    )
    print(f"== {database_version()}: export {args.type} as {actor.username} ==", flush=True)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as scratch:
        took, rows = raw_export(args.type, Path(scratch) / "raw.csv")
        size = (Path(scratch) / "raw.csv").stat().st_size
        results["raw_sql_csv"] = {
            "seconds": round(took, 1),
            "rows": rows,
            "rows_per_s": round(rows / took),
            "mb": round(size / 1e6, 1),
        }
        print(
            f"  raw SQL → CSV: {took:.1f} s, {rows:,} rows, {rows / took:,.0f} rows/s", flush=True
        )
    for file_format in args.formats.split(","):
        before = peak_mb()
        started = time.perf_counter()
        job = exporting.export_start(
            actor=actor, object_type=args.type, state={}, file_format=file_format
        )
        exporting.export_execute(job)
        took = time.perf_counter() - started
        job.refresh_from_db()
        rows = job.result["rows"]
        path = exporting.export_file(actor=actor, job=job)
        size = path.stat().st_size
        path.unlink()
        results[file_format] = {
            "seconds": round(took, 1),
            "rows": rows,
            "rows_per_s": round(rows / took),
            "mb": round(size / 1e6, 1),
            "peak_rss_mb": round(peak_mb()),
            "rss_before_mb": round(before),
        }
        print(
            f"  export {file_format}: {took:.1f} s, {rows:,} rows, {rows / took:,.0f} rows/s, "
            f"{size / 1e6:.0f} MB; peak RSS {peak_mb():.0f} MB (before {before:.0f} MB)",
            flush=True,
        )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(
            json.dumps(
                {
                    "database": database_version(),
                    "machine": platform.platform(),
                    "type": args.type,
                    "actor": actor.username,
                    **results,
                },
                ensure_ascii=False,
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
