"""GET /api/v1/search/: grouped, restricted, field rules applied, signed-in only."""

from __future__ import annotations

from rapport.core.search.models import SearchDocument
from rapport.identity.models import FieldRule, Role
from tests.factories import AccountFactory, ContactFactory

from .helpers import error_of

URL = "/api/v1/search/"


def _data(org):
    bank = AccountFactory(owner=org["rep_sh"], name="中国银行", credit_code="")
    ContactFactory(
        owner=org["rep_sh"], name="王小明", phones=["+8613812345678"], emails=["wang@bank.cn"]
    )
    AccountFactory(owner=org["rep_south"], name="中国银行深圳分行")
    return bank


def test_results_are_grouped_by_type_and_restricted(org, client_for):
    bank = _data(org)
    body = client_for(org["rep_sh"]).get(URL, {"q": "zhongguo"}).json()
    groups = {group["type"]: group for group in body["groups"]}
    # sales reps read the knowledge base too (its group is there, empty here), and their
    # sales records (leads, deals, quotes … — empty here); no tickets
    sales_groups = {kind for kind in groups if kind.startswith("sales.")}
    assert {"sales.lead", "sales.opportunity", "sales.quote"} <= sales_groups
    assert all(groups[kind]["results"] == [] for kind in sales_groups)
    assert set(groups) - sales_groups == {
        "customers.account",
        "customers.contact",
        "service.article",
    }
    assert groups["service.article"]["results"] == []
    accounts = groups["customers.account"]
    assert [hit["id"] for hit in accounts["results"]] == [bank.pk]
    assert accounts["results"][0]["title"] == "中国银行"
    assert accounts["results"][0]["url"] == f"/customers/accounts/{bank.pk}/"
    assert accounts["label"] == "Accounts" and accounts["more"] is False
    assert groups["customers.contact"]["results"] == []
    assert body["fuzzy"] is False

    only = client_for(org["rep_sh"]).get(URL, {"q": "13812345678", "type": "customers.contact"})
    assert [group["type"] for group in only.json()["groups"]] == ["customers.contact"]
    assert [hit["title"] for hit in only.json()["groups"][0]["results"]] == ["王小明"]


def test_field_rules_apply_to_what_a_hit_shows(org, client_for):
    _data(org)
    rep = client_for(org["rep_sh"]).get(URL, {"q": "王小明"}).json()
    shown = rep["groups"][1]["results"][0]["subtitle"]
    assert "+8613812345678" in shown and "wang@bank.cn" in shown

    role = Role.objects.get(code="sales_rep")
    FieldRule.objects.create(
        role=role, object_type="customers.contact", field="phones", rule="masked"
    )
    FieldRule.objects.create(
        role=role, object_type="customers.contact", field="emails", rule="hidden"
    )
    masked = client_for(org["rep_sh"]).get(URL, {"q": "王小明"}).json()
    shown = masked["groups"][1]["results"][0]["subtitle"]
    assert "+8613812345678" not in shown and "****5678" in shown
    assert "wang@bank.cn" not in shown and "w***" not in shown
    # A hidden e-mail cannot be used to find the contact either; a masked phone can.
    by_email = client_for(org["rep_sh"]).get(URL, {"q": "wang@bank.cn"}).json()
    assert all(not group["results"] for group in by_email["groups"])
    by_phone = client_for(org["rep_sh"]).get(URL, {"q": "138 1234 5678"}).json()
    assert [hit["title"] for hit in by_phone["groups"][1]["results"]] == ["王小明"]


def test_unauthenticated_is_401(org, api):
    _data(org)
    response = api.get(URL, {"q": "中国银行"})
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_bad_parameters_are_400_naming_the_field(org, client_for):
    client = client_for(org["rep_sh"])
    response = client.get(URL, {"q": "x", "type": "sales.nothing"})
    assert response.status_code == 400 and "type" in error_of(response)["fields"]
    response = client.get(URL, {"q": "x", "limit": "0"})
    assert response.status_code == 400 and "limit" in error_of(response)["fields"]
    assert client.get(URL).status_code == 400


def test_list_endpoints_search_through_the_index(org, client_for):
    bank = _data(org)
    client = client_for(org["rep_sh"])
    accounts = client.get("/api/v1/accounts/", {"q": "zgyh"}).json()["results"]
    assert [row["id"] for row in accounts] == [bank.pk]
    contacts = client.get("/api/v1/contacts/", {"q": "+86 138-1234-5678"}).json()["results"]
    assert [row["name"] for row in contacts] == ["王小明"]
    assert SearchDocument.objects.filter(object_type="customers.contact").count() == 1
