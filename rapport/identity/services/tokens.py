"""Personal API tokens: issue and revoke (only the hash of a secret is stored)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import trail

from ..models import ApiToken, User
from ._common import _require_manage_users

TOKEN_PREFIX = "rpt_"  # noqa: S105 (a visible prefix, not a secret)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(
    *, actor: User, user: User | None = None, name: str, days: int | None = None
) -> tuple[ApiToken, str]:
    """Issue a personal token; returns (token, secret). The secret is never stored."""
    user = user or actor
    if user.pk != actor.pk:
        _require_manage_users(actor)
    days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
    errors = {}
    if not name or not name.strip():
        errors["name"] = ValidationError(_("Name the token."), code="required")
    if not isinstance(days, int) or not 1 <= days <= 366:
        errors["days"] = ValidationError(
            _("A token lives between 1 and 366 days."), code="out_of_range"
        )
    if errors:
        raise ValidationError(errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name.strip(),
            prefix=secret[:12],
            key_hash=hash_token(secret),
            expires_at=timezone.now() + timedelta(days=days),
        )
        trail.record(
            actor=actor, action="token.create", target=token, extra={"user": user.pk, "days": days}
        )
    return token, secret


def token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    if token.user_id != actor.pk:
        _require_manage_users(actor)
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            trail.record(
                actor=actor, action="token.revoke", target=token, extra={"user": token.user_id}
            )
    return token
