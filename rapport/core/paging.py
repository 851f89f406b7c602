"""Keyset (cursor) pagination for HTML lists, so page 2,000 costs what page 1 costs.

    page = cursor_page(request, accounts, ordering=["name", "id"])
    page.items, page.next_url, page.previous_url

`ordering` names fields, "-" for descending; the last must be unique (the id).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet


def _encode(values: list[Any], reverse: bool) -> str:
    raw = json.dumps({"v": values, "r": reverse}, default=str, ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(token: str) -> tuple[list[Any], bool] | None:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        return list(data["v"]), bool(data["r"])
    except (ValueError, KeyError, TypeError):
        return None


def _after(ordering: list[str], values: list[Any], reverse: bool) -> Q:
    """Rows strictly after `values` in `ordering` (or before, when paging backwards)."""
    condition = Q()
    for index, name in enumerate(ordering):
        descending = name.startswith("-") != reverse
        field_name = name.lstrip("-")
        step = Q(**{f"{field_name}__{'lt' if descending else 'gt'}": values[index]})
        for previous, value in zip(ordering[:index], values[:index], strict=False):
            step &= Q(**{previous.lstrip("-"): value})
        condition |= step
    return condition


@dataclass
class CursorPage:
    items: list[Any] = field(default_factory=list)
    next_url: str = ""
    previous_url: str = ""


def _flip(name: str) -> str:
    return name[1:] if name.startswith("-") else f"-{name}"


def cursor_page(
    request, queryset: QuerySet, *, ordering: list[str], page_size: int = 50
) -> CursorPage:
    decoded = _decode(request.GET.get("cursor", "")) if request.GET.get("cursor") else None
    values, reverse = decoded if decoded and len(decoded[0]) == len(ordering) else (None, False)
    order = [_flip(name) for name in ordering] if reverse else ordering
    rows = queryset.order_by(*order)
    if values is not None:
        rows = rows.filter(_after(ordering, values, reverse))
    items = list(rows[: page_size + 1])
    has_more = len(items) > page_size
    items = items[:page_size]
    if reverse:
        items.reverse()

    def key(item) -> list[Any]:
        return [getattr(item, name.lstrip("-")) for name in ordering]

    def url(token: str) -> str:
        query = request.GET.copy()
        query["cursor"] = token
        return f"?{query.urlencode()}"

    page = CursorPage(items=items)
    if items:
        if has_more or reverse:
            page.next_url = (
                url(_encode(key(items[-1]), False)) if (has_more and not reverse) or reverse else ""
            )
        if values is not None and (not reverse or has_more):
            page.previous_url = url(_encode(key(items[0]), True))
    return page
