"""What the quote pages learn from the apps above sales (which sales cannot import): the
automation app registers how to read a quote's approval request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_approval_info: list[Callable[[Any], dict[str, Any] | None]] = []


def register_approval_info(reader: Callable[[Any], dict[str, Any] | None]) -> None:
    _approval_info[:] = [reader]


def approval_info(quote: Any) -> dict[str, Any] | None:
    """The quote's latest approval request ({"state", "url", "tasks" …}) or None."""
    if not _approval_info:
        return None
    return _approval_info[0](quote)
