"""Key rotation for fields encrypted at rest: count values per key, re-encrypt with the new one.

Rotation runs as a Job: in batches, each committed with its checkpoint, so an interrupted
rotation resumes where it stopped and re-running it finds nothing left to do. Values are
read and written as stored (ciphertext), never loaded into model instances.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from django.db import connection, transaction

from . import jobs, trail
from .crypto import active_key_id, decrypt, encrypt, encrypted_fields, is_encrypted, key_id_of
from .models import Job

JOB_KIND = "keys.rotate"
PLAIN = "(plain)"


def _columns() -> list[tuple[str, str, str, str]]:
    """(model label, table, pk column, value column) of every encrypted field, in a fixed order."""
    found = []
    for model, names in encrypted_fields():
        for name in names:
            field = model._meta.get_field(name)
            found.append(
                (
                    f"{model._meta.label_lower}.{name}",
                    model._meta.db_table,
                    model._meta.pk.column,
                    field.column,
                )
            )
    return sorted(found)


def _batches(
    table: str, pk: str, column: str, after: int, size: int
) -> Iterator[list[tuple[int, str]]]:
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} "
        f"WHERE {quote(pk)} > %s ORDER BY {quote(pk)} LIMIT %s"
    )
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [after, size])
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def field_keys_status(*, batch_size: int = 5000) -> dict[str, Counter]:
    """For each encrypted column, how many stored values each key opens ("(plain)": values
    stored before encryption, which the next rotation encrypts)."""
    status: dict[str, Counter] = {}
    for label, table, pk, column in _columns():
        counts: Counter = Counter()
        for rows in _batches(table, pk, column, 0, batch_size):
            for _pk, raw in rows:
                if raw in (None, ""):
                    continue
                counts[key_id_of(raw) if is_encrypted(raw) else PLAIN] += 1
        status[label] = counts
    return status


def _needs_rotation(raw, active: str) -> bool:
    if raw in (None, ""):
        return False
    return not is_encrypted(raw) or key_id_of(raw) != active


def field_keys_rotate(
    *,
    actor,
    job: Job | None = None,
    batch_size: int = 500,
    on_progress: Callable[[Job], None] | None = None,
) -> Job:
    """Re-encrypt every stored value that the active key did not encrypt (and encrypt values
    still stored in plain text). Resumes `job` from its checkpoint when given."""
    active = active_key_id()
    columns = _columns()
    if job is None:
        job = jobs.job_create(
            actor=actor,
            kind=JOB_KIND,
            title=f"Re-encrypt with key {active}",
            params={"key": active},
        )
    jobs.job_start(job=job)
    checkpoint = dict(job.checkpoint or {})
    started = checkpoint.get("column")
    quote = connection.ops.quote_name
    for label, table, pk, column in columns:
        if started and label < started:
            continue
        after = checkpoint.get("after", 0) if label == started else 0
        update = f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE {quote(pk)} = %s"
        for rows in _batches(table, pk, column, after, batch_size):
            changed = [
                (encrypt(decrypt(raw) if is_encrypted(raw) else raw), row_pk)
                for row_pk, raw in rows
                if _needs_rotation(raw, active)
            ]
            with transaction.atomic():
                if changed:
                    with connection.cursor() as cursor:
                        cursor.executemany(update, changed)
                jobs.job_progress(
                    job=job,
                    processed=job.processed + len(rows),
                    succeeded=job.succeeded + len(changed),
                    checkpoint={"column": label, "after": rows[-1][0]},
                )
            if on_progress:
                on_progress(job)
        checkpoint = {}
        started = None
    with transaction.atomic():
        trail.record(
            actor=actor,
            action="keys.rotate",
            object_type="core.fieldkeys",
            object_id=active,
            extra={"key": active, "re_encrypted": job.succeeded, "scanned": job.processed},
        )
        jobs.job_finish(job=job, result={"key": active, "re_encrypted": job.succeeded})
    return job


def unfinished_rotation() -> Job | None:
    return (
        Job.objects.filter(kind=JOB_KIND, state__in=[Job.State.RUNNING, Job.State.QUEUED])
        .order_by("-id")
        .first()
    )
