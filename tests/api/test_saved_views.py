"""Saved list views: private or shared with a team, the filter checked against the fields the
owner may filter on, usable as `?view=` and audited."""

from __future__ import annotations

import pytest

from rapport.audit.models import AuditEvent
from rapport.identity.models import SavedView
from tests.api.helpers import error_of, field_codes

pytestmark = pytest.mark.django_db

URL = "/api/v1/views/"


def test_save_list_update_delete(client_for, org):
    api = client_for(org["rep_sh"])
    response = api.post(
        URL,
        {
            "object_type": "customers.account",
            "name": "我的 A 类客户",
            "filter": "tier = A and owner = me",
            "columns": ["name", "city", "tier"],
            "ordering": "-updated",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    view = response.json()
    assert view["filter"] == {
        "and": [
            {"field": "tier", "op": "=", "value": "A"},
            {"field": "owner", "op": "=", "value": "me"},
        ]
    }
    assert view["filter_text"] == "tier = A and owner = me"
    assert [v["name"] for v in api.get(URL, {"type": "customers.account"}).json()] == [
        "我的 A 类客户"
    ]
    changed = api.patch(f"{URL}{view['id']}/", {"name": "A 类"}, format="json")
    assert changed.status_code == 200 and changed.json()["name"] == "A 类"
    assert api.delete(f"{URL}{view['id']}/").status_code == 204
    assert not SavedView.objects.exists()
    assert list(
        AuditEvent.objects.filter(object_type="identity.savedview")
        .order_by("seq")
        .values_list("action", flat=True)
    ) == ["create", "update", "delete"]


def test_bad_filter_and_duplicate_name_are_named(client_for, org):
    api = client_for(org["rep_sh"])
    response = api.post(
        URL,
        {"object_type": "customers.account", "name": "x", "filter": "tier = Z"},
        format="json",
    )
    assert (
        response.status_code == 400
        and "tier:" in error_of(response)["fields"]["filter"][0]["message"]
    )
    api.post(URL, {"object_type": "customers.account", "name": "x"}, format="json")
    response = api.post(URL, {"object_type": "customers.account", "name": "x"}, format="json")
    assert field_codes(response, "name") == ["duplicate"]
    assert SavedView.objects.count() == 1


def test_sharing_with_a_team(client_for, org):
    team = org["cm"].led_teams.get()
    cm = client_for(org["cm"])
    response = cm.post(
        URL,
        {"object_type": "customers.contact", "name": "团队视图", "team": team.pk},
        format="json",
    )
    assert response.status_code == 201
    view_id = response.json()["id"]
    member = client_for(org["rep_sh"])  # in the team
    assert [v["name"] for v in member.get(URL).json()] == ["团队视图"]
    assert member.patch(f"{URL}{view_id}/", {"name": "改名"}, format="json").status_code == 403
    outsider = client_for(org["rep_south"])
    assert outsider.get(URL).json() == []
    assert outsider.delete(f"{URL}{view_id}/").status_code == 404
    response = outsider.post(
        URL, {"object_type": "customers.contact", "name": "y", "team": team.pk}, format="json"
    )
    assert field_codes(response, "team") == ["not_member"]


def test_quick_filters_are_saved_and_checked(client_for, org):
    api = client_for(org["rep_sh"])
    response = api.post(
        URL,
        {
            "object_type": "customers.account",
            "name": "华东 A",
            "params": {"tier": "A", "tag": ["3", "5"], "q": ""},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["params"] == {"tier": "A", "tag": ["3", "5"]}  # empty ones dropped
    response = api.post(
        URL,
        {"object_type": "customers.account", "name": "坏", "params": ["tier", "A"]},
        format="json",
    )
    assert response.status_code == 400
    assert field_codes(response, "params") == ["invalid"]
    assert not SavedView.objects.filter(name="坏").exists()
