"""A small timing harness: run a callable N times after a warm-up; report p50, p95, ops/s.

timing = measure(lambda: list(query), iterations=200, warmup=20)
print(timing.p50_ms, timing.p95_ms, timing.ops_per_s)
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Timing:
    iterations: int
    p50_ms: float
    p95_ms: float
    ops_per_s: float


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def measure(operation: Callable[[], object], *, iterations: int = 200, warmup: int = 20) -> Timing:
    """Time `operation` `iterations` times after `warmup` untimed calls.

    Throughput is iterations divided by the summed time of the timed calls (one caller, no
    concurrency), so it is the reciprocal of the mean latency.
    """
    for _ in range(warmup):
        operation()
    durations = []
    clock = time.perf_counter
    for _ in range(iterations):
        started = clock()
        operation()
        durations.append(clock() - started)
    durations.sort()
    total = sum(durations)
    return Timing(
        iterations=iterations,
        p50_ms=percentile(durations, 0.50) * 1000,
        p95_ms=percentile(durations, 0.95) * 1000,
        ops_per_s=iterations / total if total else math.inf,
    )


def measure_cases(
    cases: Sequence[tuple[str, Callable[[], object], Callable[[], object]]],
    *,
    iterations: int,
    warmup: int,
    left: str = "ORM",
) -> list[tuple[str, Timing, Timing]]:
    """Time both sides of each (name, application call, raw SQL call), one after the other,
    printing each case's medians as it finishes."""
    results = []
    for name, app_call, sql_call in cases:
        app = measure(app_call, iterations=iterations, warmup=warmup)
        sql = measure(sql_call, iterations=iterations, warmup=warmup)
        results.append((name, app, sql))
        print(f"  {name}: {left} p50 {app.p50_ms:.2f} ms, SQL p50 {sql.p50_ms:.2f} ms", flush=True)
    return results


def display_width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (readable in a terminal too), numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(value) for value in row] for row in rows]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [
        all(_is_number(row[i]) for row in cells[1:]) and len(cells) > 1 for i in range(len(headers))
    ]

    def line(row: list[str]) -> str:
        parts = []
        for value, width, right in zip(row, widths, numeric, strict=True):
            pad = " " * (width - display_width(value))
            parts.append(pad + value if right else value + pad)
        return "| " + " | ".join(parts) + " |"

    rule = (
        "|"
        + "|".join(
            "-" * (width + 1) + ":" if right else "-" * (width + 2)
            for width, right in zip(widths, numeric, strict=True)
        )
        + "|"
    )
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def comparison_table(
    results: Sequence[tuple[str, Timing, Timing]], *, left: str = "ORM", right: str = "SQL"
) -> str:
    """The table every benchmark prints: for each case, the application's path (`left`) and
    the hand-written SQL (`right`) side by side, and the ratio of their medians."""
    return table(
        [
            "case",
            f"{left} p50 ms",
            f"{left} p95 ms",
            f"{left} ops/s",
            f"{right} p50 ms",
            f"{right} p95 ms",
            f"{right} ops/s",
            f"{left}/{right} p50",
        ],
        [
            (
                name,
                f"{app.p50_ms:.2f}",
                f"{app.p95_ms:.2f}",
                f"{app.ops_per_s:,.0f}",
                f"{sql.p50_ms:.2f}",
                f"{sql.p95_ms:.2f}",
                f"{sql.ops_per_s:,.0f}",
                f"{app.p50_ms / sql.p50_ms:.1f}x",
            )
            for name, app, sql in results
        ],
    )


def write_results(
    path: str | Path,
    results: Sequence[tuple[str, Timing, Timing]],
    *,
    left: str = "orm",
    **summary: object,
) -> None:
    """The run as JSON: `summary` (database, sizes, build figures …) and each case's two
    timings, the application's under `left` and the hand-written SQL's under "sql"."""
    cases = [{"case": name, left: app.__dict__, "sql": sql.__dict__} for name, app, sql in results]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(
        json.dumps({**summary, "cases": cases}, ensure_ascii=False, indent=2, default=str)
    )


def database_version() -> str:
    """The version of the database Django is connected to (SQLite library or server)."""
    from django.db import connection

    if connection.vendor == "sqlite":
        return connection.Database.sqlite_version
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "").rstrip("x×"))
    except ValueError:
        return False
    return True
