"""A user's own pages: profile, password, API tokens."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from rapport.audit.models import AuditEvent
from rapport.identity.models import ApiToken
from rapport.identity.services import hash_token
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep_client(org) -> Client:
    client = Client()
    client.force_login(org["rep_sh"])
    return client


def test_profile_saves_name_language_and_time_zone(rep_client, org):
    response = rep_client.post(
        reverse("identity:profile"),
        {
            "section": "profile",
            "display_name": "小李",
            "phone": "",
            "language": "zh-hans",
            "timezone": "Asia/Urumqi",
        },
    )
    assert response.status_code == 302
    rep = org["rep_sh"]
    rep.refresh_from_db()
    assert (rep.display_name, rep.language, rep.timezone) == ("小李", "zh-hans", "Asia/Urumqi")
    page = rep_client.get(reverse("identity:profile"))
    assert page.headers["Content-Language"] == "zh-hans"


def test_profile_refuses_unknown_time_zone(rep_client, org):
    response = rep_client.post(
        reverse("identity:profile"),
        {"section": "profile", "display_name": "X", "language": "en", "timezone": "Mars/Base"},
    )
    assert response.status_code == 200
    assert "timezone" in response.context["profile_form"].errors
    org["rep_sh"].refresh_from_db()
    assert org["rep_sh"].display_name != "X"


def test_change_password_keeps_user_signed_in(rep_client, org):
    response = rep_client.post(
        reverse("identity:profile"),
        {
            "section": "password",
            "current_password": PASSWORD,
            "password": "Another-Strong-Pass-77",
            "password_again": "Another-Strong-Pass-77",
        },
    )
    assert response.status_code == 302
    assert rep_client.get(reverse("identity:profile")).status_code == 200
    org["rep_sh"].refresh_from_db()
    assert org["rep_sh"].check_password("Another-Strong-Pass-77")
    assert AuditEvent.objects.filter(action="user.password_change").exists()


@pytest.mark.parametrize(
    ("current", "new", "field"),
    [
        ("not-my-password", "Another-Strong-Pass-77", "current_password"),
        (PASSWORD, "password", "password"),  # common and too short
    ],
)
def test_change_password_refusals(rep_client, org, current, new, field):
    response = rep_client.post(
        reverse("identity:profile"),
        {
            "section": "password",
            "current_password": current,
            "password": new,
            "password_again": new,
        },
    )
    assert response.status_code == 200
    assert field in response.context["password_form"].errors
    org["rep_sh"].refresh_from_db()
    assert org["rep_sh"].check_password(PASSWORD)


def test_token_secret_is_shown_once_and_works_until_revoked(rep_client, org):
    response = rep_client.post(reverse("identity:tokens"), {"name": "laptop", "days": 30})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret and secret in response.content.decode()
    token = ApiToken.objects.get(user=org["rep_sh"])
    assert token.key_hash == hash_token(secret)
    assert secret not in rep_client.get(reverse("identity:tokens")).content.decode()

    rep_client.post(reverse("identity:token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_token_needs_a_name(rep_client):
    response = rep_client.post(reverse("identity:tokens"), {"name": "", "days": 30})
    assert "name" in response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_cannot_revoke_someone_elses_token(org, rep_client):
    other = Client()
    other.force_login(org["rep_east"])
    other.post(reverse("identity:tokens"), {"name": "mine", "days": 30})
    token = ApiToken.objects.get(user=org["rep_east"])
    assert rep_client.post(reverse("identity:token_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
