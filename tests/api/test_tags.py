"""Tags over the API: the tree, `tags` on accounts and contacts, `?tag=` filters with
descendants, bulk apply (all or nothing), bad input named by field, flat query counts."""

from __future__ import annotations

import pytest

from rapport.audit.models import AuditEvent
from rapport.core.models import OutboxMessage, Tag, TaggedRecord
from rapport.core.tags import services
from tests.factories import AccountFactory, ContactFactory

from .helpers import error_of, field_codes
from .test_query_counts import _assert_flat

pytestmark = pytest.mark.django_db

TAGS = "/api/v1/tags/"
ACCOUNTS = "/api/v1/accounts/"
CONTACTS = "/api/v1/contacts/"


@pytest.fixture
def tree(org):
    admin = org["admin"]
    industry = services.tag_create(actor=admin, name="行业", name_en="Industry")
    manufacturing = services.tag_create(
        actor=admin, name="制造业", name_en="Manufacturing", colour="orange", parent=industry
    )
    vip = services.tag_create(actor=admin, name="VIP", colour="purple")
    return {"industry": industry, "manufacturing": manufacturing, "vip": vip}


def apply(client, tag, type_, ids, remove=False):
    return client.post(
        f"{TAGS}{tag.pk}/apply/", {"type": type_, "ids": ids, "remove": remove}, format="json"
    )


# --- the tree ----------------------------------------------------------------------------------


def test_everyone_signed_in_reads_the_tree_in_their_language(org, client_for, tree, api):
    response = client_for(org["rep_sh"]).get(TAGS, {"ordering": "path"})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["label"] for row in rows] == ["Industry", "Manufacturing", "VIP"]  # user: en
    child = rows[1]
    assert child["parent"] == tree["industry"].pk and child["depth"] == 1
    assert child["path"].startswith(rows[0]["path"]) and child["colour"] == "orange"
    assert api.get(TAGS).status_code == 401


def test_admin_creates_moves_and_deactivates(org, client_for, tree):
    client = client_for(org["admin"])
    response = client.post(
        TAGS,
        {
            "name": "汽车",
            "name_en": "Automotive",
            "colour": "red",
            "parent": tree["manufacturing"].pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    car = response.json()
    assert car["depth"] == 2
    response = client.patch(f"{TAGS}{tree['manufacturing'].pk}/", {"parent": None}, format="json")
    assert response.status_code == 200 and response.json()["depth"] == 0
    assert Tag.objects.get(pk=car["id"]).depth == 1
    response = client.post(f"{TAGS}{tree['manufacturing'].pk}/deactivate/")
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert not Tag.objects.get(pk=car["id"]).is_active
    response = client.post(f"{TAGS}{tree['manufacturing'].pk}/reactivate/")
    assert response.json()["is_active"] is True


def test_moving_under_a_descendant_is_a_400_naming_parent(org, client_for, tree):
    response = client_for(org["admin"]).patch(
        f"{TAGS}{tree['industry'].pk}/", {"parent": tree["manufacturing"].pk}, format="json"
    )
    assert response.status_code == 400
    assert field_codes(response, "parent") == ["cycle"]


def test_bad_colour_and_unknown_parent_are_named_in_chinese_and_nothing_is_stored(
    org, client_for, tree
):
    client = client_for(org["admin"])
    count = Tag.objects.count()
    response = client.post(
        TAGS,
        {"name": "新标签", "colour": "mauve"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    assert field_codes(response, "colour") == ["invalid_choice"]
    assert "mauve" in error_of(response)["fields"]["colour"][0]["message"]
    response = client.post(TAGS, {"name": "新标签", "parent": 999999}, format="json")
    assert response.status_code == 400 and "parent" in error_of(response)["fields"]
    response = client.post(TAGS, {"name": "新标签", "colr": "red"}, format="json")
    assert field_codes(response, "colr") == ["unknown_field"]
    assert Tag.objects.count() == count


@pytest.mark.parametrize("role", ["rep_sh", "sales_manager", "auditor"])
def test_only_tag_managers_change_the_tree(org, client_for, tree, role):
    client = client_for(org[role])
    assert client.post(TAGS, {"name": "私有"}, format="json").status_code == 403
    assert client.patch(f"{TAGS}{tree['vip'].pk}/", {"name": "X"}, format="json").status_code == 403
    assert client.post(f"{TAGS}{tree['vip'].pk}/deactivate/").status_code == 403
    assert not Tag.objects.filter(name__in=["私有", "X"]).exists()


# --- tags on records -----------------------------------------------------------------------------


def test_rep_applies_and_removes_a_tag_on_own_accounts(org, client_for, tree):
    rep = org["rep_sh"]
    accounts = [AccountFactory(owner=rep) for _ in range(3)]
    client = client_for(rep)
    response = apply(client, tree["vip"], "customers.account", [a.pk for a in accounts])
    assert response.status_code == 200, response.content
    assert sorted(response.json()["changed"]) == sorted(a.pk for a in accounts)
    assert AuditEvent.objects.filter(action="update", actor=rep).count() == 3
    assert (
        OutboxMessage.objects.filter(topic="record.updated", payload__fields=["tags"]).count() == 3
    )
    body = client.get(f"{ACCOUNTS}{accounts[0].pk}/").json()
    assert body["tags"] == [{"id": tree["vip"].pk, "label": "VIP", "colour": "purple"}]
    response = apply(client, tree["vip"], "customers.account", [accounts[0].pk], remove=True)
    assert response.json()["changed"] == [accounts[0].pk]
    assert client.get(f"{ACCOUNTS}{accounts[0].pk}/").json()["tags"] == []


def test_apply_is_all_or_nothing(org, client_for, tree):
    agent = org["agent"]  # sees every contact, changes only own
    own = ContactFactory(owner=agent, name="自己的")
    other = ContactFactory(owner=org["rep_sh"], name="别人的")
    response = apply(client_for(agent), tree["vip"], "customers.contact", [own.pk, other.pk])
    assert response.status_code == 403
    error = error_of(response)
    assert "别人的" in error["message"] and "自己的" not in error["message"]
    assert [item["code"] for item in error["fields"]["ids"]] == ["record_not_changeable"]
    assert not TaggedRecord.objects.exists()


def test_apply_to_invisible_or_unknown_ids_is_a_400_naming_ids(org, client_for, tree):
    hidden = AccountFactory(owner=org["rep_south"], name="看不见的")
    mine = AccountFactory(owner=org["rep_sh"])
    client = client_for(org["rep_sh"])
    response = apply(client, tree["vip"], "customers.account", [mine.pk, hidden.pk, 123456789])
    assert response.status_code == 400
    assert field_codes(response, "ids") == ["does_not_exist"]
    assert "看不见的" not in response.content.decode()
    assert not TaggedRecord.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "identity.user", "ids": [1]}, "type"),
        ({"type": "customers.account", "ids": []}, "ids"),
        ({"type": "customers.account", "ids": ["x"]}, "ids"),
        ({"type": "customers.account", "ids": [2**64]}, "ids"),
        ({"ids": [1]}, "type"),
        ({"type": "customers.account", "ids": [1], "tags": [3]}, "tags"),
    ],
)
def test_bad_apply_input_is_named(org, client_for, tree, body, field):
    AccountFactory(owner=org["admin"])
    response = client_for(org["admin"]).post(f"{TAGS}{tree['vip'].pk}/apply/", body, format="json")
    assert response.status_code == 400
    fields = error_of(response)["fields"]
    assert any(name == field or name.startswith(f"{field}.") for name in fields), fields
    assert not TaggedRecord.objects.exists()


def test_applying_a_retired_tag_is_refused_but_removing_it_works(org, client_for, tree):
    account = AccountFactory(owner=org["admin"])
    client = client_for(org["admin"])
    apply(client, tree["vip"], "customers.account", [account.pk])
    services.tag_deactivate(actor=org["admin"], tag=tree["vip"])
    other = AccountFactory(owner=org["admin"])
    response = apply(client, tree["vip"], "customers.account", [other.pk])
    assert response.status_code == 400 and field_codes(response, "tags") == ["inactive"]
    response = apply(client, tree["vip"], "customers.account", [account.pk], remove=True)
    assert response.status_code == 200 and response.json()["changed"] == [account.pk]


# --- filters -------------------------------------------------------------------------------------


def test_tag_filter_includes_descendants_and_combines(org, client_for, tree):
    admin = org["admin"]
    factory = AccountFactory(owner=admin)
    vip = AccountFactory(owner=admin)
    both = AccountFactory(owner=admin)
    AccountFactory(owner=admin)
    services.records_tag(actor=admin, records=[factory, both], tags=[tree["manufacturing"]])
    services.records_tag(actor=admin, records=[vip, both], tags=[tree["vip"]])
    client = client_for(admin)

    def ids(params) -> set[int]:
        response = client.get(ACCOUNTS, params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids({"tag": tree["industry"].pk}) == {factory.pk, both.pk}
    assert ids({"tag": [tree["industry"].pk, tree["vip"].pk]}) == {factory.pk, vip.pk, both.pk}
    assert ids({"tag": [tree["industry"].pk, tree["vip"].pk], "tag_match": "all"}) == {both.pk}


def test_contact_tag_filter(org, client_for, tree):
    admin = org["admin"]
    tagged = ContactFactory(owner=admin)
    ContactFactory(owner=admin)
    services.records_tag(actor=admin, records=[tagged], tags=[tree["manufacturing"]])
    response = client_for(admin).get(CONTACTS, {"tag": tree["industry"].pk})
    assert [row["id"] for row in response.json()["results"]] == [tagged.pk]
    assert response.json()["results"][0]["tags"][0]["id"] == tree["manufacturing"].pk


@pytest.mark.parametrize("value", ["999999", "abc", "99999999999999999999999"])
def test_unknown_tag_in_filter_is_a_400_naming_tag(org, client_for, tree, value):
    response = client_for(org["admin"]).get(ACCOUNTS, {"tag": value})
    assert response.status_code == 400
    assert "tag" in error_of(response)["fields"]


@pytest.mark.parametrize(
    ("url", "factory"), [(ACCOUNTS, AccountFactory), (CONTACTS, ContactFactory)]
)
def test_list_queries_do_not_grow_with_tags(org, client_for, tree, url, factory):
    owner = org["rep_sh"]  # in the sales manager's department
    tags = [tree["vip"], tree["manufacturing"]]

    def grow(count):
        records = [factory(owner=owner) for _ in range(count)]
        services.records_tag(actor=owner, records=records, tags=tags)

    rows = _assert_flat(
        client_for(org["sales_manager"]), url, grow, few=3, many=25, params={"page_size": 100}
    )
    assert all(len(row["tags"]) == 2 for row in rows)
