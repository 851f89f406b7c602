"""`rapport role grant … --where FIELD=V1,V2` and conditions in `rapport role show`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from rapport.audit.models import AuditEvent
from rapport.customers.models import Account
from rapport.identity import policy
from rapport.identity.models import Grant
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def finance_view() -> Grant:
    return Grant.objects.get(role__code="finance", object_type="customers.account", action="view")


def test_where_narrows_a_grant_and_show_prints_it(org):
    AccountFactory(province="广东省", tier="A")
    AccountFactory(province="广东省", tier="C")
    AccountFactory(province="北京市", tier="A")
    output = run(
        "role", "grant", "finance", "customers.account", "view", "all",
        "--where", "province=广东省,上海市", "--where", "tier=A,B",
    )  # fmt: skip
    assert "province=广东省,上海市  tier=A,B" in output
    assert finance_view().conditions == {"province": ["广东省", "上海市"], "tier": ["A", "B"]}
    event = AuditEvent.objects.filter(action="permission.grant").latest("seq")
    assert event.changes["customers.account.view"][1] == ["all", finance_view().conditions]
    policy.forget(org["finance"])
    visible = Account.objects.restrict(org["finance"], "view").values_list("province", "tier")
    assert list(visible) == [("广东省", "A")]

    shown = run("role", "show", "finance")
    account_row = next(line for line in shown.splitlines() if line.startswith("customers.account"))
    assert account_row.split()[1] == "all*"
    condition_row = next(
        line for line in shown.splitlines() if "province=" in line and "customers.account" in line
    )
    assert condition_row.split() == [
        "customers.account", "view", "all", "province=广东省,上海市", "tier=A,B",
    ]  # fmt: skip


def test_without_where_conditions_are_kept_and_field_equals_removes(org):
    run("role", "grant", "finance", "customers.account", "view", "all",
        "--where", "province=广东省", "--where", "tier=A")  # fmt: skip
    run("role", "grant", "finance", "customers.account", "view", "department")
    assert finance_view().scope == "department"
    assert finance_view().conditions == {"province": ["广东省"], "tier": ["A"]}
    run("role", "grant", "finance", "customers.account", "view", "department", "--where", "tier=")
    assert finance_view().conditions == {"province": ["广东省"]}


@pytest.mark.parametrize(
    "where",
    [
        "name=华为",  # not a condition field
        "tier=A,Z",  # not a tier
        "lifecycle_stage=asleep",
        "province",  # no "="
        "=广东省",
    ],
)
def test_bad_where_names_conditions_and_stores_nothing(org, where):
    grants_before = list(Grant.objects.values_list("pk", "scope", "conditions").order_by("pk"))
    events_before = AuditEvent.objects.count()
    with pytest.raises(CommandError, match=r"^conditions: "):
        run("role", "grant", "finance", "customers.account", "view", "own", "--where", where)
    assert list(Grant.objects.values_list("pk", "scope", "conditions").order_by("pk")) == (
        grants_before
    )
    assert AuditEvent.objects.count() == events_before


def test_where_with_none_is_refused(org):
    with pytest.raises(CommandError, match=r"^conditions: "):
        run("role", "grant", "finance", "customers.account", "view", "none", "--where", "tier=A")
    assert finance_view().scope == "all"
