"""Gapless, unique document numbers per kind and year: Q2026-000001, SO2026-000001 …

`next_number` must run inside the transaction that stores the document: the sequence row is
locked until it commits, so two concurrent documents never share a number, and a rolled-back
document gives its number back."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import DocumentSequence

PREFIXES = {
    "quote": "Q",
    "order": "SO",
    "invoice": "INV",
    "credit_note": "CN",
    "contract": "HT",
}


def next_number(kind: str, *, year: int | None = None) -> str:
    """The next number of `kind` ("quote", "order", "invoice", "credit_note", "contract")."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_number runs inside the transaction that stores the document")
    year = year or timezone.localdate().year
    sequence = DocumentSequence.objects.select_for_update().filter(kind=kind, year=year).first()
    if sequence is None:
        try:
            with transaction.atomic():
                DocumentSequence.objects.create(kind=kind, year=year, last=0)
        except IntegrityError:
            pass  # created by a concurrent transaction a moment ago
        sequence = DocumentSequence.objects.select_for_update().get(kind=kind, year=year)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"{PREFIXES[kind]}{year}-{sequence.last:06d}"
