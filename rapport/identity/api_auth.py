"""`Authorization: Bearer <token>` with personal API tokens (hashed at rest, expiring, revocable)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .models import ApiToken
from .services import hash_token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if not parts or parts[0] != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Malformed Authorization header."), code="invalid_token"
            )
        token = (
            ApiToken.objects.select_related("user").filter(key_hash=hash_token(parts[1])).first()
        )
        if token is None or token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                _("Invalid or revoked token."), code="invalid_token"
            )
        if token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(_("The token has expired."), code="token_expired")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(
                _("The user is deactivated."), code="user_inactive"
            )
        if token.last_used_at is None or (timezone.now() - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "rapport.identity.api_auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}
