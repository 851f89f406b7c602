"""Permission checks shared by the identity services."""

from __future__ import annotations

from rapport.core.errors import PermissionDenied

from .. import policy
from ..models import Action


def _require_manage_users(actor) -> None:
    if not policy.has_grant(actor, "identity.user", Action.MANAGE):
        raise PermissionDenied()


def _require_manage_roles(actor) -> None:
    if not policy.has_grant(actor, "identity.role", Action.MANAGE):
        raise PermissionDenied()
