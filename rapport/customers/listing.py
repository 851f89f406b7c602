"""What a list of accounts or contacts holds for a set of quick filters, filter text and
sort: read by the list pages and by exports alike, so a file holds what the screen shows."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from rapport.core import filterlang
from rapport.identity.models import Action, User

from .filtering import apply_filter
from .forms import ListFilterForm


def mentions(tree, field: str) -> bool:
    """Whether the filter tree names `field` anywhere."""
    if not isinstance(tree, dict):
        return False
    if "field" in tree:
        return tree.get("field") == field
    return any(
        mentions(part, field)
        for parts in tree.values()
        for part in (parts if isinstance(parts, list) else [parts])
    )


@dataclass
class Listed:
    records: QuerySet
    filters: ListFilterForm
    tree: dict | None
    filter_text: str
    filter_error: str


def filtered_records(user: User, model, form_class: type[ListFilterForm], data) -> Listed:
    """The records a list shows for `data` (its quick filters, filter text and sort), as
    the list page and its export read them: restricted to what `user` may view; none when
    the filter is bad (the error says why)."""
    object_type = model.security_type
    filters = form_class(data)
    filter_text = (filters.value("filter") or "").strip()
    if filters.is_bound and "filter" in filters.errors:  # longer than the language allows
        filter_text = str(data.get("filter", ""))
    filter_error = " ".join(filters.errors.get("filter", []))
    tree = None
    if filter_text and not filter_error:
        try:
            tree = filterlang.parse(filter_text)
        except ValidationError as error:
            filter_error = " ".join(error.messages)
        else:
            filters.active_by_default = not mentions(tree, "is_active")
    records = filters.apply(model.objects.restrict(user, Action.VIEW), user)
    if tree is not None:
        try:
            records = apply_filter(records, user, object_type, tree)
        except ValidationError as error:
            filter_error = " ".join(error.messages)
    if filter_error:
        records = records.none()
    return Listed(records, filters, tree, filter_text, filter_error)
