"""Filters for the readable copy of a person's data (the JSON keeps ISO times; people read
local ones)."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import formats, timezone

register = template.Library()


@register.filter
def local_time(value: str) -> str:
    """An ISO 8601 time as the reader's local date and time ("" for none; other text kept)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return formats.date_format(moment, "SHORT_DATETIME_FORMAT")
