"""Inserting many rows the fastest way the database offers, for bulk writers (imports, demo
data, batched audit and outbox writes): COPY on PostgreSQL, `executemany` on SQLite.

    insert_rows(ContactIdentifier, [{"contact_id": 7, "kind": "phone", "blind": "…"}, …])

Rows are {attname: value}; no ids come back (use `bulk_create` where they are needed). Fields
left out get their default (created_at / updated_at: now), so the rows read as `bulk_create`
would have made them. Values are prepared by their field as an insert would (JSON encoded,
datetimes adapted, encrypted fields encrypted) — but no `pre_save` runs.
"""

from __future__ import annotations

from django.db import connection, models
from django.utils import timezone


def insert_rows(model: type[models.Model], rows: list[dict]) -> int:
    if not rows:
        return 0
    now = timezone.now()
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    defaults = {}
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            defaults[field.attname] = now
        else:
            defaults[field.attname] = field.get_default()
    # On PostgreSQL the driver takes these fields' Python values as they are; every other
    # field (JSON, encrypted text, …) is prepared as an insert would.
    plain = {
        models.CharField,
        models.TextField,
        models.IntegerField,
        models.PositiveIntegerField,
        models.PositiveBigIntegerField,
        models.BigIntegerField,
        models.BooleanField,
        models.ForeignKey,
        models.DateTimeField,
    }
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    postgresql = connection.vendor == "postgresql"

    def line(row: dict) -> list:
        values = []
        for field in fields:
            value = row.get(field.attname, defaults[field.attname])
            if value is not None and (type(field) not in plain or not postgresql):
                value = field.get_db_prep_save(value, connection)
            values.append(value)
        return values

    with connection.cursor() as cursor:
        if postgresql:
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(line(row))
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({placeholders})", [line(r) for r in rows]
            )
    return len(rows)
