"""The one door to the permission policy for code below `identity` in the layering.

`core` cannot import `rapport.identity.policy`, yet core services (tags today) must ask
"may this user do X to this record?" with the same grant logic as every other service. The
identity app registers its policy here when it loads; core code calls `can(...)` and
`restrict(...)`. Without a registered policy every check refuses: nothing goes unchecked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models

Can = Callable[[Any, str, Any], bool]
Restrict = Callable[[Any, str, type[models.Model]], models.QuerySet]

_can: Can | None = None
_restrict: Restrict | None = None


def register_policy(*, can: Can, restrict: Restrict) -> None:
    global _can, _restrict
    _can, _restrict = can, restrict


def _policy() -> tuple[Can, Restrict]:
    if _can is None or _restrict is None:
        raise RuntimeError("the identity app is not installed; refusing to check nothing")
    return _can, _restrict


def can(user, action: str, target) -> bool:
    """May `user` do `action` on `target` (a record, or a model class for type-wide actions)?"""
    return _policy()[0](user, action, target)


def restrict(user, action: str, model: type[models.Model]) -> models.QuerySet:
    """The records of `model` the user may `action`, as a queryset (applied in SQL)."""
    return _policy()[1](user, action, model)
