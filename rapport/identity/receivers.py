"""Login, logout and MFA changes recorded in the audit trail (these come from Django/allauth)."""

from allauth.mfa import signals as mfa_signals
from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver

from rapport.core import trail


@receiver(auth_signals.user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        from django.utils import timezone

        request.session["rapport_login_at"] = timezone.now().timestamp()
    trail.record(actor=user, action="auth.login", target=user)


@receiver(auth_signals.user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    from .backends import axes_username

    trail.record(
        actor=None,
        action="auth.login_failed",
        object_type="identity.user",
        object_repr=axes_username(request, credentials) or "",
        result="failure",
    )


@receiver(auth_signals.user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        trail.record(actor=user, action="auth.logout", target=user)


@receiver(mfa_signals.authenticator_added)
def _mfa_added(sender, request, user, authenticator, **kwargs):
    trail.record(actor=user, action="mfa.add", target=user, extra={"type": authenticator.type})


@receiver(mfa_signals.authenticator_removed)
def _mfa_removed(sender, request, user, authenticator, **kwargs):
    trail.record(actor=user, action="mfa.remove", target=user, extra={"type": authenticator.type})


@receiver(mfa_signals.authenticator_reset)
def _mfa_reset(sender, request, user, authenticator, **kwargs):
    trail.record(actor=user, action="mfa.reset", target=user, extra={"type": authenticator.type})
