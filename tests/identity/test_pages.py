"""Every identity and allauth page renders inside Rapport's layout, in both languages."""

from __future__ import annotations

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client
from django.urls import reverse

from rapport.identity.models import Department, Role, Team

pytestmark = pytest.mark.django_db


def admin_pages(org) -> list[str]:
    department = Department.objects.first()
    return [
        reverse("identity:profile"),
        reverse("identity:tokens"),
        reverse("identity:user_list"),
        reverse("identity:user_create"),
        reverse("identity:user_detail", args=[org["rep_sh"].pk]),
        reverse("identity:user_offboard", args=[org["rep_sh"].pk]),
        reverse("identity:department_list"),
        reverse("identity:department_edit", args=[department.pk]),
        reverse("identity:team_list"),
        reverse("identity:team_detail", args=[Team.objects.first().pk]),
        reverse("identity:role_list"),
        reverse("identity:role_detail", args=[Role.objects.get(code="sales_rep").pk]),
        reverse("identity:request_list"),
        reverse("audit:event_list"),
        reverse("audit:alert_list"),
        reverse("audit:rule_list"),
        reverse("mfa_index"),
        reverse("usersessions_list"),
        reverse("account_logout"),
    ]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_admin_and_account_pages_render(org, language):
    admin = org["admin"]
    admin.language = language
    admin.save()
    client = Client()
    client.force_login(admin)
    for url in admin_pages(org):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'data-testid="user-menu"' in response.content.decode(), url


def test_recovery_codes_page_renders(org):
    user = org["rep_sh"]
    TOTP.activate(user, generate_totp_secret())
    RecoveryCodes.activate(user)
    client = Client()
    client.force_login(user)
    response = client.get(reverse("mfa_index"))
    assert response.status_code == 200
    assert 'class="card' in response.content.decode()


@pytest.mark.parametrize("name", ["account_login", "account_reset_password"])
def test_entrance_pages_render_for_anonymous_users(client, db, name):
    response = client.get(reverse(name))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="entrance-header"' in content
    assert 'data-testid="language-switch"' in content
