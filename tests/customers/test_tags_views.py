"""Tags in the pages: the administration tree, chips and the tag filter on the lists, bulk
tag/untag from a list selection (all or nothing), the tag panel of a record's page."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from rapport.audit.models import AuditEvent
from rapport.core.models import Tag, TaggedRecord
from rapport.core.tags import selectors, services
from tests.factories import AccountFactory, ContactFactory
from tests.query_counts import assert_flat

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def login(client, user):
    client.force_login(user)
    return client


def rows(body: str, kind: str = "account") -> list[int]:
    return [int(pk) for pk in re.findall(rf'data-{kind}="(\d+)"', body)]


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def tree(org):
    admin = org["admin"]
    industry = services.tag_create(actor=admin, name="行业", name_en="Industry")
    manufacturing = services.tag_create(
        actor=admin, name="制造业", name_en="Manufacturing", colour="orange", parent=industry
    )
    source = services.tag_create(actor=admin, name="来源", name_en="Source", colour="green")
    fair = services.tag_create(actor=admin, name="展会", name_en="Trade fair", parent=source)
    vip = services.tag_create(actor=admin, name="VIP", colour="purple")
    return {
        "industry": industry,
        "manufacturing": manufacturing,
        "source": source,
        "fair": fair,
        "vip": vip,
    }


# --- administration --------------------------------------------------------------------------


def test_admin_sees_the_tree_with_colours_and_usage(client, org, tree):
    services.records_tag(
        actor=org["admin"], records=[AccountFactory(owner=org["admin"])], tags=[tree["fair"]]
    )
    response = login(client, org["admin"]).get(reverse("identity:tag_list"))
    body = response.content.decode()
    assert response.status_code == 200
    order = [int(pk) for pk in re.findall(r'data-tag-row="(\d+)"', body)]
    assert order == [tree[k].pk for k in ("industry", "manufacturing", "source", "fair", "vip")]
    assert 'class="badge bg-orange-lt' in body and "Manufacturing" in body  # admin reads English
    assert reverse("identity:tag_list") in body  # the Tags tab


def test_admin_creates_edits_moves_and_deactivates(client, org, tree):
    login(client, org["admin"])
    response = client.post(
        reverse("identity:tag_list"),
        {
            "name": "汽车",
            "name_en": "Automotive",
            "colour": "red",
            "parent": tree["manufacturing"].pk,
        },
    )
    assert response.status_code == 302
    car = Tag.objects.get(name="汽车")
    assert car.parent == tree["manufacturing"] and car.colour == "red"
    response = client.post(
        reverse("identity:tag_edit", args=[tree["manufacturing"].pk]),
        {
            "name": "制造",
            "name_en": "Manufacturing",
            "colour": "yellow",
            "parent": tree["source"].pk,
        },
    )
    assert response.status_code == 302
    car.refresh_from_db()
    assert car.path.startswith(tree["source"].path)
    client.post(reverse("identity:tag_deactivate", args=[tree["source"].pk]))
    assert not Tag.objects.filter(path__startswith=tree["source"].path, is_active=True).exists()
    assert AuditEvent.objects.filter(action="tag.deactivate").count() == 4


def test_bad_colour_and_cycle_are_shown_beside_their_fields(client, org, tree, settings):
    login(client, org["admin"])
    count = Tag.objects.count()
    response = client.post(
        reverse("identity:tag_list"), {"name": "", "colour": "mauve"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-field-error="name"' in body and 'data-field-error="colour"' in body
    assert Tag.objects.count() == count
    # The form offers no descendant as parent; a forged one is refused by the service.
    response = client.post(
        reverse("identity:tag_edit", args=[tree["industry"].pk]),
        {"name": "行业", "colour": "blue", "parent": tree["manufacturing"].pk},
    )
    assert 'data-field-error="parent"' in response.content.decode()
    tree["industry"].refresh_from_db()
    assert tree["industry"].parent_id is None


@pytest.mark.parametrize("role", ["rep_sh", "sales_manager", "auditor"])
def test_only_tag_managers_reach_the_administration(client, org, tree, role):
    login(client, org[role])
    assert client.get(reverse("identity:tag_list")).status_code == 403
    assert (
        client.post(reverse("identity:tag_list"), {"name": "x", "colour": "blue"}).status_code
        == 403
    )
    assert not Tag.objects.filter(name="x").exists()


# --- lists -------------------------------------------------------------------------------------


def test_account_list_shows_chips_and_filters_by_tag_with_descendants(client, org, tree):
    rep = org["rep_sh"]
    factory = AccountFactory(owner=rep, name="机床厂")
    fair = AccountFactory(owner=rep, name="展会来的")
    plain = AccountFactory(owner=rep, name="没有标签")
    services.records_tag(actor=rep, records=[factory], tags=[tree["manufacturing"], tree["vip"]])
    services.records_tag(actor=rep, records=[fair], tags=[tree["fair"]])
    login(client, rep)
    url = reverse("customers:account_list")
    body = client.get(url).content.decode()
    assert set(rows(body)) == {factory.pk, fair.pk, plain.pk}
    assert f'data-tag="{tree["vip"].pk}"' in body and "bg-purple-lt" in body
    industry = client.get(url, {"tag": tree["industry"].pk}).content.decode()
    assert rows(industry) == [factory.pk]
    either = client.get(url, {"tag": [tree["industry"].pk, tree["source"].pk]}).content.decode()
    assert set(rows(either)) == {factory.pk, fair.pk}
    both = client.get(
        url, {"tag": [tree["industry"].pk, tree["vip"].pk], "tag_match": "all"}
    ).content.decode()
    assert rows(both) == [factory.pk]
    # An unknown tag id is ignored, as every bad filter value is.
    assert set(rows(client.get(url, {"tag": "99999"}).content.decode())) == {
        factory.pk,
        fair.pk,
        plain.pk,
    }


def test_contact_list_filters_by_tag(client, org, tree):
    rep = org["rep_sh"]
    tagged = ContactFactory(owner=rep)
    ContactFactory(owner=rep)
    services.records_tag(actor=rep, records=[tagged], tags=[tree["fair"]])
    login(client, rep)
    body = client.get(reverse("customers:contact_list"), {"tag": tree["source"].pk})
    assert rows(body.content.decode(), "contact") == [tagged.pk]


def test_lists_offer_bulk_tagging_only_to_who_may_change(client, org, tree):
    AccountFactory(owner=org["rep_sh"])
    body = login(client, org["rep_sh"]).get(reverse("customers:account_list")).content.decode()
    assert 'data-testid="bulk-tags"' in body and 'form="bulk-tags"' in body
    body = login(client, org["marketer"]).get(reverse("customers:account_list")).content.decode()
    assert 'data-testid="bulk-tags"' not in body and 'form="bulk-tags"' not in body


@pytest.mark.parametrize("kind", ["account", "contact"])
def test_list_queries_do_not_grow_with_tagged_rows(client, org, tree, kind):
    owner = org["rep_sh"]
    factory = AccountFactory if kind == "account" else ContactFactory
    tags = [tree["vip"], tree["fair"], tree["manufacturing"]]

    def grow(count):
        for _ in range(count):
            record = factory(owner=owner)
            services.records_tag(actor=owner, records=[record], tags=tags)

    login(client, org["sales_manager"])
    url = reverse(f"customers:{kind}_list")
    assert_flat(client, url, grow, few=3, many=25, rows=lambda body: len(rows(body, kind)))
    body = client.get(url).content.decode()
    assert body.count(f'data-tag="{tree["vip"].pk}"') >= 25


# --- bulk tag / untag --------------------------------------------------------------------------


def test_rep_bulk_tags_and_untags_own_accounts(client, org, tree):
    rep = org["rep_sh"]
    accounts = [AccountFactory(owner=rep) for _ in range(3)]
    login(client, rep)
    url = reverse("customers:records_tag", args=["accounts"])
    back = reverse("customers:account_list") + "?status=all"
    response = client.post(
        url,
        {"records": [a.pk for a in accounts], "tag": tree["vip"].pk, "op": "tag", "next": back},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == back
    assert any("3" in message and "VIP" in message for message in messages_of(response))
    assert all(selectors.tags_of(accounts)[a.pk] == [tree["vip"]] for a in accounts)
    assert AuditEvent.objects.filter(action="update", actor=rep).count() == 3
    response = client.post(
        url,
        {"records": [accounts[0].pk], "tag": tree["vip"].pk, "op": "untag"},
        follow=True,
    )
    assert selectors.tags_of(accounts[:1])[accounts[0].pk] == []
    assert any("removed" in message for message in messages_of(response))


def test_bulk_tag_with_a_record_the_user_may_not_change_stores_nothing(client, org, tree):
    agent = org["agent"]  # service agents see every contact, change only their own
    own = ContactFactory(owner=agent, name="自己的联系人")
    other = ContactFactory(owner=org["rep_sh"], name="别人的联系人")
    response = login(client, agent).post(
        reverse("customers:records_tag", args=["contacts"]),
        {"records": [own.pk, other.pk], "tag": tree["vip"].pk, "op": "tag"},
        follow=True,
    )
    errors = messages_of(response)
    assert len(errors) == 1 and "别人的联系人" in errors[0] and "自己的联系人" not in errors[0]
    assert not TaggedRecord.objects.exists()


def test_bulk_tag_of_records_the_user_cannot_see_reveals_nothing(client, org, tree):
    hidden = AccountFactory(owner=org["rep_south"], name="看不见的公司")
    mine = AccountFactory(owner=org["rep_sh"])
    response = login(client, org["rep_sh"]).post(
        reverse("customers:records_tag", args=["accounts"]),
        {"records": [mine.pk, hidden.pk], "tag": tree["vip"].pk, "op": "tag"},
        follow=True,
    )
    assert "看不见的公司" not in response.content.decode()
    assert messages_of(response) and not TaggedRecord.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"tag": "VIP"},  # no records
        {"records": ["1x"], "tag": "VIP"},
        {"records": ["ID"], "tag": "99999"},
    ],
)
def test_bad_bulk_input_is_refused_with_a_message(client, org, tree, data):
    account = AccountFactory(owner=org["rep_sh"])
    data = {**data, "op": "tag"}
    data["records"] = [account.pk if r == "ID" else r for r in data.get("records", [])]
    data["tag"] = tree["vip"].pk if data["tag"] == "VIP" else data["tag"]
    response = login(client, org["rep_sh"]).post(
        reverse("customers:records_tag", args=["accounts"]), data, follow=True
    )
    assert messages_of(response)
    assert not TaggedRecord.objects.exists()


def test_bulk_tag_redirects_only_to_this_site(client, org, tree):
    account = AccountFactory(owner=org["rep_sh"])
    response = login(client, org["rep_sh"]).post(
        reverse("customers:records_tag", args=["accounts"]),
        {"records": [account.pk], "tag": tree["vip"].pk, "next": "https://evil.example.com/"},
    )
    assert response["Location"] == reverse("customers:account_list")


def test_bulk_tag_needs_post(client, org):
    assert (
        login(client, org["rep_sh"])
        .get(reverse("customers:records_tag", args=["accounts"]))
        .status_code
        == 405
    )


# --- the record's page -------------------------------------------------------------------------


def test_detail_panel_adds_and_removes_tags(client, org, tree):
    rep = org["rep_sh"]
    account = AccountFactory(owner=rep)
    url = reverse("customers:account_detail", args=[account.pk])
    login(client, rep)
    body = client.get(url).content.decode()
    assert 'data-testid="record-tags"' in body and 'data-testid="record-tag-add"' in body
    client.post(
        reverse("customers:records_tag", args=["accounts"]),
        {"records": [account.pk], "tag": tree["fair"].pk, "op": "tag", "next": url},
    )
    body = client.get(url).content.decode()
    chips = re.search(r'data-testid="record-tag-chips".*?</div>', body, re.S).group(0)
    assert f'data-tag="{tree["fair"].pk}"' in chips
    assert re.search(rf'<option value="{tree["fair"].pk}"', body) is None  # not offered twice


def test_detail_panel_is_read_only_for_who_may_not_change(client, org, tree):
    contact = ContactFactory(owner=org["rep_sh"])
    services.records_tag(actor=org["rep_sh"], records=[contact], tags=[tree["vip"]])
    body = (
        login(client, org["agent"])
        .get(reverse("customers:contact_detail", args=[contact.pk]))
        .content.decode()
    )
    assert 'data-testid="record-tags"' in body and f'data-tag="{tree["vip"].pk}"' in body
    assert 'data-testid="record-tag-add"' not in body and 'name="op" value="untag"' not in body


def test_history_names_the_tags_that_were_added(client, org, tree):
    rep = org["rep_sh"]
    account = AccountFactory(owner=rep)
    services.records_tag(actor=rep, records=[account], tags=[tree["manufacturing"]])
    body = (
        login(client, rep)
        .get(reverse("customers:account_history", args=[account.pk]))
        .content.decode()
    )
    assert "Manufacturing" in body and "Tags" in body
