"""Run the benchmarks on SQLite, then on PostgreSQL if a server is reachable.

    make bench                      # or: .venv/bin/python bench/run.py
    .venv/bin/python bench/run.py --accounts 20000 --only sqlite

Each database is created fresh: an SQLite file under var/bench/, and the PostgreSQL
database `rapport_bench` (dropped and re-created; RAPPORT_BENCH_POSTGRES_URL names the
server, default postgres://postgres@127.0.0.1:5432/rapport_bench).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
POSTGRES_URL = os.environ.get(
    "RAPPORT_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/rapport_bench"
)
PROTECTED_DATABASES = {"rapport", "test_rapport", "postgres", "template0", "template1"}


def fresh_sqlite() -> str:
    VAR.mkdir(parents=True, exist_ok=True)
    path = VAR / "accounts.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def fresh_postgres(url: str) -> str | None:
    """Drop and re-create the bench database; None (with a message) if there is no server."""
    try:
        import psycopg
    except ImportError:
        print("PostgreSQL skipped: psycopg is not installed.")
        return None
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name in PROTECTED_DATABASES:
        raise SystemExit(f"refusing to use the database {name!r} for benchmarks")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else error
        print(
            f"PostgreSQL skipped: cannot reach {parts.hostname}:{parts.port or 5432} ({first_line})."
        )
        return None
    return url


def run_bench(script: str, database_url: str, extra: list[str], label: str) -> bool:
    env = dict(os.environ, RAPPORT_DATABASE_URL=database_url, RAPPORT_LOG_LEVEL="ERROR")
    env.pop("RAPPORT_TASKS_EAGER", None)
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / script),
            *extra,
            "--json",
            str(VAR / f"{label}.json"),
        ],
        env=env,
        cwd=ROOT,
    )
    print(f"({label} took {time.monotonic() - started:.0f} s)\n", flush=True)
    return result.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description="Rapport benchmarks")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    extra = ["--accounts", str(args.accounts), "--iterations", str(args.iterations)]
    VAR.mkdir(parents=True, exist_ok=True)
    ok = True
    benchmarks = (
        ("bench_accounts.py", "accounts"),
        ("bench_search.py", "search"),
        ("bench_customer360.py", "customer360"),
    )
    for script, label in benchmarks:
        if args.only in (None, "sqlite"):
            ok &= run_bench(script, fresh_sqlite(), extra, f"{label}-sqlite")
        if args.only in (None, "postgresql"):
            url = fresh_postgres(POSTGRES_URL)
            if url:
                ok &= run_bench(script, url, extra, f"{label}-postgresql")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
