"""Message keys → translatable text. Each app registers its kinds when it loads:

    notifications.registry.register(
        "customers.task_reminder",
        _("Reminder: “%(subject)s” is due %(due)s."),
        datetimes=("due",),
        email=True,
    )

Texts are lazy translations with named placeholders; `render` fills them in the active
language at read time. Parameters named in `datetimes` are stored as ISO 8601 and shown in
the reader's time zone and date format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Message:
    key: str
    text: Promise | str
    datetimes: tuple[str, ...] = field(default_factory=tuple)
    email: bool = False  # also sent by e-mail to recipients who have an address


_messages: dict[str, Message] = {}

# What a message reads as when its app is gone or a parameter is missing: never an error
# in the top bar of every page.
UNKNOWN = _("You have a new notification.")


def register(
    key: str, text: Promise | str, *, datetimes: tuple[str, ...] = (), email: bool = False
) -> None:
    _messages[key] = Message(key=key, text=text, datetimes=tuple(datetimes), email=email)


def message(key: str) -> Message | None:
    return _messages.get(key)


def is_registered(key: str) -> bool:
    return key in _messages


def _shown(value: Any) -> str:
    parsed = parse_datetime(value) if isinstance(value, str) else value
    if not isinstance(parsed, datetime):
        return str(value or "")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return formats.date_format(timezone.localtime(parsed), "SHORT_DATETIME_FORMAT")


def render(key: str, params: dict[str, Any] | None) -> str:
    """The message in the active language and time zone."""
    entry = _messages.get(key)
    if entry is None:
        return str(UNKNOWN)
    values = dict(params or {})
    for name in entry.datetimes:
        if name in values:
            values[name] = _shown(values[name])
    try:
        return str(entry.text) % values
    except (KeyError, TypeError, ValueError):
        return str(UNKNOWN)
