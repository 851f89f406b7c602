"""Lists that slice: the filter builder's text applied on top of the quick filters, bad filters
named in both languages, saved views on the page, the column chooser, bulk assign and bulk
lifecycle stage (all or nothing, audited per record), and flat query counts."""

from __future__ import annotations

import json
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from rapport.audit.models import AuditEvent
from rapport.customers import services
from rapport.customers.models import Account
from rapport.customers.services import bulk
from rapport.identity.models import FieldRule, Role, SavedView
from rapport.identity.services import saved_view_create
from tests.factories import AccountFactory, ContactFactory
from tests.query_counts import assert_flat, page_queries

pytestmark = pytest.mark.django_db

ACCOUNTS = "customers:account_list"
CONTACTS = "customers:contact_list"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def login(client, user):
    client.force_login(user)
    return client


def rows(response, kind: str = "account") -> list[int]:
    return [int(pk) for pk in re.findall(rf'data-{kind}="(\d+)"', response.content.decode())]


def header_columns(response) -> list[str]:
    return re.findall(r'<th data-column="([^"]+)"', response.content.decode())


def builder_config(response) -> dict:
    body = response.content.decode()
    raw = body.split('<script id="filter-builder-config" type="application/json">')[1]
    return json.loads(raw.split("</script>")[0])


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def book(org):
    """Accounts of the sales manager's department with different tiers, provinces, stages."""
    manager = org["sales_manager"]
    return {
        "a_sh": AccountFactory(owner=manager, name="上海甲", tier="A", province="上海市"),
        "a_js": AccountFactory(owner=org["rep_east"], name="江苏甲", tier="A", province="江苏省"),
        "b_sh": AccountFactory(owner=org["rep_sh"], name="上海乙", tier="B", province="上海市"),
        "c_old": AccountFactory(
            owner=manager, name="旧客户", tier="C", province="上海市", is_active=False
        ),
    }


# --- the filter language on the page -----------------------------------------------------------


def test_builder_text_is_applied_on_top_of_the_quick_filters(client, org, book):
    login(client, org["sales_manager"])
    url = reverse(ACCOUNTS)
    text = "tier = A and (province = 上海市 or owner = me)"
    assert rows(client.get(url, {"filter": text})) == [book["a_sh"].pk]
    wider = "tier in (A, B) and province = 上海市"
    assert set(rows(client.get(url, {"filter": wider}))) == {book["a_sh"].pk, book["b_sh"].pk}
    # The quick filters still narrow it; the text is shown back in the text box.
    response = client.get(url, {"filter": wider, "tier": "B"})
    assert rows(response) == [book["b_sh"].pk]
    assert "tier in (A, B) and province = 上海市</textarea>" in response.content.decode()


def test_filter_on_is_active_replaces_the_active_only_default(client, org, book):
    login(client, org["sales_manager"])
    response = client.get(reverse(ACCOUNTS), {"filter": "is_active = false"})
    assert rows(response) == [book["c_old"].pk]


def test_the_builder_state_comes_from_the_text(client, org, book):
    login(client, org["sales_manager"])
    response = client.get(
        reverse(ACCOUNTS), {"filter": "tier in (A, B) or (province = 上海市 and owner = me)"}
    )
    state = builder_config(response)["state"]
    assert state == {
        "join": "or",
        "items": [
            {"field": "tier", "op": "in", "value": ["A", "B"]},
            {
                "join": "and",
                "items": [
                    {"field": "province", "op": "=", "value": "上海市"},
                    {"field": "owner", "op": "=", "value": "me"},
                ],
            },
        ],
    }
    # "not" is for the text box only.
    response = client.get(reverse(ACCOUNTS), {"filter": "not tier = A"})
    assert builder_config(response)["state"] is None


def test_builder_fields_follow_the_field_rules(client, org, book):
    role = Role.objects.get(code="sales_manager")
    FieldRule.objects.create(
        role=role, object_type="customers.account", field="credit_code", rule="hidden"
    )
    login(client, org["sales_manager"])
    fields = {f["name"]: f for f in builder_config(client.get(reverse(ACCOUNTS)))["fields"]}
    assert "credit_code" not in fields
    assert fields["tier"]["type"] == "choice"
    assert ["A", "A"] not in fields["tier"]["choices"] and fields["tier"]["choices"][0][0] == "A"
    assert "~" in fields["name"]["ops"] and "<" not in fields["name"]["ops"]
    assert fields["owner"]["choices"][0] == ["me", "Me"]
    # The auditor sees contact phones masked: the builder offers only "is (not) empty".
    login(client, org["auditor"])
    contact_fields = builder_config(client.get(reverse(CONTACTS)))["fields"]
    assert all(f["name"] != "phones" for f in contact_fields)  # not a filter field at all
    fields = {f["name"]: f for f in builder_config(client.get(reverse(ACCOUNTS)))["fields"]}
    assert fields["phone"]["ops"] == ["empty", "not empty"]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "tier: “Z” is not one of: A, B, C."),
        ("zh-hans", "tier: “Z”不在可选值中：A, B, C。"),
    ],
)
def test_a_bad_filter_is_named_and_shows_no_rows(client, org, book, language, expected):
    user = org["sales_manager"]
    type(user).objects.filter(pk=user.pk).update(language=language)
    login(client, user)
    response = client.get(reverse(ACCOUNTS), {"filter": "tier = Z"})
    assert response.status_code == 200
    assert rows(response) == []
    body = response.content.decode()
    error = body.split('data-field-error="filter" data-testid="filter-error">')[1].split("</div>")[
        0
    ]
    assert error == expected


def test_a_syntax_error_names_the_position(client, org, book):
    login(client, org["sales_manager"])
    response = client.get(reverse(ACCOUNTS), {"filter": "tier = A and"})
    assert rows(response) == []
    assert 'data-field-error="filter"' in response.content.decode()
    response = client.get(reverse(ACCOUNTS), {"filter": "tier === A"})
    assert "character" in response.content.decode()


def test_a_masked_field_cannot_be_filtered_by_value(client, org, book):
    login(client, org["auditor"])
    response = client.get(reverse(ACCOUNTS), {"filter": "phone = 13812345678"})
    assert response.status_code == 200
    assert rows(response) == []
    assert "masked" in response.content.decode()


# --- saved views ------------------------------------------------------------------------------


def test_save_a_view_then_reopen_it(client, org, book):
    user = org["sales_manager"]
    login(client, user)
    url = reverse(ACCOUNTS)
    query = "?filter=tier+%3D+A&sort=-updated&col=&col=tier&col=owner"
    response = client.post(url + query, {"view_action": "save", "name": "A 类客户"})
    view = SavedView.objects.get(owner=user, name="A 类客户")
    assert response.status_code == 302 and f"view={view.pk}" in response["Location"]
    assert view.filter == {"field": "tier", "op": "=", "value": "A"}
    assert view.columns == ["tier", "owner"] and view.ordering == "-updated"
    assert view.object_type == "customers.account" and view.team is None
    assert AuditEvent.objects.filter(object_type="identity.savedview", action="create").exists()

    # Reopened from a fresh page: its filter, columns and sort apply.
    client.get(url, {"col": ["", "phone"]})  # a session choice does not override the view
    response = client.get(url, {"view": view.pk})
    assert set(rows(response)) == {book["a_sh"].pk, book["a_js"].pk}
    assert header_columns(response) == ["tier", "owner"]
    assert 'value="-updated" selected' in response.content.decode()
    assert f'<option value="{view.pk}" selected>' in response.content.decode()
    assert "A 类客户" in response.content.decode()


def test_a_view_keeps_the_quick_filters_too(client, org, book):
    """The tier, province and status boxes (and search text) are saved with the view and come back
    when it is opened; a box the person changes afterwards wins over the view."""
    user = org["sales_manager"]
    login(client, user)
    url = reverse(ACCOUNTS)
    query = "?tier=A&province=上海市&status=all&q=&filter="
    assert rows(client.get(url + query)) == [book["a_sh"].pk]
    client.post(url + query, {"view_action": "save", "name": "上海 A"})
    view = SavedView.objects.get(owner=user, name="上海 A")
    assert view.params == {"tier": "A", "province": "上海市", "status": "all"}
    response = client.get(url, {"view": view.pk})
    assert rows(response) == [book["a_sh"].pk]
    body = response.content.decode()
    assert 'value="上海市"' in body and '<option value="A" selected>' in body
    # Emptying the tier box on the open view widens it to every tier.
    response = client.get(url, {"view": view.pk, "tier": ""})
    assert set(rows(response)) == {book["a_sh"].pk, book["b_sh"].pk, book["c_old"].pk}


def test_a_view_with_malformed_quick_filters_is_refused(org):
    from django.core.exceptions import ValidationError

    from rapport.identity import services as identity_services

    with pytest.raises(ValidationError) as error:
        identity_services.saved_view_create(
            actor=org["rep_sh"],
            object_type="customers.account",
            name="坏",
            params={"q": {"nested": "dict"}},
        )
    assert [item.code for item in error.value.error_dict["params"]] == ["invalid"]
    assert not SavedView.objects.filter(name="坏").exists()


def test_update_and_delete_ones_own_view(client, org, book):
    user = org["sales_manager"]
    view = saved_view_create(
        actor=user, object_type="customers.account", name="上海", filter="province = 上海市"
    )
    login(client, user)
    url = reverse(ACCOUNTS)
    response = client.post(
        f"{url}?view={view.pk}&filter=province+%3D+江苏省&col=&col=region",
        {"view_action": "update", "name": "江苏"},
    )
    assert response.status_code == 302
    view.refresh_from_db()
    assert view.name == "江苏" and view.filter["value"] == "江苏省"
    assert view.columns == ["region"]
    assert rows(client.get(url, {"view": view.pk})) == [book["a_js"].pk]
    response = client.post(f"{url}?view={view.pk}", {"view_action": "delete"})
    assert response.status_code == 302 and "view=" not in response["Location"]
    assert not SavedView.objects.filter(pk=view.pk).exists()
    actions = AuditEvent.objects.filter(object_type="identity.savedview", object_id=str(view.pk))
    assert set(actions.values_list("action", flat=True)) == {"create", "update", "delete"}


def test_a_view_shared_with_a_team_is_offered_to_its_members_only(client, org, book):
    lead = org["cm"]  # leads "Key accounts", whose member is rep_sh
    team = lead.led_teams.get()
    view = saved_view_create(
        actor=lead, object_type="customers.account", name="重点", filter="tier = A", team=team
    )
    login(client, org["rep_sh"])
    response = client.get(reverse(ACCOUNTS))
    assert f'<option value="{view.pk}"' in response.content.decode()
    response = client.get(reverse(ACCOUNTS), {"view": view.pk})
    assert 'data-testid="view-update"' not in response.content.decode()  # not theirs
    # A forged update of someone else's view is refused and stores nothing.
    response = client.post(
        reverse(ACCOUNTS) + f"?view={view.pk}", {"view_action": "update", "name": "改名"}
    )
    assert response.status_code == 200
    view.refresh_from_db()
    assert view.name == "重点"
    login(client, org["rep_south"])
    response = client.get(reverse(ACCOUNTS), {"view": view.pk})
    assert f'<option value="{view.pk}"' not in response.content.decode()
    assert "not shared with you" in " ".join(messages_of(response))


def test_share_a_view_with_my_team_and_errors_beside_the_fields(client, org, book):
    user = org["rep_sh"]
    team = org["cm"].led_teams.get()
    saved_view_create(actor=user, object_type="customers.account", name="我的")
    login(client, user)
    url = reverse(ACCOUNTS)
    response = client.post(
        url + "?filter=tier+%3D+A", {"view_action": "save", "name": "我的", "team": team.pk}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-field-error="name"' in body  # duplicate name, beside the name
    response = client.post(
        url + "?filter=tier+%3D+A", {"view_action": "save", "name": "共享", "team": 999999}
    )
    assert 'data-field-error="team"' in response.content.decode()
    response = client.post(url + "?filter=tier+%3D+Z", {"view_action": "save", "name": "坏的"})
    assert 'data-field-error="__all__"' in response.content.decode()  # the filter, named
    assert "tier" in response.content.decode().split('data-field-error="__all__"')[1][:200]
    assert SavedView.objects.filter(owner=user).count() == 1
    response = client.post(
        url + "?filter=tier+%3D+A", {"view_action": "save", "name": "共享", "team": team.pk}
    )
    assert response.status_code == 302
    assert SavedView.objects.get(name="共享").team == team


def test_saved_views_in_chinese(client, org, book):
    user = org["sales_manager"]
    type(user).objects.filter(pk=user.pk).update(language="zh-hans")
    login(client, user)
    response = client.post(reverse(ACCOUNTS), {"view_action": "save", "name": ""})
    body = response.content.decode()
    assert 'data-field-error="name"' in body
    assert "另存为新视图" in body
    response = client.post(reverse(ACCOUNTS), {"view_action": "save", "name": "甲"}, follow=True)
    assert "已保存" in " ".join(messages_of(response))


# --- columns ----------------------------------------------------------------------------------


def test_column_choice_is_remembered_per_list(client, org, book):
    login(client, org["sales_manager"])
    url = reverse(ACCOUNTS)
    default = header_columns(client.get(url))
    assert default[:3] == ["industry", "tier", "lifecycle_stage"] and "website" not in default
    response = client.get(url, {"col": ["", "website", "tier", "nonsense"]})
    assert header_columns(response) == ["tier", "website"]  # offered order, unknown dropped
    assert header_columns(client.get(url)) == ["tier", "website"]
    assert header_columns(client.get(reverse(CONTACTS))) != ["tier", "website"]
    response = client.get(url, {"col": [""]})  # nothing but the name
    assert header_columns(response) == []
    assert rows(response)


def test_hidden_fields_are_never_columns_and_masked_ones_are_masked(client, org):
    role = Role.objects.get(code="sales_rep")
    FieldRule.objects.create(
        role=role, object_type="customers.account", field="website", rule="hidden"
    )
    FieldRule.objects.create(
        role=role, object_type="customers.account", field="address", rule="masked"
    )
    user = org["rep_sh"]
    AccountFactory(
        owner=user, website="https://secret.example.com", address="浦东新区世纪大道100号"
    )
    login(client, user)
    response = client.get(reverse(ACCOUNTS), {"col": ["", "website", "address"]})
    body = response.content.decode()
    assert header_columns(response) == ["address"]
    assert "secret.example.com" not in body
    assert "浦东新区世纪大道100号" not in body and "浦*" in body
    assert (
        'value="website"'
        not in body.split('data-testid="column-chooser"')[1].split("</details>")[0]
    )


def test_parent_column_names_only_parents_the_user_may_see(client, org):
    user = org["rep_sh"]
    hidden_parent = AccountFactory(owner=org["rep_south"], name="看不见的母公司")
    hidden_child = AccountFactory(owner=user, name="子公司", parent=hidden_parent)
    visible_parent = AccountFactory(owner=user, name="看得见的母公司")
    visible_child = AccountFactory(owner=user, name="子公司二", parent=visible_parent)
    login(client, user)
    body = client.get(reverse(ACCOUNTS), {"col": ["", "parent"]}).content.decode()

    def parent_cell(account) -> str:
        row = body.split(f'data-account="{account.pk}"')[1].split("</tr>")[0]
        return row.split('data-field="parent"')[1].split("</td>")[0]

    assert "看得见的母公司" in parent_cell(visible_child)
    assert f"/customers/accounts/{visible_parent.pk}/" in parent_cell(visible_child)
    assert "—" in parent_cell(hidden_child)
    assert "看不见的母公司" not in body


def _all_columns(client, url) -> list[str]:
    body = client.get(url).content.decode()
    chooser = body.split('data-testid="column-chooser"')[1].split("</details>")[0]
    return ["", *re.findall(r'name="col" value="([^"]+)"', chooser)]


@pytest.mark.parametrize("role", ["sales_manager", "auditor"])
def test_account_list_queries_stay_flat_with_rows_and_columns(client, org, role):
    owner = org["rep_sh"]
    parent = AccountFactory(owner=owner)
    login(client, org[role])
    url = reverse(ACCOUNTS)
    every = _all_columns(client, url)
    assert len(every) > 10

    def grow(count):
        for _ in range(count):
            AccountFactory(owner=owner, parent=parent, industry="finance", tier="A")

    few_columns = {"col": ["", "tier"], "filter": "tier = A"}
    grow(3)
    client.get(url, few_columns)
    expected, _body = page_queries(client, url, few_columns)
    assert_flat(
        client,
        url,
        grow,
        few=3,
        many=30,
        params={"col": every, "filter": "tier = A"},
        rows=lambda body: len(re.findall(r'data-account="\d+"', body)),
    )
    actual, _body = page_queries(client, url, {"col": every, "filter": "tier = A"})
    assert actual == expected, "more columns must not cost more queries"


def test_contact_list_queries_stay_flat_with_rows_and_columns(client, org):
    owner = org["rep_sh"]
    accounts = [AccountFactory(owner=owner) for _ in range(3)]
    login(client, org["sales_manager"])
    url = reverse(CONTACTS)
    every = _all_columns(client, url)

    def grow(count):
        for _ in range(count):
            ContactFactory(owner=owner).accounts.set(accounts)

    assert_flat(
        client,
        url,
        grow,
        few=3,
        many=30,
        params={"col": every},
        rows=lambda body: len(re.findall(r'data-contact="\d+"', body)),
    )


# --- bulk assign and stage ----------------------------------------------------------------------


@pytest.fixture
def south(org):
    """For the service manager (south): one account of their department, one outside it."""
    return {
        "mine": AccountFactory(owner=org["rep_south"], name="华南客户", lifecycle_stage="prospect"),
        "other": AccountFactory(owner=org["rep_sh"], name="上海客户", lifecycle_stage="prospect"),
        "mine2": AccountFactory(owner=org["rep_south"], name="华南二", lifecycle_stage="prospect"),
    }


def test_bulk_assign_changes_every_record_and_audits_each(client, org, south):
    manager = org["service_manager"]
    login(client, manager)
    ids = [south["mine"].pk, south["mine2"].pk]
    response = client.post(
        reverse("customers:records_assign", args=["accounts"]),
        {"records": ids, "owner": manager.pk, "next": reverse(ACCOUNTS)},
        follow=True,
    )
    assert "2 records now belong to" in " ".join(messages_of(response))
    assert set(Account.objects.filter(pk__in=ids).values_list("owner", flat=True)) == {manager.pk}
    events = AuditEvent.objects.filter(action="assign", object_type="customers.account")
    assert sorted(int(e.object_id) for e in events) == sorted(ids)


def test_bulk_assign_is_all_or_nothing_and_names_the_refused_record(client, org, south):
    manager = org["service_manager"]
    manager.language = "zh-hans"
    manager.save()
    login(client, manager)
    before = AuditEvent.objects.count()
    response = client.post(
        reverse("customers:records_assign", args=["accounts"]),
        {"records": [south["mine"].pk, south["other"].pk], "owner": manager.pk},
        follow=True,
    )
    text = " ".join(messages_of(response))
    assert "上海客户" in text and "未做任何更改" in text
    assert Account.objects.get(pk=south["mine"].pk).owner == org["rep_south"]
    assert AuditEvent.objects.count() == before


def test_bulk_assign_offers_and_accepts_only_active_visible_users(client, org, south):
    manager = org["service_manager"]
    login(client, manager)
    body = client.get(reverse(ACCOUNTS)).content.decode()
    bar = body.split('data-testid="bulk-owner"')[1].split("</select>")[0]
    assert str(org["rep_south"]) in bar and str(org["rep_sh"]) not in bar  # another department
    response = client.post(
        reverse("customers:records_assign", args=["accounts"]),
        {"records": [south["mine"].pk], "owner": org["rep_sh"].pk},
        follow=True,
    )
    assert "Choose an active user you can see." in " ".join(messages_of(response))
    assert Account.objects.get(pk=south["mine"].pk).owner == org["rep_south"]


def test_bulk_assign_of_contacts(client, org):
    manager = org["sales_manager"]
    contacts = [ContactFactory(owner=org["rep_sh"]) for _ in range(2)]
    login(client, manager)
    client.post(
        reverse("customers:records_assign", args=["contacts"]),
        {"records": [c.pk for c in contacts], "owner": org["rep_east"].pk},
    )
    for contact in contacts:
        contact.refresh_from_db()
        assert contact.owner == org["rep_east"]


def test_bulk_assign_needs_the_assign_grant(client, org):
    rep = org["rep_sh"]
    account = AccountFactory(owner=rep)
    login(client, rep)
    assert 'data-testid="bulk-assign"' not in client.get(reverse(ACCOUNTS)).content.decode()
    response = client.post(
        reverse("customers:records_assign", args=["accounts"]),
        {"records": [account.pk], "owner": rep.pk},
        follow=True,
    )
    assert "may not change it" in " ".join(messages_of(response))


def test_bulk_stage_is_all_or_nothing_and_audited_per_record(client, org, south):
    manager = org["service_manager"]
    login(client, manager)
    url = reverse("customers:accounts_stage")
    response = client.post(
        url,
        {"records": [south["mine"].pk, south["other"].pk], "lifecycle_stage": "active"},
        follow=True,
    )
    assert "上海客户" in " ".join(messages_of(response))
    assert set(Account.objects.values_list("lifecycle_stage", flat=True)) == {"prospect"}
    response = client.post(
        url,
        {"records": [south["mine"].pk, south["mine2"].pk], "lifecycle_stage": "active"},
        follow=True,
    )
    assert "2 accounts are now at stage “Active”." in messages_of(response)
    events = AuditEvent.objects.filter(action="update", object_type="customers.account")
    assert {int(e.object_id) for e in events} == {south["mine"].pk, south["mine2"].pk}
    assert all(e.changes["lifecycle_stage"] == ["prospect", "active"] for e in events)


def test_bulk_stage_refuses_a_bad_stage(client, org, south):
    login(client, org["service_manager"])
    response = client.post(
        reverse("customers:accounts_stage"),
        {"records": [south["mine"].pk], "lifecycle_stage": "bogus"},
        follow=True,
    )
    assert "Choose a lifecycle stage." in messages_of(response)


def test_bulk_services_roll_back_when_one_record_is_refused(org, south):
    with pytest.raises(Exception, match="上海客户"):
        bulk.accounts_set_stage(
            actor=org["service_manager"],
            accounts=[south["mine"], south["other"]],
            stage="churned",
        )
    assert not Account.objects.filter(lifecycle_stage="churned").exists()
    services.account_update(actor=org["admin"], account=south["other"], tier="A")  # still usable
