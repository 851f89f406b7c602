"""Field rules (hidden, masked, read-only) over custom fields, for the parts of core that
offer or check custom values (the filter language's `cf.<key>` fields, writes of values).

A custom field carries a rule under the name the filter language gives it, `cf.<key>`.
Field rules belong to the identity app, which `core` cannot import (the layering): the
identity policy registers its `field_rules(user, object_type)` here when it loads, as it
registers `can` in `rapport.core.access`. Without a registered policy asking is an error:
nothing is offered unchecked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PREFIX = "cf."
# The rules, as `rapport.identity.models.FieldRule.Rule` stores them.
READONLY, MASKED, HIDDEN = "readonly", "masked", "hidden"

FieldRules = Callable[[Any, str], dict[str, str]]

_field_rules: FieldRules | None = None


def register(field_rules: FieldRules) -> None:
    global _field_rules
    _field_rules = field_rules


def rule_name(key: str) -> str:
    """The name a field rule (and the filter language) uses for custom field `key`."""
    return f"{PREFIX}{key}"


def key_of(name: str) -> str | None:
    """The custom field key in a rule name ("cf.size" -> "size"), None for a standard field."""
    return name[len(PREFIX) :] if name.startswith(PREFIX) else None


def for_user(user, object_type: str) -> dict[str, str]:
    """{custom field key: rule} in force for `user` on `object_type` (no entry: no rule)."""
    if _field_rules is None:
        raise RuntimeError("the identity app is not installed; refusing to show custom values")
    by_key = {}
    for name, rule in _field_rules(user, object_type).items():
        key = key_of(name)
        if key is not None and rule:
            by_key[key] = rule
    return by_key
