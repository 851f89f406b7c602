"""`rapport rule list|show|enable|disable|move|dry-run|runs`: the same services and rules as
the designer and the API."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from rapport.audit.models import AuditEvent
from rapport.automation import services
from rapport.automation.models import Rule, RuleRun, RunState
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def run(*args) -> str:
    out = StringIO()
    call_command("rule", *args, stdout=out)
    return out.getvalue()


def make_rule(admin, name: str, **values) -> Rule:
    return services.rule_create(
        actor=admin,
        name=name,
        name_en=values.pop("name_en", ""),
        object_type="customers.account",
        trigger="updated",
        trigger_config=values.pop("trigger_config", {"field": "tier", "to": "A"}),
        actions=values.pop("actions", [{"type": "create_task", "subject": "欢迎电话"}]),
        **values,
    )


def test_list_and_show(org):
    first = make_rule(org["admin"], "甲规则", name_en="First rule")
    make_rule(org["admin"], "乙规则")
    lines = run("list").splitlines()
    assert "First rule" in lines[2] and "乙规则" in lines[3]  # in their order
    assert "Record updated: Tier changes to A" in lines[2]
    assert "off" in lines[2]
    shown = run("show", str(first.pk))
    assert "甲规则 / First rule" in shown and "1. Create a task" in shown
    assert "欢迎电话" in shown
    snapshot = json.loads(run("show", str(first.pk), "--json"))
    assert snapshot["trigger_config"] == {"field": "tier", "to": "A"}
    assert run("list", "--type", "customers.contact").count("规则") == 0


def test_enable_disable_and_move_are_audited(org):
    first, second = make_rule(org["admin"], "甲"), make_rule(org["admin"], "乙")
    assert "is on" in run("enable", str(first.pk))
    first.refresh_from_db()
    assert first.is_active
    run("disable", str(first.pk))
    first.refresh_from_db()
    assert not first.is_active
    run("move", str(second.pk), "up")
    assert list(Rule.objects.order_by("position").values_list("name", flat=True)) == ["乙", "甲"]
    actions = set(
        AuditEvent.objects.filter(object_type="automation.rule").values_list("action", flat=True)
    )
    assert {
        "automation.rule_activate",
        "automation.rule_deactivate",
        "automation.rule_move",
    } <= actions


def test_dry_run_says_what_would_happen_and_changes_nothing(org):
    rule = make_rule(
        org["admin"],
        "改城市",
        actions=[{"type": "update_fields", "values": {"city": "苏州市"}}],
    )
    account = AccountFactory(owner=org["rep_sh"], tier="A", city="上海市")
    out = run("dry-run", str(rule.pk), str(account.pk))
    assert "Condition holds" in out and "苏州市" in out and "Nothing was changed" in out
    account.refresh_from_db()
    assert account.city == "上海市"
    other = AccountFactory(owner=org["rep_sh"], tier="C")
    assert "does not hold" in run("dry-run", str(rule.pk), str(other.pk))
    with pytest.raises(CommandError, match="There is no record 999999"):
        run("dry-run", str(rule.pk), "999999")
    runs = run("runs", "--rule", str(rule.pk))
    assert runs.count("Dry run") == 2
    assert run("runs", "--record", str(other.pk)).count("Dry run") == 1
    assert "Dry run" not in run("runs", "--type", "customers.contact")
    assert "Dry run" not in run("runs", "--state", RunState.FAILED)


def test_errors_name_the_field_and_non_administrators_are_refused(org):
    rule = make_rule(org["admin"], "甲")
    with pytest.raises(CommandError, match="rule: There is no rule 4242"):
        run("enable", "4242")
    Rule.objects.filter(pk=rule.pk).update(condition={"field": "cf.gone", "op": "=", "value": 1})
    with pytest.raises(CommandError, match="condition: There is no field “cf.gone”"):
        run("enable", str(rule.pk))
    rule.refresh_from_db()
    assert not rule.is_active
    for args in (
        ("list",),
        ("show", str(rule.pk)),
        ("runs",),
        ("disable", str(rule.pk)),
        ("dry-run", str(rule.pk), str(AccountFactory(owner=org["rep_sh"]).pk)),
    ):
        with pytest.raises(CommandError, match="as: rep_sh"):
            run(*args, "--as", "rep_sh")
    assert not RuleRun.objects.exists()
