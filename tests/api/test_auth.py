"""The token endpoint and bearer authentication: passwords, MFA, expiry, revocation, lockout."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.conf import settings
from django.utils import timezone

from rapport.audit.models import AuditEvent
from rapport.identity.models import ApiToken, Role
from rapport.identity.services import user_deactivate
from tests.factories import PASSWORD, UserFactory

from .helpers import error_of

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"


def current_totp(secret: str) -> str:
    """The code an authenticator app shows now, computed with allauth's own functions."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


def bearer(api, secret: str):
    api.credentials(HTTP_AUTHORIZATION="Bearer " + secret)
    return api


@pytest.fixture
def mfa_user(org):
    user = org["rep_sh"]
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    codes = RecoveryCodes.activate(user).get_unused_codes()
    return user, secret, codes


def test_good_password_issues_a_working_token(api, org):
    response = api.post(
        TOKEN_URL, {"username": "rep_sh", "password": PASSWORD, "name": "cli"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["token"].startswith("rpt_")
    assert ApiToken.objects.get(user=org["rep_sh"]).name == "cli"
    me = bearer(api, body["token"]).get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "rep_sh"
    assert AuditEvent.objects.filter(action="auth.login", actor=org["rep_sh"]).exists()


def test_login_by_email_and_lifetime_in_days(api, org):
    response = api.post(
        TOKEN_URL,
        {"username": "rep_sh@example.com", "password": PASSWORD, "days": 7},
        format="json",
    )
    assert response.status_code == 201, response.content
    token = ApiToken.objects.get(user=org["rep_sh"])
    assert timedelta(days=6, hours=23) < token.expires_at - timezone.now() <= timedelta(days=7)


def test_wrong_password_is_refused_in_the_error_shape_and_audited(api, org):
    response = api.post(TOKEN_URL, {"username": "rep_sh", "password": "wrong"}, format="json")
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_credentials"
    assert not ApiToken.objects.exists()
    assert AuditEvent.objects.filter(action="auth.login_failed", object_repr="rep_sh").exists()


def test_bad_lifetime_issues_nothing_and_records_no_sign_in(api, org):
    response = api.post(
        TOKEN_URL, {"username": "rep_sh", "password": PASSWORD, "days": 999}, format="json"
    )
    assert response.status_code == 400
    assert error_of(response)["fields"]["days"][0]["code"] == "out_of_range"
    assert not ApiToken.objects.exists()
    assert not AuditEvent.objects.filter(action="auth.login").exists()


def test_missing_password_names_the_field(api, org):
    response = api.post(TOKEN_URL, {"username": "rep_sh"}, format="json")
    assert response.status_code == 400
    assert "password" in error_of(response)["fields"]


def test_deactivated_user_cannot_get_a_token(api, org):
    user_deactivate(actor=org["admin"], user=org["rep_sh"])
    response = api.post(TOKEN_URL, {"username": "rep_sh", "password": PASSWORD}, format="json")
    assert response.status_code == 401
    assert not ApiToken.objects.filter(user=org["rep_sh"]).exists()


def test_mfa_user_without_otp_is_asked_for_it(api, mfa_user):
    response = api.post(TOKEN_URL, {"username": "rep_sh", "password": PASSWORD}, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "otp_required"
    assert error["fields"]["otp"][0]["code"] == "otp_required"
    assert not ApiToken.objects.exists()


def test_mfa_user_with_right_otp_gets_a_token(api, mfa_user):
    _user, secret, _codes = mfa_user
    response = api.post(
        TOKEN_URL,
        {"username": "rep_sh", "password": PASSWORD, "otp": current_totp(secret)},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert bearer(api, response.json()["token"]).get("/api/v1/me/").status_code == 200


def test_mfa_user_with_wrong_otp_is_refused_and_the_failure_counts(api, mfa_user):
    _user, secret, _codes = mfa_user
    wrong = "000000" if current_totp(secret) != "000000" else "111111"
    response = api.post(
        TOKEN_URL, {"username": "rep_sh", "password": PASSWORD, "otp": wrong}, format="json"
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "otp_invalid"
    assert not ApiToken.objects.exists()
    assert AuditEvent.objects.filter(action="auth.login_failed", object_repr="rep_sh").exists()


def test_a_totp_code_works_only_once(api, mfa_user):
    _user, secret, _codes = mfa_user
    code = current_totp(secret)
    payload = {"username": "rep_sh", "password": PASSWORD, "otp": code}
    assert api.post(TOKEN_URL, payload, format="json").status_code == 201
    replay = api.post(TOKEN_URL, payload, format="json")
    assert replay.status_code == 400
    assert error_of(replay)["code"] == "otp_invalid"


def test_a_recovery_code_is_accepted_once(api, mfa_user):
    _user, _secret, codes = mfa_user
    payload = {"username": "rep_sh", "password": PASSWORD, "otp": codes[0]}
    assert api.post(TOKEN_URL, payload, format="json").status_code == 201
    assert api.post(TOKEN_URL, payload, format="json").status_code == 400


def test_role_requiring_mfa_without_mfa_set_up_gets_no_token(api, org):
    Role.objects.filter(code="sales_rep").update(require_mfa=True)
    response = api.post(TOKEN_URL, {"username": "rep_sh", "password": PASSWORD}, format="json")
    assert response.status_code == 403
    assert error_of(response)["code"] == "mfa_setup_required"


def test_expired_token_is_refused(api, org, client_for):
    client = client_for(org["rep_sh"])
    ApiToken.objects.filter(user=org["rep_sh"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = client.get("/api/v1/accounts/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "token_expired"


def test_revoked_token_is_refused(org, client_for):
    client = client_for(org["rep_sh"])
    token = ApiToken.objects.get(user=org["rep_sh"])
    revoke = client.delete(f"/api/v1/me/tokens/{token.pk}/")
    assert revoke.status_code == 204
    response = client.get("/api/v1/accounts/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_token"


def test_deactivated_users_token_is_refused(org, client_for):
    client = client_for(org["rep_sh"])
    assert client.get("/api/v1/accounts/").status_code == 200
    # Even if a token survived deactivation, an inactive user is refused.
    org["rep_sh"].is_active = False
    org["rep_sh"].save(update_fields=["is_active"])
    response = client.get("/api/v1/accounts/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "user_inactive"


def test_no_credentials_is_401(api, org):
    response = api.get("/api/v1/accounts/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_lockout_after_the_failure_limit_then_admin_unlock(api, org, client_for):
    limit = settings.AXES_FAILURE_LIMIT
    for _attempt in range(limit - 1):
        response = api.post(TOKEN_URL, {"username": "rep_sh", "password": "nope"}, format="json")
        assert response.status_code == 401
    response = api.post(TOKEN_URL, {"username": "rep_sh", "password": "nope"}, format="json")
    assert response.status_code == 403
    assert error_of(response)["code"] == "account_locked"
    # Locked: even the right password is refused.
    response = api.post(TOKEN_URL, {"username": "rep_sh", "password": PASSWORD}, format="json")
    assert response.status_code == 403
    assert error_of(response)["code"] == "account_locked"
    assert not ApiToken.objects.filter(user=org["rep_sh"]).exists()

    admin = client_for(org["admin"])
    detail = admin.get(f"/api/v1/users/{org['rep_sh'].pk}/")
    assert detail.json()["is_locked"] is True
    assert admin.post(f"/api/v1/users/{org['rep_sh'].pk}/unlock/").status_code == 200
    response = api.post(TOKEN_URL, {"username": "rep_sh", "password": PASSWORD}, format="json")
    assert response.status_code == 201


def test_lockout_counts_per_account(api, org):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        api.post(TOKEN_URL, {"username": "rep_sh", "password": "nope"}, format="json")
    response = api.post(TOKEN_URL, {"username": "rep_east", "password": PASSWORD}, format="json")
    assert response.status_code == 201


# --- language ------------------------------------------------------------------------------


def test_token_users_saved_language_is_used(org, client_for):
    user = UserFactory(username="zh_user", language="zh-hans", roles=["sales_rep"])
    client = client_for(user)
    response = client.get("/api/v1/accounts/999999/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response["Content-Language"] == "zh-hans"


def test_saved_language_wins_over_accept_language(org, client_for):
    client = client_for(org["rep_sh"])  # saved language: en
    response = client.get("/api/v1/accounts/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response["Content-Language"] == "en"


def test_accept_language_is_used_before_sign_in(api, org):
    response = api.post(
        TOKEN_URL, {"username": "rep_sh", "password": "x"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response["Content-Language"] == "en"
    response = api.post(
        TOKEN_URL,
        {"username": "rep_sh", "password": "x"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response["Content-Language"] == "zh-hans"
