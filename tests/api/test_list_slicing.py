"""The API side of lists that slice: `?view=<id>` on accounts and contacts, and the bulk
endpoints (assign, lifecycle stage), all or nothing and audited per record."""

from __future__ import annotations

import pytest

from rapport.audit.models import AuditEvent
from rapport.customers.models import Account
from rapport.identity.services import saved_view_create
from tests.api.helpers import error_of, field_codes
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_view_parameter_applies_the_saved_views_filter(client_for, org):
    user = org["sales_manager"]
    a = AccountFactory(owner=user, tier="A", province="上海市")
    AccountFactory(owner=user, tier="B", province="上海市")
    other = AccountFactory(owner=user, tier="A", province="江苏省")
    view = saved_view_create(
        actor=user, object_type="customers.account", name="A", filter="tier = A"
    )
    api = client_for(user)
    assert ids(api.get("/api/v1/accounts/", {"view": view.pk})) == {a.pk, other.pk}
    # Other parameters narrow it further.
    assert ids(api.get("/api/v1/accounts/", {"view": view.pk, "province": "上海市"})) == {a.pk}
    assert ids(api.get("/api/v1/accounts/", {"view": view.pk, "filter": "province = 江苏省"})) == {
        other.pk
    }


def test_view_parameter_on_contacts_and_views_of_other_lists_or_people(client_for, org):
    user = org["sales_manager"]
    kept = ContactFactory(owner=user, title="经理")
    ContactFactory(owner=user, title="司机")
    contacts_view = saved_view_create(
        actor=user, object_type="customers.contact", name="经理", filter="title ~ 经理"
    )
    accounts_view = saved_view_create(actor=user, object_type="customers.account", name="全部")
    api = client_for(user)
    assert ids(api.get("/api/v1/contacts/", {"view": contacts_view.pk})) == {kept.pk}
    response = api.get("/api/v1/contacts/", {"view": accounts_view.pk})  # another list's view
    assert response.status_code == 400
    assert field_codes(response, "view") == ["does_not_exist"]
    # Someone else's private view reads as not existing.
    response = client_for(org["rep_sh"]).get("/api/v1/contacts/", {"view": contacts_view.pk})
    assert response.status_code == 400 and "view" in error_of(response)["fields"]
    response = api.get("/api/v1/contacts/", {"view": "abc"})
    assert response.status_code == 400


def test_team_members_use_a_shared_view(client_for, org):
    lead = org["cm"]
    account = AccountFactory(owner=org["rep_sh"], tier="A")
    AccountFactory(owner=org["rep_sh"], tier="C")
    view = saved_view_create(
        actor=lead,
        object_type="customers.account",
        name="A",
        filter="tier = A",
        team=lead.led_teams.get(),
    )
    assert ids(client_for(org["rep_sh"]).get("/api/v1/accounts/", {"view": view.pk})) == {
        account.pk
    }


@pytest.fixture
def south(org):
    return {
        "mine": AccountFactory(owner=org["rep_south"], name="华南客户"),
        "mine2": AccountFactory(owner=org["rep_south"], name="华南二"),
        "other": AccountFactory(owner=org["rep_sh"], name="上海客户"),
    }


def test_bulk_assign(client_for, org, south):
    manager = org["service_manager"]
    api = client_for(manager)
    chosen = [south["mine"].pk, south["mine2"].pk]
    response = api.post(
        "/api/v1/accounts/bulk-assign/", {"ids": chosen, "owner": manager.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"count": 2, "ids": chosen}
    assert set(Account.objects.filter(pk__in=chosen).values_list("owner", flat=True)) == {
        manager.pk
    }
    assert AuditEvent.objects.filter(action="assign").count() == 2


def test_bulk_assign_is_all_or_nothing(client_for, org, south):
    api = client_for(org["service_manager"])
    before = AuditEvent.objects.count()
    response = api.post(
        "/api/v1/accounts/bulk-assign/",
        {"ids": [south["mine"].pk, south["other"].pk], "owner": org["service_manager"].pk},
        format="json",
    )
    assert response.status_code == 403
    assert "上海客户" in error_of(response)["fields"]["ids"][0]["message"]
    assert Account.objects.get(pk=south["mine"].pk).owner == org["rep_south"]
    assert AuditEvent.objects.count() == before


def test_bulk_assign_refuses_invisible_ids_and_owners(client_for, org, south):
    api = client_for(org["rep_sh"])  # sees only their own; has no assign grant
    response = api.post(
        "/api/v1/accounts/bulk-assign/",
        {"ids": [south["other"].pk], "owner": org["rep_sh"].pk},
        format="json",
    )
    assert response.status_code == 403  # the grant is missing
    api = client_for(org["service_manager"])
    response = api.post(
        "/api/v1/accounts/bulk-assign/",
        {"ids": [south["mine"].pk, 999999], "owner": org["service_manager"].pk},
        format="json",
    )
    assert response.status_code == 400 and field_codes(response, "ids") == ["does_not_exist"]
    response = api.post(
        "/api/v1/accounts/bulk-assign/",
        {"ids": [south["mine"].pk], "owner": org["rep_sh"].pk},  # another department
        format="json",
    )
    assert response.status_code == 400 and field_codes(response, "owner") == ["invalid_owner"]
    response = api.post("/api/v1/accounts/bulk-assign/", {"ids": []}, format="json")
    assert response.status_code == 400


def test_bulk_assign_contacts(client_for, org):
    contacts = [ContactFactory(owner=org["rep_sh"]) for _ in range(3)]
    response = client_for(org["sales_manager"]).post(
        "/api/v1/contacts/bulk-assign/",
        {"ids": [c.pk for c in contacts], "owner": org["rep_east"].pk},
        format="json",
    )
    assert response.status_code == 200, response.content
    for contact in contacts:
        contact.refresh_from_db()
        assert contact.owner == org["rep_east"]


def test_bulk_stage(client_for, org, south):
    api = client_for(org["service_manager"])
    response = api.post(
        "/api/v1/accounts/bulk-stage/",
        {"ids": [south["mine"].pk, south["other"].pk], "lifecycle_stage": "at_risk"},
        format="json",
    )
    assert response.status_code == 403
    assert not Account.objects.filter(lifecycle_stage="at_risk").exists()
    response = api.post(
        "/api/v1/accounts/bulk-stage/",
        {"ids": [south["mine"].pk, south["mine2"].pk], "lifecycle_stage": "at_risk"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert Account.objects.filter(lifecycle_stage="at_risk").count() == 2
    events = AuditEvent.objects.filter(action="update", object_type="customers.account")
    assert events.count() == 2
    response = api.post(
        "/api/v1/accounts/bulk-stage/",
        {"ids": [south["mine"].pk], "lifecycle_stage": "nope"},
        format="json",
    )
    assert response.status_code == 400 and "lifecycle_stage" in error_of(response)["fields"]


def test_the_schema_documents_view_and_bulk(client, db):
    schema = client.get("/api/schema/?format=json").json()
    parameters = {p["name"] for p in schema["paths"]["/api/v1/accounts/"]["get"]["parameters"]}
    assert "view" in parameters
    assert "post" in schema["paths"]["/api/v1/accounts/bulk-stage/"]
    assert "post" in schema["paths"]["/api/v1/contacts/bulk-assign/"]
    assert "/api/v1/contacts/bulk-stage/" not in schema["paths"]
