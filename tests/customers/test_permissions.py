"""The permission matrix on accounts and contacts: built-in role × action × scope."""

from __future__ import annotations

import pytest

from rapport.customers import services
from rapport.customers.models import Account, Contact
from rapport.identity import policy
from rapport.identity.models import RecordShare
from rapport.identity.services import record_share
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db

OWNERS = ["rep_east", "rep_sh", "rep_south", "cm"]


@pytest.fixture
def records(org):
    accounts = {name: AccountFactory(owner=org[name], name=f"{name} Ltd") for name in OWNERS}
    contacts = {name: ContactFactory(owner=org[name], name=f"{name} person") for name in OWNERS}
    return accounts, contacts


# role -> action -> which owners' records the role may act on
EXPECTED = {
    "admin": dict.fromkeys(("view", "change", "delete", "export", "assign"), OWNERS),
    "auditor": {"view": OWNERS, "change": [], "delete": [], "export": [], "assign": []},
    # department scope: East and its Shanghai office, not South
    "sales_manager": {
        a: ["rep_east", "rep_sh", "cm"] for a in ("view", "change", "delete", "export", "assign")
    },
    "rep_sh": {"view": ["rep_sh"], "change": ["rep_sh"], "delete": [], "export": [], "assign": []},
    "rep_south": {
        "view": ["rep_south"],
        "change": ["rep_south"],
        "delete": [],
        "export": [],
        "assign": [],
    },
    # team scope: cm leads a team whose member is rep_sh
    "cm": {
        "view": ["rep_sh", "cm"],
        "change": ["rep_sh", "cm"],
        "delete": [],
        "export": ["rep_sh", "cm"],
        "assign": ["rep_sh", "cm"],
    },
    "agent": {"view": OWNERS, "change": [], "delete": [], "export": [], "assign": []},
    "marketer": {"view": OWNERS, "change": [], "delete": [], "export": OWNERS, "assign": []},
    "finance": {"view": OWNERS, "change": [], "delete": [], "export": OWNERS, "assign": []},
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
@pytest.mark.parametrize("action", ["view", "change", "delete", "export", "assign"])
def test_account_matrix(org, records, role, action):
    accounts, _ = records
    user = org[role]
    visible = set(Account.objects.restrict(user, action).values_list("pk", flat=True))
    expected = {accounts[name].pk for name in EXPECTED[role][action]}
    assert visible == expected
    for name, account in accounts.items():
        assert policy.can(user, action, account) == (name in EXPECTED[role][action])


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_contact_view_matrix(org, records, role):
    _, contacts = records
    visible = set(Contact.objects.restrict(org[role], "view").values_list("pk", flat=True))
    assert visible == {contacts[name].pk for name in EXPECTED[role]["view"]}


def test_agent_can_edit_own_contacts_only(org, records):
    _, contacts = records
    assert not policy.can(org["agent"], "change", contacts["rep_sh"])
    mine = services.contact_create(actor=org["agent"], name="王小明", phones=["13912345678"])
    assert policy.can(org["agent"], "change", mine)


def test_share_opens_one_record(org, records):
    accounts, _ = records
    south = accounts["rep_south"]
    assert not policy.can(org["rep_sh"], "view", south)
    record_share(
        actor=org["rep_south"], record=south, user=org["rep_sh"], level=RecordShare.Level.VIEW
    )
    assert policy.can(org["rep_sh"], "view", south)
    assert not policy.can(org["rep_sh"], "change", south)
    assert list(Account.objects.restrict(org["rep_sh"], "view").order_by("pk")) == sorted(
        [accounts["rep_sh"], south], key=lambda a: a.pk
    )


def test_conditions_narrow_a_grant(org, records):
    from rapport.identity.models import Grant

    accounts, _ = records
    accounts["rep_south"].province = "广东省"
    accounts["rep_south"].save()
    grant = Grant.objects.get(role__code="finance", object_type="customers.account", action="view")
    grant.conditions = {"province": ["广东省"]}
    grant.save()
    visible = list(Account.objects.restrict(org["finance"], "view"))
    assert visible == [accounts["rep_south"]]


def test_deactivated_user_sees_nothing(org, records):
    user = org["sales_manager"]
    user.is_active = False
    assert not Account.objects.restrict(user, "view").exists()


def test_field_rules_mask_for_auditor(org, records):
    _, contacts = records
    values = {"name": "x", "phones": ["+8613812345678"], "emails": ["li.lei@example.com"]}
    shown = policy.apply_field_rules(org["auditor"], "customers.contact", values)
    assert shown["phones"] == ["+86138****5678"]
    assert shown["emails"] == ["l***@example.com"]
    assert policy.apply_field_rules(org["admin"], "customers.contact", values) == values
