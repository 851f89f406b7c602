"""Grant conditions on the role page: shown in the matrix, edited through one audited write."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from rapport.audit.models import AuditEvent
from rapport.customers.models import Account
from rapport.identity import policy, services
from rapport.identity.models import Grant, Role
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

ACCOUNT_VIEW = "customers.account:view"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def finance() -> Role:
    return Role.objects.get(code="finance")


@pytest.fixture
def accounts(org) -> dict[str, Account]:
    return {
        "guangdong": AccountFactory(province="广东省", city="深圳市", tier="A"),
        "shanghai": AccountFactory(province="上海市", city="上海市", tier="B"),
        "beijing": AccountFactory(province="北京市", city="北京市", tier="A"),
    }


def account_view_grant(role: Role) -> Grant:
    return Grant.objects.get(role=role, object_type="customers.account", action="view")


def page_of(role: Role) -> str:
    return reverse("identity:role_detail", args=[role.pk])


def visible_to(user) -> set[str]:
    policy.forget(user)
    return set(Account.objects.restrict(user, "view").values_list("province", flat=True))


def test_page_shows_a_grants_conditions(org, finance):
    services.grant_set(
        actor=org["admin"],
        role=finance,
        object_type="customers.account",
        action="view",
        scope="all",
        conditions={"province": ["广东省", "上海市"], "tier": ["A"]},
    )
    content = client_for(org["admin"]).get(page_of(finance)).content.decode()
    assert 'data-testid="grant-condition" data-field="province"' in content
    assert "Province: 广东省, 上海市" in content
    assert "Tier: A — strategic" in content  # a choice shows its label
    assert 'data-testid="save-conditions"' in content


def test_posting_a_condition_narrows_what_the_role_sees(org, finance, accounts):
    assert visible_to(org["finance"]) == {"广东省", "上海市", "北京市"}
    response = client_for(org["admin"]).post(
        page_of(finance),
        {
            "section": "conditions",
            "grant": ACCOUNT_VIEW,
            "field": "province",
            "values": "广东省、上海市\n",
        },
    )
    assert response.status_code == 302
    grant = account_view_grant(finance)
    assert grant.scope == "all"
    assert grant.conditions == {"province": ["广东省", "上海市"]}
    assert visible_to(org["finance"]) == {"广东省", "上海市"}

    event = AuditEvent.objects.filter(action="permission.grant").latest("seq")
    assert event.changes == {
        "customers.account.view": [["all", {}], ["all", {"province": ["广东省", "上海市"]}]]
    }


def test_conditions_on_two_fields_combine_and_blank_removes_one(org, finance, accounts):
    admin = client_for(org["admin"])
    admin.post(
        page_of(finance),
        {"section": "conditions", "grant": ACCOUNT_VIEW, "field": "province", "values": "广东省"},
    )
    # A label works as well as the stored value.
    admin.post(
        page_of(finance),
        {
            "section": "conditions",
            "grant": ACCOUNT_VIEW,
            "field": "tier",
            "values": "A — strategic",
        },
    )
    assert account_view_grant(finance).conditions == {"province": ["广东省"], "tier": ["A"]}
    assert visible_to(org["finance"]) == {"广东省"}

    admin.post(
        page_of(finance),
        {"section": "conditions", "grant": ACCOUNT_VIEW, "field": "province", "values": " "},
    )
    assert account_view_grant(finance).conditions == {"tier": ["A"]}
    assert visible_to(org["finance"]) == {"广东省", "北京市"}


@pytest.mark.parametrize(
    ("posted", "error_field"),
    [
        ({"field": "name", "values": "华为"}, "field"),  # not a condition field
        ({"field": "tier", "values": "A, Z"}, "values"),  # not a tier
        ({"field": "industry", "values": "space travel"}, "values"),
        ({"field": "province", "values": "广东省", "grant": "customers.account:delete"}, "grant"),
    ],
)
def test_bad_condition_is_shown_beside_its_field_and_nothing_is_stored(
    org, finance, accounts, posted, error_field
):
    events_before = AuditEvent.objects.filter(action="permission.grant").count()
    response = client_for(org["admin"]).post(
        page_of(finance), {"section": "conditions", "grant": ACCOUNT_VIEW, **posted}
    )
    assert response.status_code == 400
    assert f'data-field-error="{error_field}"' in response.content.decode()
    assert account_view_grant(finance).conditions == {}
    assert AuditEvent.objects.filter(action="permission.grant").count() == events_before
    assert visible_to(org["finance"]) == {"广东省", "上海市", "北京市"}


def test_bad_value_error_names_the_allowed_choices(org, finance):
    response = client_for(org["admin"]).post(
        page_of(finance),
        {"section": "conditions", "grant": ACCOUNT_VIEW, "field": "tier", "values": "Z"},
    )
    assert "tier cannot be “Z”; choose from: A, B, C." in response.content.decode()


def test_service_refuses_values_outside_the_field_choices(org, finance):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        services.grant_set(
            actor=org["admin"],
            role=finance,
            object_type="customers.account",
            action="view",
            scope="all",
            conditions={"lifecycle_stage": ["active", "asleep"]},
        )
    assert error.value.error_dict["conditions"][0].code == "invalid_value"
    with pytest.raises(ValidationError):
        services.grant_set(
            actor=org["admin"],
            role=finance,
            object_type="customers.account",
            action="view",
            scope="all",
            conditions={"province": []},  # would match nothing
        )
    assert account_view_grant(finance).conditions == {}


def test_auditor_sees_conditions_but_no_form(org, finance):
    services.grant_set(
        actor=org["admin"],
        role=finance,
        object_type="customers.account",
        action="view",
        scope="all",
        conditions={"province": ["广东省"]},
    )
    auditor = client_for(org["auditor"])
    content = auditor.get(page_of(finance)).content.decode()
    assert "Province: 广东省" in content
    assert 'data-testid="condition-list"' in content
    assert 'name="values"' not in content
    assert 'data-testid="save-conditions"' not in content
    response = auditor.post(
        page_of(finance),
        {"section": "conditions", "grant": ACCOUNT_VIEW, "field": "province", "values": "上海市"},
    )
    assert response.status_code == 403
    assert account_view_grant(finance).conditions == {"province": ["广东省"]}


def test_saving_the_matrix_keeps_conditions(org, finance):
    admin = client_for(org["admin"])
    admin.post(
        page_of(finance),
        {"section": "conditions", "grant": ACCOUNT_VIEW, "field": "province", "values": "广东省"},
    )
    admin.post(
        page_of(finance),
        {"section": "matrix", "grant:customers.account:view": "department"},
    )
    grant = account_view_grant(finance)
    assert (grant.scope, grant.conditions) == ("department", {"province": ["广东省"]})
