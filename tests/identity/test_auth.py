"""Signing in: username or e-mail, audit of every attempt, lockout and unlock, MFA, timeouts."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.audit.models import AuditEvent
from rapport.identity.models import Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

HOME = "web:home"


def login(client: Client, login_name: str, password: str = PASSWORD):
    return client.post(reverse("account_login"), {"login": login_name, "password": password})


def is_signed_in(client: Client) -> bool:
    response = client.get(reverse(HOME))
    return response.status_code == 200


def test_login_by_username_is_audited(client, org):
    response = login(client, "rep_sh")
    assert response.status_code == 302
    assert is_signed_in(client)
    event = AuditEvent.objects.filter(action="auth.login").first()
    assert event.actor == org["rep_sh"]
    assert event.result == "success"


def test_login_by_email(client, org):
    response = login(client, "rep_sh@example.com")
    assert response.status_code == 302
    assert is_signed_in(client)


def test_failed_login_is_audited_and_refused(client, org):
    response = login(client, "rep_sh", "wrong-password-123")
    assert response.status_code == 200
    assert not is_signed_in(client)
    event = AuditEvent.objects.filter(action="auth.login_failed").first()
    assert event is not None
    assert event.object_repr == "rep_sh"
    assert event.result == "failure"
    assert not AuditEvent.objects.filter(action="auth.login").exists()


def test_login_page_uses_rapport_layout_with_language_switch(client, db):
    response = client.get(reverse("account_login"))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="language-switch"' in content
    assert "tabler.min.css" in content
    assert 'class="form-control' in content
    assert reverse("account_signup") not in content


def test_lockout_after_failures_and_admin_unlock(client, org):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        login(client, "rep_sh", "wrong-password-123")
    response = login(client, "rep_sh")
    assert response.status_code == 403
    assert b"locked" in response.content
    assert not is_signed_in(client)

    admin = Client()
    admin.force_login(org["admin"])
    page = admin.get(reverse("identity:user_list"), {"active": "locked"})
    assert b'data-testid="unlock"' in page.content
    assert b"rep_sh" in page.content
    response = admin.post(reverse("identity:user_unlock", args=[org["rep_sh"].pk]))
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="user.unlock", object_id=str(org["rep_sh"].pk)).exists()

    assert login(client, "rep_sh").status_code == 302
    assert is_signed_in(client)


def test_lockout_by_email_is_lifted_by_unlock(client, org):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        login(client, "rep_sh@example.com", "wrong-password-123")
    assert login(client, "rep_sh@example.com").status_code == 403
    admin = Client()
    admin.force_login(org["admin"])
    admin.post(reverse("identity:user_unlock", args=[org["rep_sh"].pk]))
    assert login(client, "rep_sh@example.com").status_code == 302


# --- two-factor ---------------------------------------------------------------------------


def current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def wrong_code(secret: str) -> str:
    valid = {format_hotp_value(hotp_value(secret, c)) for c in yield_hotp_counters_from_time()}
    return next(code for code in ("000000", "111111", "222222") if code not in valid)


@pytest.fixture
def totp_user(org):
    secret = generate_totp_secret()
    TOTP.activate(org["rep_sh"], secret)
    return org["rep_sh"], secret


def test_totp_user_must_pass_the_second_step(client, totp_user):
    user, secret = totp_user
    response = login(client, user.username)
    assert response.status_code == 302
    assert response.url == reverse("mfa_authenticate")
    assert not is_signed_in(client)

    response = client.post(reverse("mfa_authenticate"), {"code": wrong_code(secret)})
    assert response.status_code == 200
    assert not is_signed_in(client)

    response = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert response.status_code == 302
    assert is_signed_in(client)


def test_mfa_page_uses_rapport_layout(client, totp_user):
    user, _secret = totp_user
    login(client, user.username)
    response = client.get(reverse("mfa_authenticate"))
    assert response.status_code == 200
    assert 'data-testid="language-switch"' in response.content.decode()


def test_recovery_code_lets_in(client, totp_user):
    user, _secret = totp_user
    codes = RecoveryCodes.activate(user).generate_codes()
    login(client, user.username)
    response = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert response.status_code == 302
    assert is_signed_in(client)


def test_role_requiring_mfa_sends_user_to_activate_totp(client, org):
    Role.objects.filter(code="sales_rep").update(require_mfa=True)
    assert login(client, "rep_sh").status_code == 302
    response = client.get(reverse(HOME))
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")
    # allauth asks for the password again before a new authenticator is added.
    page = client.get(reverse("mfa_activate_totp"), follow=True)
    assert page.redirect_chain[-1][0].startswith(reverse("account_reauthenticate"))
    client.post(page.redirect_chain[-1][0], {"password": PASSWORD})
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    assert b'name="code"' in page.content
    assert b"data:image/svg+xml" in page.content
    assert not Authenticator.objects.filter(user=org["rep_sh"]).exists()


def test_role_requiring_mfa_lets_user_with_totp_through(client, totp_user):
    user, secret = totp_user
    Role.objects.filter(code="sales_rep").update(require_mfa=True)
    login(client, user.username)
    client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert client.get(reverse(HOME)).status_code == 200


# --- sessions -----------------------------------------------------------------------------


def test_absolute_session_timeout_signs_out(client, org):
    login(client, "rep_sh")
    assert is_signed_in(client)
    session = client.session
    session["rapport_login_at"] = time.time() - settings.SESSION_ABSOLUTE_HOURS * 3600 - 60
    session.save()
    response = client.get(reverse(HOME))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert not is_signed_in(client)


def test_idle_timeout_is_the_refreshed_cookie_age(client, org):
    """The server-side expiry is pushed SESSION_IDLE_MINUTES ahead on every request."""
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_MINUTES * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST
    login(client, "rep_sh")
    client.get(reverse(HOME))
    stored = Session.objects.get(session_key=client.session.session_key)
    remaining = (stored.expire_date - timezone.now()).total_seconds()
    assert settings.SESSION_IDLE_MINUTES * 60 - 60 < remaining <= settings.SESSION_IDLE_MINUTES * 60

    # Idle past the limit: the stored session has expired and the user is signed out.
    Session.objects.filter(pk=stored.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert not is_signed_in(client)


def test_own_sessions_page_renders_in_layout(client, org):
    login(client, "rep_sh")
    response = client.get(reverse("usersessions_list"))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-testid="account-tabs"' in content
    assert "table" in content
