"""The duplicate warning before creating an account or contact (page and API)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from rapport.customers import services
from rapport.customers.models import Account, Contact
from rapport.identity.services import token_create
from tests.api.helpers import error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def huaxin(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.account_create(
            actor=org["rep_east"], name="北京华信软件有限公司", phone="010-65521234"
        )


def signed_in(user, language) -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def test_account_form_warns_then_creates_anyway(org, huaxin):
    client = signed_in(org["rep_east"], "zh-hans")
    url = reverse("customers:account_create")
    response = client.post(
        url, {"name": "北京華信軟件有限責任公司", "tier": "C", "lifecycle_stage": "prospect"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="duplicates"' in page
    assert reverse("customers:account_detail", args=[huaxin.pk]) in page
    with translation.override("zh-hans"):
        assert translation.gettext("Create anyway") in page
    assert Account.objects.count() == 1  # nothing stored yet
    response = client.post(
        url,
        {
            "name": "北京華信軟件有限責任公司",
            "tier": "C",
            "lifecycle_stage": "prospect",
            "duplicates_seen": "1",
        },
    )
    assert response.status_code == 302
    assert Account.objects.count() == 2


def test_account_form_without_likely_duplicates_creates_at_once(org, huaxin):
    client = signed_in(org["rep_east"], "en")
    response = client.post(
        reverse("customers:account_create"),
        {"name": "上海银行", "tier": "C", "lifecycle_stage": "prospect"},
    )
    assert response.status_code == 302
    assert Account.objects.filter(name="上海银行").exists()


def test_contact_form_warns_on_the_same_phone(org, huaxin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_create(actor=org["rep_east"], name="李娜", phones=["13812345678"])
    client = signed_in(org["rep_east"], "en")
    response = client.post(
        reverse("customers:contact_create"), {"name": "Li Na", "phones": "+86 138 1234 5678"}
    )
    page = response.content.decode()
    assert response.status_code == 200 and "same phone" in page
    assert Contact.objects.count() == 1


def test_api_check(org, huaxin):
    from rest_framework.test import APIClient

    _token, secret = token_create(actor=org["rep_east"], name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + secret, HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        "/api/v1/duplicates/check/",
        {"type": "customers.account", "values": {"name": "华信软件", "phone": "01065521234"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    (hit,) = response.json()["results"]
    assert hit["id"] == huaxin.pk and hit["score"] == 90
    assert hit["reasons"][0] == "same phone"
    bad = client.post(
        "/api/v1/duplicates/check/", {"type": "customers.tickets", "values": {}}, format="json"
    )
    assert bad.status_code == 400 and "type" in error_of(bad)["fields"]
    unknown = client.post(
        "/api/v1/duplicates/check/",
        {"type": "customers.account", "values": {}, "extra": 1},
        format="json",
    )
    assert unknown.status_code == 400
