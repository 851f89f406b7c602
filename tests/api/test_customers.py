"""Accounts and contacts over the API: per-role access, bad input, field rules, audit, N+1."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.audit.models import AuditEvent
from rapport.customers.models import Account, Contact
from tests.factories import AccountFactory, ContactFactory

from .helpers import credit_code, error_of, field_codes

pytestmark = pytest.mark.django_db

ACCOUNTS = "/api/v1/accounts/"
CONTACTS = "/api/v1/contacts/"


def ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


# --- create, read, change per role ---------------------------------------------------------


def test_rep_creates_an_account_owned_by_themselves(org, client_for):
    client = client_for(org["rep_sh"])
    response = client.post(
        ACCOUNTS,
        {"name": "  上海华夏贸易有限公司 ", "credit_code": credit_code(), "tier": "B"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner"]["id"] == org["rep_sh"].pk
    assert body["name"] == "上海华夏贸易有限公司"
    account = Account.objects.get(pk=body["id"])
    assert account.owner == org["rep_sh"]
    assert account.created_by == org["rep_sh"]
    assert AuditEvent.objects.filter(
        action="create", object_type="customers.account", object_id=str(account.pk)
    ).exists()


def test_rep_cannot_give_a_new_account_to_someone_else(org, client_for):
    client = client_for(org["rep_sh"])
    response = client.post(ACCOUNTS, {"name": "Acme", "owner": org["rep_east"].pk}, format="json")
    assert response.status_code == 400
    assert field_codes(response, "owner") == ["assign_denied"]
    assert not Account.objects.exists()


def test_rep_sees_only_own_records_and_gets_404_for_others(org, client_for):
    mine = AccountFactory(owner=org["rep_sh"], name="Mine")
    theirs = AccountFactory(owner=org["rep_south"], name="Theirs")
    client = client_for(org["rep_sh"])
    assert ids(client.get(ACCOUNTS)) == {mine.pk}
    assert client.get(f"{ACCOUNTS}{theirs.pk}/").status_code == 404
    response = client.patch(f"{ACCOUNTS}{theirs.pk}/", {"name": "Hijacked"}, format="json")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_manager_sees_the_department_subtree(org, client_for):
    in_east = AccountFactory(owner=org["rep_east"])
    in_shanghai = AccountFactory(owner=org["rep_sh"])
    AccountFactory(owner=org["rep_south"])
    client = client_for(org["sales_manager"])
    assert ids(client.get(ACCOUNTS)) == {in_east.pk, in_shanghai.pk}


def test_auditor_can_read_but_not_create_or_change(org, client_for):
    account = AccountFactory(owner=org["rep_sh"])
    client = client_for(org["auditor"])
    assert client.get(f"{ACCOUNTS}{account.pk}/").status_code == 200
    response = client.post(ACCOUNTS, {"name": "Not allowed"}, format="json")
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert client.patch(f"{ACCOUNTS}{account.pk}/", {"name": "x"}, format="json").status_code == 403
    assert client.post(f"{ACCOUNTS}{account.pk}/deactivate/").status_code == 403
    assert Account.objects.count() == 1


def test_rep_updates_own_account(org, client_for):
    account = AccountFactory(owner=org["rep_sh"], name="Old")
    client = client_for(org["rep_sh"])
    response = client.patch(
        f"{ACCOUNTS}{account.pk}/", {"name": "New", "lifecycle_stage": "active"}, format="json"
    )
    assert response.status_code == 200, response.content
    account.refresh_from_db()
    assert (account.name, account.lifecycle_stage) == ("New", "active")
    event = AuditEvent.objects.get(action="update", object_id=str(account.pk))
    assert event.changes["name"] == ["Old", "New"]


def test_owner_cannot_be_changed_by_patch(org, client_for):
    account = AccountFactory(owner=org["rep_sh"])
    client = client_for(org["rep_sh"])
    response = client.patch(
        f"{ACCOUNTS}{account.pk}/", {"owner": org["rep_east"].pk}, format="json"
    )
    assert response.status_code == 400
    assert field_codes(response, "owner") == ["unknown_field"]


def test_deactivate_and_reactivate(org, client_for):
    account = AccountFactory(owner=org["rep_east"])
    client = client_for(org["sales_manager"])
    response = client.post(f"{ACCOUNTS}{account.pk}/deactivate/")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert ids(client.get(ACCOUNTS, {"is_active": "false"})) == {account.pk}
    assert client.post(f"{ACCOUNTS}{account.pk}/reactivate/").json()["is_active"] is True
    # A rep has no delete grant: deactivating is refused outright.
    rep = client_for(org["rep_east"])
    assert rep.post(f"{ACCOUNTS}{account.pk}/deactivate/").status_code == 403


def test_manager_assigns_within_department_rep_may_not(org, client_for):
    account = AccountFactory(owner=org["rep_east"])
    manager = client_for(org["sales_manager"])
    response = manager.post(
        f"{ACCOUNTS}{account.pk}/assign/", {"owner": org["rep_sh"].pk}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["owner"]["id"] == org["rep_sh"].pk
    rep = client_for(org["rep_sh"])
    response = rep.post(
        f"{ACCOUNTS}{account.pk}/assign/", {"owner": org["rep_east"].pk}, format="json"
    )
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.owner == org["rep_sh"]


# --- bad input -----------------------------------------------------------------------------


def test_wrong_credit_code_check_digit_names_the_field_and_stores_nothing(org, client_for):
    good = credit_code()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    client = client_for(org["rep_sh"])
    response = client.post(ACCOUNTS, {"name": "Acme", "credit_code": bad}, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["fields"]["credit_code"][0]["code"] == "credit_code_check_digit"
    assert error["fields"]["credit_code"][0]["message"]
    assert not Account.objects.exists()


def test_duplicate_credit_code(org, client_for):
    AccountFactory(owner=org["rep_south"], credit_code=credit_code())
    client = client_for(org["rep_sh"])
    response = client.post(ACCOUNTS, {"name": "Acme", "credit_code": credit_code()}, format="json")
    assert response.status_code == 400
    assert field_codes(response, "credit_code") == ["duplicate"]


def test_bad_phone_and_several_bad_fields_at_once(org, client_for):
    client = client_for(org["rep_sh"])
    response = client.post(
        ACCOUNTS, {"name": "", "phone": "not a phone", "tier": "Z"}, format="json"
    )
    assert response.status_code == 400
    fields = error_of(response)["fields"]
    assert {"name", "phone", "tier"} <= set(fields)
    assert fields["tier"][0]["code"] == "invalid_choice"
    assert not Account.objects.exists()


def test_unknown_field_is_named(org, client_for):
    client = client_for(org["rep_sh"])
    response = client.post(ACCOUNTS, {"name": "Acme", "colour": "red"}, format="json")
    assert response.status_code == 400
    assert field_codes(response, "colour") == ["unknown_field"]
    assert not Account.objects.exists()


def test_wrong_type_is_named(org, client_for):
    client = client_for(org["rep_sh"])
    response = client.post(CONTACTS, {"name": "张三", "phones": "13812345678x"}, format="json")
    assert response.status_code == 400
    assert "phones" in error_of(response)["fields"]


def test_parent_the_user_cannot_see_reads_as_missing(org, client_for):
    hidden = AccountFactory(owner=org["rep_south"])
    client = client_for(org["rep_sh"])
    response = client.post(ACCOUNTS, {"name": "Child", "parent": hidden.pk}, format="json")
    assert response.status_code == 400
    assert field_codes(response, "parent") == ["does_not_exist"]


def test_bad_contact_phone(org, client_for):
    client = client_for(org["rep_sh"])
    response = client.post(
        CONTACTS, {"name": "张三", "phones": ["13812345678", "12"]}, format="json"
    )
    assert response.status_code == 400
    assert "phones" in error_of(response)["fields"]
    assert not Contact.objects.exists()


def test_invalid_filter_value_is_a_400_naming_the_filter(org, client_for):
    client = client_for(org["rep_sh"])
    response = client.get(ACCOUNTS, {"tier": "Z"})
    assert response.status_code == 400
    assert "tier" in error_of(response)["fields"]


# --- list features -------------------------------------------------------------------------


def test_search_filters_and_ordering(org, client_for):
    owner = org["rep_sh"]
    bank = AccountFactory(owner=owner, name="中国银行上海分行", tier="A", short_name="中行")
    AccountFactory(owner=owner, name="华东机械", tier="B", province="江苏省")
    coded = AccountFactory(owner=owner, name="Alpha", credit_code=credit_code())
    client = client_for(owner)
    assert ids(client.get(ACCOUNTS, {"q": "银行"})) == {bank.pk}
    assert ids(client.get(ACCOUNTS, {"q": "中行"})) == {bank.pk}
    assert ids(client.get(ACCOUNTS, {"q": credit_code()[:8]})) == {coded.pk}
    assert ids(client.get(ACCOUNTS, {"tier": "A"})) == {bank.pk}
    assert len(ids(client.get(ACCOUNTS, {"province": "上海市"}))) == 2
    names = [row["name"] for row in client.get(ACCOUNTS, {"ordering": "name"}).json()["results"]]
    assert names == sorted(names)


def test_cursor_pagination_walks_every_row_once(org, client_for):
    created = {AccountFactory(owner=org["rep_sh"]).pk for _ in range(7)}
    client = client_for(org["rep_sh"])
    seen: list[int] = []
    url = ACCOUNTS + "?page_size=3"
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(created)


def test_contact_lists_only_the_accounts_the_user_can_see(org, client_for):
    visible = AccountFactory(owner=org["rep_sh"])
    hidden = AccountFactory(owner=org["rep_south"])
    contact = ContactFactory(owner=org["rep_sh"])
    contact.accounts.set([visible, hidden])
    client = client_for(org["rep_sh"])
    body = client.get(f"{CONTACTS}{contact.pk}/").json()
    assert [account["id"] for account in body["accounts"]] == [visible.pk]


def test_contact_create_links_accounts(org, client_for):
    account = AccountFactory(owner=org["rep_sh"])
    client = client_for(org["rep_sh"])
    response = client.post(
        CONTACTS,
        {
            "name": "李四",
            "phones": ["138 1234 5678"],
            "emails": ["Li.Si@Example.com"],
            "accounts": [account.pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["phones"] == ["+8613812345678"]
    assert body["accounts"] == [{"id": account.pk, "name": account.name}]


# --- field rules and audited reads ---------------------------------------------------------


def test_auditor_sees_phones_and_emails_masked(org, client_for):
    contact = ContactFactory(
        owner=org["rep_sh"], phones=["+8613812345678"], emails=["zhang@example.com"]
    )
    account = AccountFactory(owner=org["rep_sh"], phone="+862112345678")
    auditor = client_for(org["auditor"])
    body = auditor.get(f"{CONTACTS}{contact.pk}/").json()
    assert body["phones"] == ["+86138****5678"]
    assert body["emails"] == ["z***@example.com"]
    listed = auditor.get(CONTACTS).json()["results"][0]
    assert listed["phones"] == ["+86138****5678"]
    assert "****" in auditor.get(f"{ACCOUNTS}{account.pk}/").json()["phone"]
    # The owner sees the real values.
    owner = client_for(org["rep_sh"])
    assert owner.get(f"{CONTACTS}{contact.pk}/").json()["phones"] == ["+8613812345678"]


def test_hidden_field_is_left_out(org, client_for):
    from rapport.identity.services import field_rule_set

    auditor_role = org["auditor"].roles.get()
    field_rule_set(
        actor=org["admin"],
        role=auditor_role,
        object_type="customers.account",
        field="credit_code",
        rule="hidden",
    )
    account = AccountFactory(owner=org["rep_sh"], credit_code=credit_code())
    body = client_for(org["auditor"]).get(f"{ACCOUNTS}{account.pk}/").json()
    assert "credit_code" not in body
    assert body["name"] == account.name


def test_read_only_field_cannot_be_changed(org, client_for):
    account = AccountFactory(owner=org["agent"])
    from rapport.identity.services import grant_set

    grant_set(
        actor=org["admin"],
        role=org["agent"].roles.get(),
        object_type="customers.account",
        action="change",
        scope="own",
    )
    client = client_for(org["agent"])
    response = client.patch(
        f"{ACCOUNTS}{account.pk}/", {"credit_code": credit_code()}, format="json"
    )
    assert response.status_code == 400
    assert field_codes(response, "credit_code") == ["read_only"]


def test_retrieve_writes_a_view_audit_event(org, client_for):
    account = AccountFactory(owner=org["rep_sh"])
    contact = ContactFactory(owner=org["rep_sh"])
    client = client_for(org["rep_sh"])
    assert client.get(f"{ACCOUNTS}{account.pk}/").status_code == 200
    assert client.get(f"{CONTACTS}{contact.pk}/").status_code == 200
    views = AuditEvent.objects.filter(action="view", actor=org["rep_sh"])
    assert set(views.values_list("object_type", "object_id")) == {
        ("customers.account", str(account.pk)),
        ("customers.contact", str(contact.pk)),
    }
    assert views.first().channel == "api"
    # Listing is not a read of details.
    client.get(ACCOUNTS)
    assert views.count() == 2


# --- no N+1 --------------------------------------------------------------------------------


def _list_queries(client, url) -> int:
    client.get(url)  # warm up: the token's first use records last_used_at
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("role", ["rep_sh", "sales_manager", "auditor"])
def test_account_list_queries_do_not_grow_with_rows(org, client_for, role):
    parent = AccountFactory(owner=org["rep_sh"])
    for _ in range(2):
        AccountFactory(owner=org["rep_sh"], parent=parent)
    client = client_for(org[role])
    few = _list_queries(client, ACCOUNTS)
    for _ in range(17):
        AccountFactory(owner=org["rep_sh"], parent=parent)
    assert len(client.get(ACCOUNTS).json()["results"]) == 20
    assert _list_queries(client, ACCOUNTS) == few


@pytest.mark.parametrize("role", ["rep_sh", "auditor"])
def test_contact_list_queries_do_not_grow_with_rows(org, client_for, role):
    accounts = [AccountFactory(owner=org["rep_sh"]) for _ in range(2)]

    def add_contact():
        contact = ContactFactory(owner=org["rep_sh"])
        contact.accounts.set(accounts)

    for _ in range(3):
        add_contact()
    client = client_for(org[role])
    few = _list_queries(client, CONTACTS)
    for _ in range(17):
        add_contact()
    assert len(client.get(CONTACTS).json()["results"]) == 20
    assert _list_queries(client, CONTACTS) == few
