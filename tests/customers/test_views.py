"""Account and contact pages: what each role sees, forms and their errors, history, queries."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.audit.models import AuditEvent
from rapport.customers import services
from rapport.customers.models import Account, Contact
from rapport.customers.validators import USCC_ALPHABET, uscc_check_char
from rapport.identity.models import FieldRule, Role
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db

PHONE = "+8613812345678"
MASKED_PHONE = "+86138****5678"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def login(client, user):
    # force_login: django-axes refuses client.login() (it needs a request to authenticate).
    client.force_login(user)
    return client


def account_rows(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-account="(\d+)"', response.content.decode())]


def contact_rows(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-contact="(\d+)"', response.content.decode())]


def valid_credit_code(first17: str = "91350100M000100Y4") -> str:
    return first17 + uscc_check_char(first17)


def wrong_credit_code(first17: str = "91350100M000100Y4") -> str:
    right = uscc_check_char(first17)
    return first17 + next(char for char in USCC_ALPHABET if char != right)


# --- lists -----------------------------------------------------------------------------------


@pytest.fixture
def owned(org):
    """One account and one contact for each of four owners in different departments."""
    names = ["rep_east", "rep_sh", "rep_south", "cm"]
    accounts = {
        name: AccountFactory(owner=org[name], name=f"{name} 有限公司", phone=PHONE)
        for name in names
    }
    contacts = {name: ContactFactory(owner=org[name], name=f"{name} 联系人") for name in names}
    for name in names:
        contacts[name].accounts.add(accounts[name])
    return accounts, contacts


def test_rep_sees_only_own_accounts(client, org, owned):
    accounts, _contacts = owned
    response = login(client, org["rep_sh"]).get(reverse("customers:account_list"))
    assert response.status_code == 200
    assert account_rows(response) == [accounts["rep_sh"].pk]
    assert "rep_east 有限公司" not in response.content.decode()


def test_manager_sees_department_accounts_and_contacts(client, org, owned):
    accounts, contacts = owned
    login(client, org["sales_manager"])
    response = client.get(reverse("customers:account_list"))
    expected = {accounts[name].pk for name in ("rep_east", "rep_sh", "cm")}
    assert set(account_rows(response)) == expected
    response = client.get(reverse("customers:contact_list"))
    assert set(contact_rows(response)) == {contacts[n].pk for n in ("rep_east", "rep_sh", "cm")}


def test_auditor_sees_masked_phones_everywhere(client, org, owned):
    accounts, contacts = owned
    login(client, org["auditor"])
    pages = [
        reverse("customers:account_list"),
        reverse("customers:contact_list"),
        reverse("customers:account_detail", args=[accounts["rep_sh"].pk]),
        reverse("customers:contact_detail", args=[contacts["rep_sh"].pk]),
    ]
    for url in pages:
        body = client.get(url).content.decode()
        assert MASKED_PHONE in body, url
        assert PHONE not in body, url


def test_rep_sees_full_phone(client, org, owned):
    login(client, org["rep_sh"])
    assert PHONE in client.get(reverse("customers:contact_list")).content.decode()


def test_hidden_field_is_not_a_column(client, org, owned):
    role = Role.objects.get(code="sales_rep")
    FieldRule.objects.create(
        role=role, object_type="customers.account", field="phone", rule="hidden"
    )
    login(client, org["rep_sh"])
    body = client.get(reverse("customers:account_list")).content.decode()
    assert 'data-field="phone"' not in body
    assert PHONE not in body


def test_lists_stack_on_phones(client, org, owned):
    login(client, org["admin"])
    for name in ("customers:account_list", "customers:contact_list"):
        body = client.get(reverse(name)).content.decode()
        assert "table-responsive-stack" in body
        cells = re.findall(r"<td[^>]*>", body.split("<tbody>")[1])
        assert cells and all("data-label=" in cell for cell in cells)


def test_account_filters(client, org):
    user = org["sales_manager"]
    match = AccountFactory(owner=user, name="远望数据科技", tier="A", industry="technology")
    AccountFactory(owner=user, name="远望物流", tier="B", industry="logistics")
    AccountFactory(owner=org["rep_east"], name="东方银行", tier="A", province="江苏省")
    inactive = AccountFactory(owner=user, name="远望旧公司", tier="A", is_active=False)
    login(client, user)
    url = reverse("customers:account_list")

    assert set(account_rows(client.get(url, {"q": "远望"}))) == {
        match.pk,
        Account.objects.get(name="远望物流").pk,
    }
    assert account_rows(client.get(url, {"q": "远望", "tier": "A"})) == [match.pk]
    assert account_rows(client.get(url, {"industry": "technology"})) == [match.pk]
    assert account_rows(client.get(url, {"province": "江苏省"})) == [
        Account.objects.get(name="东方银行").pk
    ]
    assert Account.objects.get(name="东方银行").pk not in account_rows(
        client.get(url, {"owner": "me"})
    )
    assert account_rows(client.get(url, {"status": "inactive"})) == [inactive.pk]
    assert inactive.pk not in account_rows(client.get(url))
    # an invalid filter value is ignored, not an error
    assert client.get(url, {"tier": "Z", "sort": "bogus"}).status_code == 200


def test_credit_code_search(client, org):
    code = valid_credit_code()
    account = AccountFactory(owner=org["rep_sh"], credit_code=code)
    login(client, org["rep_sh"])
    response = client.get(reverse("customers:account_list"), {"q": code[:10].lower()})
    assert account_rows(response) == [account.pk]


def test_account_sorting(client, org):
    user = org["rep_sh"]
    b = AccountFactory(owner=user, name="B 公司")
    a = AccountFactory(owner=user, name="A 公司")
    c = AccountFactory(owner=user, name="C 公司")
    services.account_update(actor=user, account=b, short_name="changed last")
    login(client, user)
    url = reverse("customers:account_list")
    assert account_rows(client.get(url, {"sort": "name"})) == [a.pk, b.pk, c.pk]
    assert account_rows(client.get(url, {"sort": "-name"})) == [c.pk, b.pk, a.pk]
    assert account_rows(client.get(url, {"sort": "-created"})) == [c.pk, a.pk, b.pk]
    assert account_rows(client.get(url, {"sort": "-updated"}))[0] == b.pk


def test_contact_filters_and_search(client, org):
    user = org["rep_sh"]
    account = AccountFactory(owner=user)
    wang = ContactFactory(owner=user, name="王小明", phones=["+8613900001111"])
    wang.accounts.add(account)
    ContactFactory(owner=user, name="李雷")
    login(client, user)
    url = reverse("customers:contact_list")
    assert contact_rows(client.get(url, {"q": "小明"})) == [wang.pk]
    assert contact_rows(client.get(url, {"q": "13900001111"})) == [wang.pk]
    assert contact_rows(client.get(url, {"account": account.pk})) == [wang.pk]


@pytest.mark.parametrize("sort", ["name", "-updated"])
def test_pager_next_link_shows_the_rest(client, org, sort):
    user = org["rep_sh"]
    created = {AccountFactory(owner=user, name=f"公司{n:03d}").pk for n in range(57)}
    login(client, user)
    first = client.get(reverse("customers:account_list"), {"sort": sort})
    page1 = account_rows(first)
    assert len(page1) == 50
    match = re.search(r'href="([^"]+)" rel="next"', first.content.decode())
    assert match, "no next link"
    second = client.get(reverse("customers:account_list") + match.group(1).replace("&amp;", "&"))
    page2 = account_rows(second)
    assert len(page2) == 7
    assert set(page1) | set(page2) == created
    assert 'rel="next"' not in second.content.decode()
    assert 'rel="prev"' in second.content.decode()


def test_list_needs_view_grant(client, org):
    nobody = org["rep_sh"]
    nobody.roles.clear()
    login(client, nobody)
    assert client.get(reverse("customers:account_list")).status_code == 403


# --- details ---------------------------------------------------------------------------------


def test_detail_writes_a_view_event(client, org, owned):
    accounts, contacts = owned
    login(client, org["rep_sh"])
    for record, name in ((accounts["rep_sh"], "account"), (contacts["rep_sh"], "contact")):
        response = client.get(reverse(f"customers:{name}_detail", args=[record.pk]))
        assert response.status_code == 200
        events = AuditEvent.objects.filter(
            actor=org["rep_sh"],
            action="view",
            object_type=f"customers.{name}",
            object_id=str(record.pk),
        )
        assert events.count() == 1


def test_detail_of_invisible_record_is_404(client, org, owned):
    accounts, contacts = owned
    login(client, org["rep_south"])
    assert (
        client.get(reverse("customers:account_detail", args=[accounts["rep_sh"].pk])).status_code
        == 404
    )
    assert (
        client.get(reverse("customers:contact_detail", args=[contacts["rep_sh"].pk])).status_code
        == 404
    )
    assert client.get(reverse("customers:account_detail", args=[999999])).status_code == 404
    assert not AuditEvent.objects.filter(actor=org["rep_south"], action="view").exists()


def test_account_detail_shows_parent_subsidiaries_contacts_and_owner(client, org):
    user = org["rep_sh"]
    parent = AccountFactory(owner=user, name="集团总公司")
    account = AccountFactory(owner=user, name="上海分公司", parent=parent)
    AccountFactory(owner=user, name="浦东子公司", parent=account)
    AccountFactory(owner=org["rep_south"], name="别人的子公司", parent=account)
    mine = ContactFactory(owner=user, name="看得见的人")
    theirs = ContactFactory(owner=org["rep_south"], name="看不见的人")
    mine.accounts.add(account)
    theirs.accounts.add(account)
    login(client, user)
    body = client.get(reverse("customers:account_detail", args=[account.pk])).content.decode()
    assert "集团总公司" in body
    assert "浦东子公司" in body
    assert "别人的子公司" not in body
    assert "看得见的人" in body
    assert "看不见的人" not in body
    assert str(user) in body


def test_buttons_follow_permissions(client, org, owned):
    accounts, _contacts = owned
    url = reverse("customers:account_detail", args=[accounts["rep_sh"].pk])
    body = login(client, org["auditor"]).get(url).content.decode()
    assert 'data-testid="edit"' not in body
    assert 'data-testid="deactivate"' not in body
    client.logout()
    body = login(client, org["rep_sh"]).get(url).content.decode()
    assert 'data-testid="edit"' in body
    assert 'data-testid="deactivate"' not in body  # reps have no delete grant
    client.logout()
    body = login(client, org["sales_manager"]).get(url).content.decode()
    assert 'data-testid="edit"' in body
    assert 'data-testid="deactivate"' in body


# --- create and edit -------------------------------------------------------------------------


def test_create_account(client, org):
    user = org["rep_sh"]
    login(client, user)
    response = client.post(
        reverse("customers:account_create"),
        {
            "name": "  远望数据科技有限公司 ",
            "credit_code": valid_credit_code().lower(),
            "tier": "B",
            "lifecycle_stage": "prospect",
            "phone": "021-6888 1234",
            "website": "example.com",
        },
    )
    account = Account.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:account_detail", args=[account.pk])
    assert account.name == "远望数据科技有限公司"
    assert account.credit_code == valid_credit_code()
    assert account.phone == "+862168881234"
    assert account.owner == user
    assert AuditEvent.objects.filter(action="create", object_id=str(account.pk)).exists()


def test_wrong_credit_code_check_digit_shows_field_error_and_stores_nothing(client, org):
    login(client, org["rep_sh"])
    response = client.post(
        reverse("customers:account_create"),
        {
            "name": "远望数据",
            "credit_code": wrong_credit_code(),
            "tier": "C",
            "lifecycle_stage": "prospect",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    errors = re.findall(r'data-field-error="(\w+)">([^<]+)<', body)
    assert [field for field, _message in errors] == ["credit_code"]
    assert "check digit" in errors[0][1]
    assert 'value="远望数据"' in body  # what the user typed is kept
    assert Account.objects.count() == 0
    assert not AuditEvent.objects.filter(action="create").exists()


def test_required_name(client, org):
    login(client, org["rep_sh"])
    body = client.post(
        reverse("customers:account_create"),
        {"name": "", "tier": "C", "lifecycle_stage": "prospect"},
    ).content.decode()
    assert 'data-field-error="name"' in body
    assert Account.objects.count() == 0


def test_field_errors_in_chinese(client, org):
    user = org["rep_sh"]
    user.language = "zh-hans"
    user.save(update_fields=["language"])
    login(client, user)
    response = client.post(
        reverse("customers:account_create"),
        {"name": "远望", "credit_code": "123", "tier": "C", "lifecycle_stage": "prospect"},
    )
    assert 'data-field-error="credit_code"' in response.content.decode()
    assert Account.objects.count() == 0


def test_bad_phone_names_the_phone_and_stores_nothing(client, org):
    login(client, org["rep_sh"])
    response = client.post(
        reverse("customers:contact_create"),
        {"name": "王小明", "phones": "13812345678\n12345", "emails": "wang@example.com"},
    )
    assert response.status_code == 200
    errors = re.findall(r'data-field-error="(\w+)">([^<]+)<', response.content.decode())
    assert [field for field, _message in errors] == ["phones"]
    assert "12345" in errors[0][1]
    assert Contact.objects.count() == 0


def test_create_contact_with_phones_emails_and_account(client, org):
    user = org["rep_sh"]
    account = AccountFactory(owner=user)
    login(client, user)
    url = reverse("customers:contact_create") + f"?account={account.pk}"
    assert f'value="{account.pk}"' in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "name": "王小明",
            "title": "采购经理",
            "phones": "138 1234 5678\n021-68881234",
            "emails": "Wang@Example.COM",
            "accounts": [str(account.pk)],
        },
    )
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert contact.phones == ["+8613812345678", "+862168881234"]
    assert contact.emails == ["Wang@example.com"]
    assert list(contact.accounts.all()) == [account]


def test_contact_link_to_invisible_account_is_refused(client, org):
    hidden = AccountFactory(owner=org["rep_south"])
    login(client, org["rep_sh"])
    response = client.post(
        reverse("customers:contact_create"), {"name": "王小明", "add_account": str(hidden.pk)}
    )
    assert 'data-field-error="add_account"' in response.content.decode()
    assert Contact.objects.count() == 0


def test_owner_select_only_with_assign_grant(client, org):
    login(client, org["rep_sh"])
    assert 'name="owner"' not in client.get(reverse("customers:account_create")).content.decode()
    client.logout()
    login(client, org["sales_manager"])
    body = client.get(reverse("customers:account_create")).content.decode()
    assert 'name="owner"' in body
    response = client.post(
        reverse("customers:account_create"),
        {
            "name": "给下属的客户",
            "tier": "C",
            "lifecycle_stage": "prospect",
            "owner": org["rep_sh"].pk,
        },
    )
    assert response.status_code == 302
    assert Account.objects.get().owner == org["rep_sh"]


def test_create_needs_add_grant(client, org):
    login(client, org["auditor"])
    assert client.get(reverse("customers:account_create")).status_code == 403
    assert (
        client.post(
            reverse("customers:account_create"),
            {"name": "x", "tier": "C", "lifecycle_stage": "prospect"},
        ).status_code
        == 403
    )
    assert Account.objects.count() == 0


def test_edit_changes_appear_in_history(client, org):
    user = org["rep_sh"]
    account = services.account_create(actor=user, name="旧名字有限公司", tier="C")
    login(client, user)
    edit_url = reverse("customers:account_edit", args=[account.pk])
    form = client.get(edit_url).content.decode()
    assert 'value="旧名字有限公司"' in form
    response = client.post(
        edit_url,
        {"name": "新名字有限公司", "tier": "A", "lifecycle_stage": "prospect"},
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.tier) == ("新名字有限公司", "A")

    history = client.get(reverse("customers:account_history", args=[account.pk]))
    body = history.content.decode()
    update_row = body.split('data-action="update"')[1].split("</tr>")[0]
    assert "旧名字有限公司" in update_row
    assert "新名字有限公司" in update_row
    assert "A — strategic" in update_row and "C — standard" in update_row
    assert str(user) in update_row
    assert 'data-action="create"' in body
    # newest first, and reads are not part of the history
    assert body.index('data-action="update"') < body.index('data-action="create"')
    assert 'data-action="view"' not in body


def test_unchanged_edit_writes_nothing(client, org):
    user = org["rep_sh"]
    parent = services.account_create(actor=user, name="母公司")
    account = services.account_create(actor=user, name="子公司", phone="13812345678", parent=parent)
    login(client, user)
    form_page = client.get(reverse("customers:account_edit", args=[account.pk])).content.decode()
    assert f"{parent.pk} · 母公司" in form_page
    response = client.post(
        reverse("customers:account_edit", args=[account.pk]),
        {
            "name": "子公司",
            "tier": "C",
            "lifecycle_stage": "prospect",
            "phone": "+8613812345678",
            "parent": f"{parent.pk} · 母公司",
        },
    )
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action="update", object_id=str(account.pk)).exists()


def test_edit_parent_by_number_and_cycle_error(client, org):
    user = org["rep_sh"]
    top = services.account_create(actor=user, name="顶层")
    child = services.account_create(actor=user, name="下层", parent=top)
    login(client, user)
    response = client.post(
        reverse("customers:account_edit", args=[top.pk]),
        {"name": "顶层", "tier": "C", "lifecycle_stage": "prospect", "parent": str(child.pk)},
    )
    assert 'data-field-error="parent"' in response.content.decode()
    top.refresh_from_db()
    assert top.parent_id is None


def test_read_only_field_is_disabled_and_kept(client, org):
    user = org["rep_sh"]
    role = Role.objects.get(code="sales_rep")
    FieldRule.objects.create(
        role=role, object_type="customers.account", field="phone", rule="readonly"
    )
    account = AccountFactory(owner=user, name="只读电话", phone=PHONE)
    login(client, user)
    form = client.get(reverse("customers:account_edit", args=[account.pk])).content.decode()
    assert re.search(r'<input[^>]*name="phone"[^>]*disabled', form)
    response = client.post(
        reverse("customers:account_edit", args=[account.pk]),
        {"name": "只读电话", "tier": "C", "lifecycle_stage": "prospect", "phone": "13900000000"},
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.phone == PHONE


def test_edit_needs_change_permission(client, org, owned):
    accounts, contacts = owned
    login(client, org["auditor"])  # sees everything, may change nothing
    assert (
        client.get(reverse("customers:account_edit", args=[accounts["rep_sh"].pk])).status_code
        == 403
    )
    client.logout()
    login(client, org["rep_south"])  # cannot even see it
    assert (
        client.get(reverse("customers:contact_edit", args=[contacts["rep_sh"].pk])).status_code
        == 404
    )


def test_contact_edit_history_masks_phones_for_auditor(client, org):
    user = org["rep_sh"]
    contact = services.contact_create(actor=user, name="王小明", phones=["13812345678"])
    login(client, user)
    response = client.post(
        reverse("customers:contact_edit", args=[contact.pk]),
        {"name": "王小明", "phones": "13987654321", "emails": ""},
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.phones == ["+8613987654321"]
    client.logout()
    login(client, org["auditor"])
    body = client.get(reverse("customers:contact_history", args=[contact.pk])).content.decode()
    assert "+86139****4321" in body
    assert "+8613987654321" not in body
    assert "+8613812345678" not in body


def test_contact_edit_keeps_account_links(client, org):
    user = org["rep_sh"]
    mine = AccountFactory(owner=user, name="我的客户")
    contact = services.contact_create(actor=user, name="王小明", accounts=[mine])
    login(client, user)
    response = client.post(
        reverse("customers:contact_edit", args=[contact.pk]),
        {"name": "王大明", "phones": "+8613812345678", "emails": "", "accounts": [mine.pk]},
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.name == "王大明"
    assert list(contact.accounts.all()) == [mine]


# --- deactivate ------------------------------------------------------------------------------


def test_deactivate_and_reactivate(client, org, owned):
    accounts, contacts = owned
    account = accounts["rep_sh"]
    login(client, org["sales_manager"])
    response = client.post(reverse("customers:account_deactivate", args=[account.pk]))
    assert response.status_code == 302
    account.refresh_from_db()
    assert not account.is_active
    body = client.get(reverse("customers:account_detail", args=[account.pk])).content.decode()
    assert 'data-testid="inactive-badge"' in body
    assert 'data-testid="reactivate"' in body
    assert account.pk not in account_rows(client.get(reverse("customers:account_list")))

    client.post(reverse("customers:account_reactivate", args=[account.pk]))
    account.refresh_from_db()
    assert account.is_active

    contact = contacts["rep_sh"]
    client.post(reverse("customers:contact_deactivate", args=[contact.pk]))
    contact.refresh_from_db()
    assert not contact.is_active
    history = client.get(reverse("customers:account_history", args=[account.pk]))
    assert 'data-action="deactivate"' in history.content.decode()


def test_deactivate_needs_permission_and_post(client, org, owned):
    accounts, _contacts = owned
    account = accounts["rep_sh"]
    login(client, org["rep_sh"])  # may change, may not delete
    url = reverse("customers:account_deactivate", args=[account.pk])
    assert client.post(url).status_code == 403
    assert client.get(url).status_code == 405
    client.logout()
    login(client, org["rep_south"])
    assert client.post(url).status_code == 404
    account.refresh_from_db()
    assert account.is_active


# --- lookup ----------------------------------------------------------------------------------


def test_account_lookup_offers_visible_accounts_only(client, org):
    mine = AccountFactory(owner=org["rep_sh"], name="远望数据")
    AccountFactory(owner=org["rep_south"], name="远望物流")
    login(client, org["rep_sh"])
    body = client.get(reverse("customers:account_lookup"), {"parent": "远望"}).content.decode()
    assert f"{mine.pk} · 远望数据" in body
    assert "远望物流" not in body


# --- queries ---------------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def _grow(make, count):
    for _ in range(count):
        make()


@pytest.mark.parametrize("role", ["sales_manager", "auditor", "cm"])
def test_account_list_queries_do_not_grow(client, org, django_assert_num_queries, role):
    owner = org["rep_sh"]
    parent = AccountFactory(owner=owner)

    def make():
        AccountFactory(owner=owner, parent=parent, industry="finance")

    _grow(make, 5)
    login(client, org[role])
    url = reverse("customers:account_list")
    client.get(url)
    expected = _queries(client, url)
    _grow(make, 25)
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert len(account_rows(response)) == 31


@pytest.mark.parametrize("role", ["sales_manager", "auditor", "cm"])
def test_contact_list_queries_do_not_grow(client, org, django_assert_num_queries, role):
    owner = org["rep_sh"]
    accounts = [AccountFactory(owner=owner) for _ in range(3)]

    def make():
        contact = ContactFactory(owner=owner)
        contact.accounts.set(accounts)

    _grow(make, 5)
    login(client, org[role])
    url = reverse("customers:contact_list")
    client.get(url)
    expected = _queries(client, url)
    _grow(make, 25)
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert len(contact_rows(response)) == 30


def test_account_detail_queries_do_not_grow(client, org, django_assert_num_queries):
    owner = org["rep_sh"]
    account = AccountFactory(owner=owner, parent=AccountFactory(owner=owner))

    def make():
        AccountFactory(owner=owner, parent=account)
        ContactFactory(owner=owner).accounts.add(account)

    _grow(make, 5)
    login(client, org["sales_manager"])
    url = reverse("customers:account_detail", args=[account.pk])
    client.get(url)
    expected = _queries(client, url)
    _grow(make, 25)
    with django_assert_num_queries(expected):
        client.get(url)


def test_contact_detail_queries_do_not_grow(client, org, django_assert_num_queries):
    owner = org["rep_sh"]
    contact = ContactFactory(owner=owner)

    def make():
        contact.accounts.add(AccountFactory(owner=owner))

    _grow(make, 5)
    login(client, org["sales_manager"])
    url = reverse("customers:contact_detail", args=[contact.pk])
    client.get(url)
    expected = _queries(client, url)
    _grow(make, 25)
    with django_assert_num_queries(expected):
        client.get(url)


def test_history_queries_do_not_grow(client, org, django_assert_num_queries):
    user = org["rep_sh"]
    parent = services.account_create(actor=user, name="母公司")
    account = services.account_create(actor=user, name="客户", parent=parent)
    counter = iter(range(1000))

    def make():
        services.account_update(actor=user, account=account, short_name=f"简称{next(counter)}")

    _grow(make, 5)
    login(client, org["sales_manager"])
    url = reverse("customers:account_history", args=[account.pk])
    client.get(url)
    expected = _queries(client, url)
    _grow(make, 25)
    with django_assert_num_queries(expected):
        client.get(url)


# --- language --------------------------------------------------------------------------------


def test_pages_render_in_chinese_from_cookie_and_accept_language(client, org, settings):
    user = org["rep_sh"]
    type(user).objects.filter(pk=user.pk).update(language="")  # no saved preference
    login(client, user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    body = client.get(reverse("customers:account_list")).content.decode()
    assert '<html lang="zh-hans">' in body
    del client.cookies[settings.LANGUAGE_COOKIE_NAME]
    response = client.get(reverse("customers:contact_list"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert '<html lang="zh-hans">' in response.content.decode()
    response = client.get(reverse("customers:contact_list"), HTTP_ACCEPT_LANGUAGE="en-US,en")
    assert '<html lang="en">' in response.content.decode()


def test_contact_history_names_linked_accounts(client, org):
    user = org["rep_sh"]
    mine = AccountFactory(owner=user, name="看得见的客户")
    theirs = AccountFactory(owner=org["rep_south"], name="看不见的客户")
    contact = services.contact_create(actor=org["admin"], owner=user, name="王小明")
    services.contact_update(actor=org["admin"], contact=contact, accounts=[mine, theirs])
    login(client, user)
    body = client.get(reverse("customers:contact_history", args=[contact.pk])).content.decode()
    change = body.split('data-change="accounts"')[1].split("</div>")[0]
    assert "看得见的客户" in change
    assert "看不见的客户" not in change
    assert "an account you cannot see" in change


def test_manager_hands_an_account_to_another_rep_from_the_edit_form(client, org):
    account = services.account_create(actor=org["rep_sh"], name="要移交的客户")
    login(client, org["sales_manager"])
    url = reverse("customers:account_edit", args=[account.pk])
    assert 'name="owner"' in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "name": "要移交的客户",
            "tier": "C",
            "lifecycle_stage": "prospect",
            "owner": org["rep_east"].pk,
        },
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.owner == org["rep_east"]
    history = client.get(reverse("customers:account_history", args=[account.pk])).content
    assert 'data-action="assign"' in history.decode()
    client.logout()
    login(client, org["rep_sh"])  # the former owner no longer sees it
    assert client.get(reverse("customers:account_edit", args=[account.pk])).status_code == 404
