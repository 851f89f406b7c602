"""What the index covers: each domain registers its searchable models here.

Core knows no domain model (the layering forbids it): `customers` registers accounts and
contacts from its app config, saying how to turn a record into a `Document` and how to show
a hit to a user (with that user's field rules, which only the domain layers can apply).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import QuerySet


@dataclass
class Document:
    """The searchable content of one record. Phones and e-mails go only into the blind index."""

    title: str
    subtitle: str = ""
    texts: Sequence[str] = ()
    phones: Sequence[str] = ()
    emails: Sequence[str] = ()


@dataclass
class Hit:
    """One result as a user sees it (field rules already applied by the presenter)."""

    id: int
    title: str
    subtitle: str = ""
    url: str = ""


@dataclass(frozen=True)
class Registration:
    object_type: str
    model: type[models.Model]
    document: Callable[[Any], Document]
    label: Any = ""
    # Adds joins/prefetches so `document` runs without a query per record.
    for_indexing: Callable[[QuerySet], QuerySet] = lambda records: records
    # Records of other types whose documents show this one's fields (a contact shows its
    # accounts' names): {object_type: ids} to refresh after these records changed `fields`.
    dependents: Callable[[Sequence[int], Sequence[str] | None], dict[str, Iterable[int]]] | None = (
        None
    )
    # How a hit is shown to `user`: joins for display, then one Hit per record.
    for_display: Callable[[Any, QuerySet], QuerySet] = lambda user, records: records
    present: Callable[[Any, Any], Hit] | None = None
    # Which field each exact key comes from ({"phone": "phones"}), and the fields hidden
    # from a user (their field rules): nobody finds records by a value they may not see.
    exact_fields: dict[str, str] = field(default_factory=dict)
    hidden_fields: Callable[[Any], Iterable[str]] = lambda user: ()


_registry: dict[str, Registration] = {}


def register(
    object_type: str,
    *,
    model: type[models.Model],
    document: Callable[[Any], Document],
    **options: Any,
) -> Registration:
    registration = Registration(object_type=object_type, model=model, document=document, **options)
    _registry[object_type] = registration
    return registration


def get(object_type: str) -> Registration | None:
    return _registry.get(object_type)


def for_model(model: type[models.Model]) -> Registration:
    for registration in _registry.values():
        if registration.model is model or issubclass(model, registration.model):
            return registration
    raise LookupError(f"{model._meta.label} is not registered with the search index")


def registrations() -> list[Registration]:
    return list(_registry.values())


def object_types() -> list[str]:
    return list(_registry)
