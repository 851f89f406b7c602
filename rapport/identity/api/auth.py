"""The token endpoint: username and password (and TOTP) for a bearer token."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate, user_login_failed
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.response import Response

from rapport.core import trail
from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.errors import DomainError, PermissionDenied

from .. import services
from ..backends import axes_username
from ..middleware import has_mfa, requires_mfa
from ..models import User
from .base import APIView


class TokenRequestSerializer(StrictInputSerializer):
    username = serializers.CharField(help_text="Username or e-mail address.")
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Authenticator code, or a recovery code; required when the user has TOTP.",
    )
    name = serializers.CharField(required=False, max_length=100, help_text="The token's name.")
    days = serializers.IntegerField(required=False, help_text="Lifetime in days (1–366).")


class TokenIssuedSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True, help_text="The secret; shown only this once.")
    expires_at = serializers.DateTimeField(read_only=True)


class InvalidCredentials(DomainError):
    status = 401
    default_code = "invalid_credentials"
    default_message = gettext_lazy("The username or password is not correct.")


class AccountLocked(PermissionDenied):
    default_code = "account_locked"
    default_message = gettext_lazy(
        "This account is locked after too many failed sign-ins. Ask an administrator to unlock it."
    )


def _verify_second_factor(user: User, code: str) -> bool:
    from allauth.mfa.models import Authenticator

    code = (code or "").strip().replace(" ", "")
    if not code:
        return False
    for authenticator in Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES]
    ).order_by("-type"):  # TOTP first, then recovery codes
        # `wrap()` gives allauth's own TOTP / RecoveryCodes checkers (TOTP marks a code used).
        if authenticator.wrap().validate_code(code):
            authenticator.record_usage()
            return True
    return False


class TokenView(APIView):
    """Exchange username (or e-mail) + password [+ TOTP] for a bearer token.

    Public by design. Failures count towards the django-axes lockout like a web sign-in.
    """

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]  # public: this is how a client signs in

    @extend_schema(
        operation_id="auth_token_create",
        tags=["auth"],
        auth=[],
        request=TokenRequestSerializer,
        responses={201: TokenIssuedSerializer, **error_responses(400, 401, 403, 415)},
        description=(
            "Sign in with username or e-mail and password, plus `otp` when the user has "
            "two-factor authentication. Errors: `invalid_credentials` (401), `otp_required` / "
            "`otp_invalid` (400), `account_locked` (403), `mfa_setup_required` (403)."
        ),
    )
    def post(self, request):
        values = parse(TokenRequestSerializer, request)
        login = values["username"].strip()
        credentials = {"username": login}
        user = authenticate(request=request._request, username=login, password=values["password"])
        if user is None:
            if getattr(request._request, "axes_locked_out", False):
                raise AccountLocked()
            raise InvalidCredentials()
        otp_used = False
        if has_mfa(user):
            code = values.get("otp", "")
            if not code:
                raise DomainError(
                    _("Enter the code from your authenticator app."),
                    code="otp_required",
                    field="otp",
                )
            if not _verify_second_factor(user, code):
                # A wrong second factor counts as a failed sign-in (audit and lockout).
                user_login_failed.send(
                    sender=__name__, credentials=credentials, request=request._request
                )
                if getattr(request._request, "axes_locked_out", False):
                    raise AccountLocked()
                raise DomainError(
                    _("The authenticator code is not correct."), code="otp_invalid", field="otp"
                )
            otp_used = True
        elif requires_mfa(user):
            raise PermissionDenied(
                _("Your role requires two-factor authentication. Set it up before using the API."),
                code="mfa_setup_required",
            )
        with transaction.atomic():  # no sign-in event without the token it issued
            trail.record(
                actor=user,
                action="auth.login",
                target=user,
                extra={"method": "password+otp" if otp_used else "password", "via": "api_token"},
            )
            token, secret = services.token_create(
                actor=user,
                name=values.get("name") or _("API token %(date)s") % {"date": timezone.localdate()},
                days=values.get("days"),
            )
        if settings.AXES_RESET_ON_SUCCESS:
            from axes.utils import reset

            reset(username=axes_username(None, credentials))
        return Response(
            {"token": secret, "expires_at": token.expires_at}, status=status.HTTP_201_CREATED
        )
