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
    # The drivers take these fields' Python values as they are (SQLite's datetimes excepted:
    # Django stores them as UTC text); every other field (JSON, encrypted text, …) is prepared
    # as an insert would.
    postgresql = connection.vendor == "postgresql"
    plain = {
        models.CharField,
        models.TextField,
        models.IntegerField,
        models.PositiveIntegerField,
        models.PositiveBigIntegerField,
        models.BigIntegerField,
        models.BooleanField,
        models.ForeignKey,
    }
    if postgresql:
        plain.add(models.DateTimeField)
    columns = [
        (field.attname, defaults[field.attname], None if type(field) in plain else field)
        for field in fields
    ]
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(field.column) for field in fields)

    def line(row: dict) -> list:
        values = []
        for attname, default, prepared_by in columns:
            value = row.get(attname, default)
            if value is not None and prepared_by is not None:
                value = prepared_by.get_db_prep_save(value, connection)
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
