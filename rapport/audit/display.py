"""How audit events read on the auditor's pages and API."""

from __future__ import annotations

from typing import Any

from rapport.core import trail
from rapport.core.crypto import is_encrypted
from rapport.identity.policy import mask_value


def readable_changes(changes: dict | None) -> dict[str, Any]:
    """The event's {field: [before, after]} with values sealed in the trail (personal data
    encrypted at rest) opened and masked: an auditor sees that a phone changed and its shape
    (138****5678), not the number."""
    readable: dict[str, Any] = {}
    for field, values in (changes or {}).items():
        if isinstance(values, list) and any(is_encrypted(value) for value in values):
            readable[field] = [mask_value(trail.unseal(value)) for value in values]
        else:
            readable[field] = values
    return readable
