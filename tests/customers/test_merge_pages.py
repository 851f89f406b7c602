"""The merge pages: likely duplicates offered, field-by-field choice, result and undo."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from rapport.customers import services
from rapport.customers.models import Account, MergeRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(org, django_capture_on_commit_callbacks):
    rep = org["rep_east"]
    with django_capture_on_commit_callbacks(execute=True):
        keep = services.account_create(actor=rep, name="北京华信软件有限公司")
        other = services.account_create(
            actor=rep, name="北京華信軟件有限責任公司", phone="010-65521234"
        )
        services.interaction_log(actor=rep, kind="call", account=other, subject="首次通话")
    return keep, other


def signed_in(user, language="en") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def test_merge_flow_in_chinese(org, two):
    keep, other = two
    client = signed_in(org["sales_manager"], "zh-hans")
    detail = client.get(reverse("customers:account_detail", args=[keep.pk])).content.decode()
    start = reverse("customers:merge", args=["accounts", keep.pk])
    assert start in detail
    page = client.get(start).content.decode()
    assert f"?with={other.pk}" in page  # offered as a likely duplicate
    compare = client.get(f"{start}?with={other.pk}").content.decode()
    assert 'name="keep_name"' in compare and "北京華信軟件有限責任公司" in compare
    with translation.override("zh-hans"):
        assert translation.gettext("Moves to this record") in compare
    response = client.post(
        reverse("customers:merge_run", args=["accounts", keep.pk]),
        {"other": other.pk, "keep_name": "survivor", "keep_phone": "other"},
    )
    merge = MergeRecord.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:merge_detail", args=[merge.pk])
    keep.refresh_from_db()
    assert keep.phone == "+861065521234" and keep.interactions.count() == 1
    result = client.get(response["Location"]).content.decode()
    assert 'data-testid="merge-undo"' in result
    client.post(reverse("customers:merge_undo", args=[merge.pk]))
    assert Account.objects.get(pk=other.pk).is_active
    assert 'data-testid="merge-undone"' in client.get(response["Location"]).content.decode()
    # both records' histories say what happened in words, not the audit's codes
    kept = client.get(reverse("customers:account_history", args=[keep.pk])).content.decode()
    merged = client.get(reverse("customers:account_history", args=[other.pk])).content.decode()
    assert "另一条记录已合并到此记录" in kept and "合并已撤销" in kept
    assert "已合并到另一条记录" in merged and ">merged_into<" not in merged


def test_merge_refusal_is_shown_on_the_compare_page(org, two):
    keep, other = two
    client = signed_in(org["sales_manager"])
    response = client.post(
        reverse("customers:merge_run", args=["accounts", keep.pk]),
        {"other": keep.pk},
    )
    assert response.status_code == 200
    assert "Choose another record to merge with." in response.content.decode()
    assert not MergeRecord.objects.exists()


def test_reps_without_delete_see_no_merge_and_strangers_get_404(org, two):
    keep, other = two
    rep = signed_in(org["rep_east"])
    detail = rep.get(reverse("customers:account_detail", args=[keep.pk])).content.decode()
    assert 'data-testid="merge"' not in detail
    south = signed_in(org["rep_south"])
    assert south.get(reverse("customers:merge", args=["accounts", keep.pk])).status_code == 404
    response = south.post(
        reverse("customers:merge_run", args=["accounts", keep.pk]), {"other": other.pk}
    )
    assert response.status_code == 404


def test_search_for_the_other_record(org, two):
    keep, other = two
    client = signed_in(org["sales_manager"])
    page = client.get(
        reverse("customers:merge", args=["accounts", keep.pk]), {"q": "華信"}
    ).content.decode()
    found = re.search(r'data-testid="merge-found">(.*?)</div>\s*{?', page, re.S)
    assert found and f"?with={other.pk}" in found.group(1)
    assert f"?with={keep.pk}" not in found.group(1)


def test_api_merge_and_undo(org, two):
    from rest_framework.test import APIClient

    from rapport.identity.services import token_create

    keep, other = two
    _token, secret = token_create(actor=org["sales_manager"], name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + secret, HTTP_ACCEPT_LANGUAGE="en")
    bad = client.post(
        "/api/v1/merges/",
        {
            "type": "customers.account",
            "survivor": keep.pk,
            "other": other.pk,
            "keep": {"owner": "other"},
        },
        format="json",
    )
    assert bad.status_code == 400 and "owner" in str(bad.json())
    response = client.post(
        "/api/v1/merges/",
        {
            "type": "customers.account",
            "survivor": keep.pk,
            "other": other.pk,
            "keep": {"name": "other"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["moved"]["interactions"] == 1 and body["undone_at"] is None
    keep.refresh_from_db()
    assert keep.name == "北京華信軟件有限責任公司"
    undone = client.post(f"/api/v1/merges/{body['id']}/undo/")
    assert undone.status_code == 200 and undone.json()["undone_by"] == "manager"
    south_token = token_create(actor=org["rep_south"], name="t")[1]
    south = APIClient()
    south.credentials(HTTP_AUTHORIZATION="Bearer " + south_token)
    assert south.get(f"/api/v1/merges/{body['id']}/").status_code == 404
