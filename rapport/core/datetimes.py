"""One reading of a date and time that people or API clients typed.

    to_utc("2026-12-01T14:30")        -> aware datetime in UTC (naive input: the active zone)
    to_utc("2026-12-01", dates=True)  -> midnight of that day, in UTC
    to_utc("31/02/2026")              -> None

None means "not a date and time the system can store": unparseable, not a real date, or an
offset / year the database cannot hold (PostgreSQL refuses offsets past ±15:59). Callers
turn None into their own error naming the field, so bad input is a 400, never a 500.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


def to_utc(value: Any, *, dates: bool = False) -> dt.datetime | None:
    """An aware UTC datetime from a datetime or an ISO 8601 string (a bare date too when
    `dates`), or None."""
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = parse_datetime(text)
            if parsed is None and dates:
                day = parse_date(text)
                parsed = dt.datetime.combine(day, dt.time.min) if day else None
        except ValueError:  # well formed but not a real date or time
            parsed = None
        value = parsed
    if not isinstance(value, dt.datetime):
        return None
    try:
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return None
