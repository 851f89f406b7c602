"""The duplicate hook: "is this record already here?" before it is saved.

Duplicate matching lives in `rapport.dataops`, above the domain apps; the domain pages and
API (which cannot import it) ask through this hook, and dataops registers its finders when
it loads:

    duplicates.register("customers.account", find_accounts)

`find(user, object_type, values, exclude_id=None)` returns the likely duplicates `user` may
see, best first, as `Candidate`s (score 0–100 and the reasons, in the user's language).
Without a registered finder it returns nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Candidate:
    record: Any
    score: int
    reasons: list[str] = field(default_factory=list)


Finder = Callable[..., list[Candidate]]

_finders: dict[str, Finder] = {}


def register(object_type: str, finder: Finder) -> None:
    _finders[object_type] = finder


def find(
    user: Any, object_type: str, values: dict[str, Any], *, exclude_id: Any = None
) -> list[Candidate]:
    finder = _finders.get(object_type)
    if finder is None:
        return []
    return finder(user, values, exclude_id=exclude_id)


def supported() -> list[str]:
    return list(_finders)
