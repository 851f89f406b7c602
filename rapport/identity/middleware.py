"""Session policy (absolute timeout) and roles that require two-factor authentication."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.utils.translation import gettext as _


class SessionPolicyMiddleware:
    """Idle timeout is the cookie age (refreshed on every request); this adds the absolute limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            started = request.session.get("rapport_login_at")
            if started is None:
                request.session["rapport_login_at"] = time.time()
            elif time.time() - float(started) > settings.SESSION_ABSOLUTE_HOURS * 3600:
                logout(request)
                messages.info(request, _("Your session has expired; please sign in again."))
                if not request.path.startswith("/api/"):
                    return redirect(settings.LOGIN_URL)
        return self.get_response(request)


def requires_mfa(user) -> bool:
    return user.roles.filter(require_mfa=True).exists()


def has_mfa(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class RequireMfaMiddleware:
    """A user whose role requires MFA must set up TOTP before doing anything else."""

    allowed_prefixes = ("/accounts/", "/static/", "/i18n/", "/healthz", "/readyz", "/language/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(self.allowed_prefixes)
            and not request.path.startswith("/api/")
            and requires_mfa(user)
            and not has_mfa(user)
        ):
            messages.warning(
                request, _("Your role requires two-factor authentication. Set it up to continue.")
            )
            return redirect("mfa_activate_totp")
        return self.get_response(request)
