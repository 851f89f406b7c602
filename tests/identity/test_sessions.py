"""Seeing and ending sign-in sessions: one's own through the API, anyone's as administrator."""

from __future__ import annotations

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from rapport.audit.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _signed_in(user) -> Client:
    client = Client(HTTP_USER_AGENT="pytest-browser/1.0")
    response = client.post(reverse("account_login"), {"login": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_admin_sees_and_ends_every_session_of_a_user(org):
    rep = org["rep_sh"]
    first, second = _signed_in(rep), _signed_in(rep)
    assert UserSession.objects.filter(user=rep).count() == 2
    admin = _signed_in(org["admin"])
    page = admin.get(reverse("identity:user_detail", args=[rep.pk]))
    html = page.content.decode()
    assert html.count('data-testid="user-session"') == 2
    assert "pytest-browser/1.0" in html
    response = admin.post(reverse("identity:user_end_sessions", args=[rep.pk]))
    assert response.status_code == 302
    assert not UserSession.objects.filter(user=rep).exists()
    for client in (first, second):
        assert client.get(reverse("web:home")).status_code == 302  # sent back to sign in
    assert admin.get(reverse("web:home")).status_code == 200
    event = AuditEvent.objects.filter(action="session.end_all").first()
    assert event.actor == org["admin"] and event.extra["ended"] == 2


def test_a_rep_cannot_end_someone_elses_sessions(org):
    _signed_in(org["rep_east"])
    rep = _signed_in(org["rep_sh"])
    response = rep.post(reverse("identity:user_end_sessions", args=[org["rep_east"].pk]))
    assert response.status_code in (403, 404)
    assert UserSession.objects.filter(user=org["rep_east"]).exists()


def test_my_sessions_api_lists_and_ends_one(org):
    rep = org["rep_sh"]
    other = _signed_in(rep)
    browser = _signed_in(rep)
    api = APIClient()
    api.cookies = browser.cookies
    listed = api.get("/api/v1/me/sessions/").json()
    assert len(listed) == 2
    assert sorted(item["is_current"] for item in listed) == [False, True]
    other_session = next(item for item in listed if not item["is_current"])
    assert api.delete(f"/api/v1/me/sessions/{other_session['id']}/").status_code == 204
    assert other.get(reverse("web:home")).status_code == 302
    assert api.delete("/api/v1/me/sessions/999999/").status_code == 404


def test_admin_api_ends_all_sessions(org):
    _signed_in(org["rep_sh"])
    api = APIClient()
    api.force_authenticate(org["admin"])
    assert len(api.get(f"/api/v1/users/{org['rep_sh'].pk}/sessions/").json()) == 1
    response = api.post(f"/api/v1/users/{org['rep_sh'].pk}/end-sessions/")
    assert response.status_code == 200 and response.json() == {"ended": 1}
    rep_api = APIClient()
    rep_api.force_authenticate(org["rep_east"])
    assert rep_api.post(f"/api/v1/users/{org['admin'].pk}/end-sessions/").status_code in (403, 404)
