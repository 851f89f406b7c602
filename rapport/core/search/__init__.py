"""The search index (DESIGN §6): one index in core feeds global search and every `?q=`.

    from rapport.core import search

    search.register("customers.account", model=Account, document=account_document, ...)
    results = search.search(user, "中國銀行")            # grouped by type, restricted, ranked
    accounts = search.filter_queryset(accounts, "zgyh")   # a list's `?q=`

Documents follow the records: `record.created` / `record.updated` / `record.deleted` events
refresh them after commit; `rapport search rebuild` rebuilds them as a resumable job. Records
made in bulk (no events) are indexed in their transaction with `search.refresh(type, ids)`, or
from the instances in hand with `search.index_records({type: records})`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from . import index, text
from .registry import Document, Hit, Registration, get, register, registrations

__all__ = [
    "Document",
    "Group",
    "Hit",
    "Registration",
    "Results",
    "filter_queryset",
    "get",
    "index_records",
    "parse",
    "refresh",
    "register",
    "registrations",
    "search",
]

parse = text.parse_query
refresh = index.refresh
index_records = index.index_records


@dataclass
class Group:
    """The hits of one object type, best first; `more` when there are further matches."""

    object_type: str
    label: Any
    hits: list[Hit] = field(default_factory=list)
    records: list[Any] = field(default_factory=list)
    more: bool = False


@dataclass
class Results:
    query: text.Query
    groups: list[Group]

    @property
    def fuzzy(self) -> bool:
        """True when nothing matched as typed and these are the matches of close spellings."""
        return self.query.fuzzy

    @property
    def total(self) -> int:
        return sum(len(group.hits) for group in self.groups)


def exact_hidden(registration: Registration, user, query: text.Query) -> bool:
    """A phone/e-mail query against a field hidden from the user finds nothing of this type."""
    if query.exact is None:
        return False
    source = registration.exact_fields.get(query.exact[0])
    return bool(source) and source in set(registration.hidden_fields(user))


def _search_once(user, query: text.Query, types: Sequence[Registration], limit: int) -> list[Group]:
    groups = []
    for registration in types:
        group = Group(object_type=registration.object_type, label=registration.label)
        groups.append(group)
        if exact_hidden(registration, user, query):
            continue
        restricted = registration.model._default_manager.restrict(user, "view")
        ids = index.ranked_ids(registration.object_type, query, restricted, limit + 1)
        group.more = len(ids) > limit
        ids = ids[:limit]
        if not ids:
            continue
        by_id = {
            record.pk: record
            for record in registration.for_display(user, restricted.filter(pk__in=ids))
        }
        group.records = [by_id[pk] for pk in ids if pk in by_id]
        if registration.present is not None:
            group.hits = [registration.present(user, record) for record in group.records]
        else:
            group.hits = [Hit(id=record.pk, title=str(record)) for record in group.records]
    return groups


def search(
    user,
    text_query: str,
    *,
    types: Iterable[str] | None = None,
    limit: int = 10,
) -> Results:
    """Records `user` may view that match `text_query`, grouped by type, best first; types
    the user may not view at all are left out.

    Each type's matches are joined in SQL with `Model.objects.restrict(user, "view")`, so
    nothing the user may not see is read, and nothing they may see is cut off by records
    they may not. When nothing matches as typed, close spellings of the words are tried once.
    A phone or e-mail query does not search a type whose phone/e-mail field is hidden from
    the user by their field rules.
    """
    query = text.parse_query(text_query)
    wanted = [
        registration
        for registration in registrations()
        if (types is None or registration.object_type in set(types))
        # a type the user may not see at all has no group (no query: restrict says so)
        and not registration.model._default_manager.restrict(user, "view").query.is_empty()
    ]
    if query.is_empty:
        return Results(query=query, groups=[Group(r.object_type, r.label) for r in wanted])
    groups = _search_once(user, query, wanted, limit)
    if not any(group.hits for group in groups):
        retry = index.corrected(query)
        if retry is not None:
            query = retry
            groups = _search_once(user, query, wanted, limit)
    return Results(query=query, groups=groups)


def filter_queryset(
    queryset: QuerySet, text_query: str, *, also: Q | None = None, user=None
) -> QuerySet:
    """`queryset` (already restricted to a user) narrowed to the records matching the text.

    The match is a condition in the same SQL statement (`id IN (matches)`), so ordering and
    pagination stay the list's own. `also` is OR-ed with the match (a list's exact lookups).
    If nothing matches as typed, close spellings of the words are tried once. Given `user`,
    a phone/e-mail query matches nothing when that field is hidden from them.
    """
    query = text.parse_query(text_query)
    if query.is_empty:
        return queryset
    registration = _registration_for(queryset)
    if user is not None and exact_hidden(registration, user, query):
        return queryset.filter(also) if also is not None else queryset.none()
    condition = index.matching_q(registration.object_type, query)
    if also is not None:
        condition |= also
    matched = queryset.filter(condition)
    if query.exact is None and not matched.exists():
        retry = index.corrected(query)
        if retry is not None:
            condition = index.matching_q(registration.object_type, retry)
            if also is not None:
                condition |= also
            matched = queryset.filter(condition)
    return matched


def _registration_for(queryset: QuerySet) -> Registration:
    from .registry import for_model

    return for_model(queryset.model)
