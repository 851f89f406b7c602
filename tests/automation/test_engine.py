"""Rules firing on record events: triggers, conditions, each action, the audit trail, the run
log, idempotency, failures and retries, loop protection and the dry run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.utils import timezone, translation

from rapport.audit.models import AuditEvent
from rapport.automation import actor as system_actor
from rapport.automation import engine, registry, rulecache, services
from rapport.automation.models import Rule, RuleCursor, RuleRun, RunState
from rapport.core.customfields import services as custom_fields
from rapport.core.models import TaggedRecord
from rapport.core.notifications.models import Notification
from rapport.core.tags import services as tag_services
from rapport.customers import services as customer_services
from rapport.customers.models import Account, AccountOption, Interaction, InteractionKind
from rapport.customers.services import options as option_services
from rapport.identity.models import Team
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

ACCOUNT = "customers.account"


def make_rule(admin, **values) -> Rule:
    values.setdefault("name", "测试规则")
    values.setdefault("object_type", ACCOUNT)
    values.setdefault("trigger", "updated")
    values.setdefault("is_active", True)
    return services.rule_create(actor=admin, **values)


def runs_of(rule: Rule) -> list[RuleRun]:
    return list(RuleRun.objects.filter(rule=rule).order_by("id"))


def tasks_of(account: Account) -> list[Interaction]:
    return list(Interaction.objects.filter(account=account, kind=InteractionKind.TASK))


@pytest.fixture
def key_accounts(org) -> Team:
    return Team.objects.get(name="Key accounts")  # lead cm, member rep_sh


def test_tier_a_accounts_go_round_robin_to_key_accounts_with_a_welcome_call(
    org, key_accounts, eager, django_capture_on_commit_callbacks
):
    """The issue's example: when an account becomes tier A, assign it to the key-account
    team round robin and create a welcome call task due in 2 days."""
    rule = make_rule(
        org["admin"],
        name="A 级客户交给大客户组",
        name_en="Tier A accounts to key accounts",
        trigger_config={"field": "tier", "to": "A"},
        actions=[
            {"type": "assign_owner", "round_robin": {"team": key_accounts.pk}},
            {"type": "create_task", "subject": "欢迎电话", "due_in_days": 2, "assignee": "owner"},
        ],
    )
    rep = org["rep_east"]
    first, second = AccountFactory(owner=rep, tier="C"), AccountFactory(owner=rep, tier="C")
    for account in (first, second):
        with django_capture_on_commit_callbacks(execute=True):
            customer_services.account_update(actor=rep, account=account, tier="A")
    first.refresh_from_db()
    second.refresh_from_db()
    team = {org["cm"].pk, org["rep_sh"].pk}
    assert {first.owner_id, second.owner_id} == team  # two accounts, two different members
    for account in (first, second):
        (task,) = tasks_of(account)
        assert task.subject == "欢迎电话"
        assert task.assignee_id == account.owner_id
        assert abs(task.due_at - (timezone.now() + timedelta(days=2))) < timedelta(minutes=1)
    runs = runs_of(rule)
    assert [run.state for run in runs] == [RunState.SUCCEEDED, RunState.SUCCEEDED]
    assert runs[0].trigger_detail["fields"] == ["tier"]
    assert runs[0].results[0]["changes"] == {"owner": [rep.pk, first.owner_id]}
    # The audit event of each change names the rule and the run.
    assign = AuditEvent.objects.get(action="assign", object_id=str(first.pk))
    assert assign.actor.username == system_actor.USERNAME
    assert assign.extra["cause"]["rule"] == rule.pk
    assert assign.extra["cause"]["run"] == runs[0].pk
    task_event = AuditEvent.objects.get(
        action="create", object_type="customers.interaction", object_id=str(tasks_of(first)[0].pk)
    )
    assert task_event.extra["cause"]["run"] == runs[0].pk


def test_field_changed_to_fires_only_for_that_field_and_value(
    org, eager, django_capture_on_commit_callbacks
):
    rule = make_rule(
        org["admin"],
        trigger_config={"field": "tier", "to": "A"},
        actions=[{"type": "update_fields", "values": {"lifecycle_stage": "customer"}}],
    )
    account = AccountFactory(owner=org["rep_east"], tier="C")
    with django_capture_on_commit_callbacks(execute=True):
        customer_services.account_update(actor=org["admin"], account=account, name="改名公司")
    with django_capture_on_commit_callbacks(execute=True):
        customer_services.account_update(actor=org["admin"], account=account, tier="B")
    assert runs_of(rule) == []
    account.refresh_from_db()
    assert account.lifecycle_stage == "prospect"
    with django_capture_on_commit_callbacks(execute=True):
        customer_services.account_update(actor=org["admin"], account=account, tier="A")
    account.refresh_from_db()
    assert account.lifecycle_stage == "customer"
    assert [run.state for run in runs_of(rule)] == [RunState.SUCCEEDED]


def test_stage_changed_trigger(org, eager, django_capture_on_commit_callbacks):
    tag = tag_services.tag_create(actor=org["admin"], name="新客户")
    rule = make_rule(
        org["admin"],
        trigger="stage_changed",
        trigger_config={"to": "customer"},
        actions=[{"type": "add_tags", "tags": [tag.pk]}],
    )
    account = AccountFactory(owner=org["rep_east"])
    with django_capture_on_commit_callbacks(execute=True):
        customer_services.account_update(
            actor=org["admin"], account=account, lifecycle_stage="lead"
        )
    assert runs_of(rule) == []
    with django_capture_on_commit_callbacks(execute=True):
        customer_services.account_update(
            actor=org["admin"], account=account, lifecycle_stage="customer"
        )
    assert TaggedRecord.objects.filter(object_id=account.pk, tag=tag).exists()


def test_condition_on_custom_field_and_tag(org, eager, django_capture_on_commit_callbacks):
    admin = org["admin"]
    custom_fields.custom_field_create(
        actor=admin, object_type=ACCOUNT, key="employees", type="number", label="员工数"
    )
    vip = tag_services.tag_create(actor=admin, name="VIP")
    rule = make_rule(
        admin,
        trigger="updated",
        condition=f"cf.employees >= 500 and tag = {vip.pk}",
        actions=[{"type": "notify", "to": "owner", "message": "大客户有变化"}],
    )
    owner = org["rep_east"]
    big_vip = AccountFactory(owner=owner, custom={"employees": 800})
    big_plain = AccountFactory(owner=owner, custom={"employees": 800})
    small_vip = AccountFactory(owner=owner, custom={"employees": 20})
    tag_services.records_tag(actor=admin, records=[big_vip, small_vip], tags=[vip])
    for account in (big_vip, big_plain, small_vip):
        with django_capture_on_commit_callbacks(execute=True):
            customer_services.account_update(actor=admin, account=account, city="杭州市")
    assert [run.object_id for run in runs_of(rule)] == [big_vip.pk]
    (notification,) = Notification.objects.filter(recipient=owner, kind="automation.rule")
    assert "大客户有变化" in notification.text and "测试规则" in notification.text
    assert notification.object_id == str(big_vip.pk)


def test_created_trigger_updates_fields_and_tags(org, eager, django_capture_on_commit_callbacks):
    admin = org["admin"]
    new, old = (tag_services.tag_create(actor=admin, name=name) for name in ("新", "旧"))
    rule = make_rule(
        admin,
        trigger="created",
        condition='province = "上海市"',
        actions=[
            {"type": "update_fields", "values": {"lifecycle_stage": "lead", "tier": "B"}},
            {"type": "add_tags", "tags": [new.pk]},
            {"type": "remove_tags", "tags": [old.pk]},
        ],
    )
    rep = org["rep_sh"]
    with django_capture_on_commit_callbacks(execute=True):
        account = customer_services.account_create(actor=rep, name="上海新客户", province="上海市")
    with django_capture_on_commit_callbacks(execute=True):
        elsewhere = customer_services.account_create(actor=rep, name="北京客户", province="北京市")
    account.refresh_from_db()
    assert (account.lifecycle_stage, account.tier) == ("lead", "B")
    assert set(TaggedRecord.objects.filter(object_id=account.pk).values_list("tag", flat=True)) == {
        new.pk
    }
    elsewhere.refresh_from_db()
    assert elsewhere.tier == "C"
    (run,) = runs_of(rule)
    assert run.results[0]["changes"] == {
        "lifecycle_stage": ["prospect", "lead"],
        "tier": ["C", "B"],
    }
    assert run.results[2]["changes"] == {}  # the old tag was not there to remove
    update = AuditEvent.objects.get(
        action="update", object_id=str(account.pk), changes__has_key="tier"
    )
    assert update.extra["cause"]["rule"] == rule.pk


def test_assign_to_a_named_user_and_run_another_rule(
    org, eager, django_capture_on_commit_callbacks
):
    admin = org["admin"]
    follow_up = make_rule(
        admin,
        name="跟进",
        trigger="created",
        is_active=False,  # only run by the other rule
        actions=[{"type": "create_task", "subject": "跟进", "assignee": org["cm"].pk}],
    )
    rule = make_rule(
        admin,
        trigger="created",
        actions=[
            {"type": "assign_owner", "user": org["cm"].pk},
            {"type": "run_rule", "rule": follow_up.pk},
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        account = customer_services.account_create(actor=org["rep_sh"], name="新公司")
    account.refresh_from_db()
    assert account.owner_id == org["cm"].pk
    (task,) = tasks_of(account)
    assert task.assignee_id == org["cm"].pk
    (parent,) = runs_of(rule)
    (child,) = runs_of(follow_up)
    assert child.state == RunState.SUCCEEDED
    assert child.trigger_detail == {"topic": "run_rule", "run": parent.pk, "rule": rule.pk}
    assert child.chain == [
        [rule.pk, ACCOUNT, account.pk],
        [follow_up.pk, ACCOUNT, account.pk],
    ]


def test_a_redelivered_event_runs_a_rule_once(org, queued, django_capture_on_commit_callbacks):
    rule = make_rule(
        org["admin"], actions=[{"type": "update_fields", "values": {"city": "苏州市"}}]
    )
    account = AccountFactory(owner=org["rep_east"])
    payload = {"type": ACCOUNT, "id": account.pk, "fields": ["name"]}
    with django_capture_on_commit_callbacks(execute=True):
        engine.on_record_event("record.updated", payload, "abc123")
        engine.on_record_event("record.updated", dict(payload), "abc123")
    (run,) = runs_of(rule)
    assert run.idempotency_key == "event:abc123"
    assert run.state == RunState.QUEUED
    assert queued == [run.pk]  # queued once, after commit
    engine.execute(run.pk)
    engine.execute(run.pk)  # a duplicate message
    account.refresh_from_db()
    assert account.city == "苏州市"
    assert AuditEvent.objects.filter(action="update", object_id=str(account.pk)).count() == 1


def test_a_failing_action_leaves_the_record_unchanged_and_the_run_failed(
    org, eager, django_capture_on_commit_callbacks
):
    admin = org["admin"]
    rule = make_rule(
        admin,
        trigger_config={"field": "city"},
        actions=[
            {"type": "update_fields", "values": {"short_name": "改过了"}},
            {"type": "update_fields", "values": {"tier": "B"}},
        ],
    )
    option_services.option_deactivate(
        actor=admin, option=AccountOption.objects.get(field="tier", code="B")
    )
    account = AccountFactory(owner=org["rep_east"], short_name="原名")
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        customer_services.account_update(actor=admin, account=account, city="杭州市")
    account.refresh_from_db()
    assert (account.short_name, account.tier, account.city) == ("原名", "C", "杭州市")
    (run,) = runs_of(rule)
    assert run.state == RunState.FAILED
    assert run.attempts == 1
    assert run.next_attempt_at > timezone.now()
    assert (
        "Action 2" in run.error
        and "tier" in run.error
        and "“B” is not an active option" in (run.error)
    )
    assert not AuditEvent.objects.filter(
        object_id=str(account.pk), changes__has_key="short_name"
    ).exists()


def test_a_retry_after_a_transient_failure_does_not_duplicate_the_task(
    org, eager, django_capture_on_commit_callbacks
):
    admin = org["admin"]
    option_b = AccountOption.objects.get(field="tier", code="B")
    rule = make_rule(
        admin,
        trigger_config={"field": "city"},
        actions=[
            {"type": "create_task", "subject": "回访", "due_in_hours": 4},
            {"type": "update_fields", "values": {"tier": "B"}},
        ],
    )
    option_services.option_deactivate(actor=admin, option=option_b)
    account = AccountFactory(owner=org["rep_east"])
    with django_capture_on_commit_callbacks(execute=True):
        customer_services.account_update(actor=admin, account=account, city="杭州市")
    (run,) = runs_of(rule)
    assert run.state == RunState.FAILED and tasks_of(account) == []
    # Not due yet: the sweep leaves it.
    assert engine.runs_retry_due() == 0
    option_b.refresh_from_db()
    option_services.option_reactivate(actor=admin, option=option_b)
    later = run.next_attempt_at + timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert engine.runs_retry_due(now=later) == 1
    run.refresh_from_db()
    assert (run.state, run.attempts, run.error) == (RunState.SUCCEEDED, 2, "")
    assert len(tasks_of(account)) == 1
    # A second sweep, or the original message arriving late, changes nothing.
    assert engine.runs_retry_due(now=later + timedelta(hours=1)) == 0
    engine.execute(run.pk)
    assert len(tasks_of(account)) == 1
    account.refresh_from_db()
    assert account.tier == "B"


def test_retries_stop_after_the_last_attempt(org, queued):
    rule = make_rule(org["admin"], actions=[{"type": "update_fields", "values": {"tier": "B"}}])
    option_services.option_deactivate(
        actor=org["admin"], option=AccountOption.objects.get(field="tier", code="B")
    )
    account = AccountFactory(owner=org["rep_east"])
    run = engine.start_run(
        rule, registry.get(ACCOUNT), account.pk, key="k", detail={}, parent_chain=[]
    )
    when = timezone.now()
    for _attempt in range(engine.MAX_ATTEMPTS):
        engine.execute(run.pk, now=when)
        run.refresh_from_db()
        when = (run.next_attempt_at or when) + timedelta(seconds=1)
    assert (run.state, run.attempts, run.next_attempt_at) == (
        RunState.FAILED,
        engine.MAX_ATTEMPTS,
        None,
    )
    assert engine.runs_retry_due(now=when + timedelta(days=1)) == 0


def test_a_rule_that_triggers_itself_is_stopped_with_an_explanation(
    org, eager, django_capture_on_commit_callbacks
):
    rule = make_rule(
        org["admin"],
        name="标记简称",
        name_en="Mark short name",
        condition="tier = A",
        actions=[{"type": "update_fields", "values": {"short_name": "A类"}}],
    )
    account = AccountFactory(owner=org["rep_east"])
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        customer_services.account_update(actor=org["admin"], account=account, tier="A")
    first, second = runs_of(rule)
    assert first.state == RunState.SUCCEEDED
    assert second.state == RunState.LOOP_STOPPED
    assert second.error == (
        f"Rule “Mark short name” changed account {account.pk}, which triggered it again: "
        "stopped to avoid a loop."
    )
    assert second.chain == [[rule.pk, ACCOUNT, account.pk], [rule.pk, ACCOUNT, account.pk]]
    assert second.trigger_detail["cause_run"] == first.pk


def test_two_rules_ping_ponging_are_stopped_naming_both(
    org, eager, django_capture_on_commit_callbacks
):
    admin = org["admin"]
    ping = make_rule(
        admin,
        name="乒",
        name_en="Ping",
        trigger_config={"field": "tier"},
        actions=[{"type": "update_fields", "values": {"lifecycle_stage": "customer"}}],
    )
    pong = make_rule(
        admin,
        name="乓",
        name_en="Pong",
        trigger_config={"field": "lifecycle_stage"},
        actions=[{"type": "update_fields", "values": {"tier": "B"}}],
    )
    account = AccountFactory(owner=org["rep_east"], tier="C")
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        customer_services.account_update(actor=admin, account=account, tier="A")
    assert [run.state for run in runs_of(ping)] == [RunState.SUCCEEDED, RunState.LOOP_STOPPED]
    assert [run.state for run in runs_of(pong)] == [RunState.SUCCEEDED]
    stopped = runs_of(ping)[1]
    assert stopped.error == (
        f"Rules “Ping” → “Pong” → “Ping” keep triggering each other on account {account.pk}: "
        "stopped to avoid a loop."
    )
    account.refresh_from_db()
    assert (account.tier, account.lifecycle_stage) == ("B", "customer")


def test_a_chain_longer_than_the_limit_is_stopped(org):
    rules = [
        make_rule(org["admin"], name=f"规则{n}", actions=[{"type": "notify", "message": "x"}])
        for n in range(engine.MAX_CHAIN + 1)
    ]
    chain = [[rule.pk, "customers.contact", n] for n, rule in enumerate(rules[:-1])]
    with translation.override("en"):
        error = engine.loop_error(rules[-1], registry.get(ACCOUNT), 99, chain)
        assert engine.loop_error(rules[-1], registry.get(ACCOUNT), 99, chain[1:]) == ""
    assert error.startswith("Rules “规则0” → “规则1”")
    assert f"more than {engine.MAX_CHAIN} times in a row" in error


def test_a_dry_run_changes_nothing_and_says_what_would_happen(org, key_accounts, queued):
    admin = org["admin"]
    rule = make_rule(
        admin,
        is_active=False,
        condition="tier = C",
        actions=[
            {"type": "assign_owner", "round_robin": {"team": key_accounts.pk}},
            {"type": "update_fields", "values": {"tier": "A"}},
            {"type": "create_task", "subject": "欢迎电话", "due_in_days": 2},
            {"type": "notify", "message": "看看"},
        ],
    )
    account = AccountFactory(owner=org["rep_east"], tier="C")
    audit_before = AuditEvent.objects.count()
    run = services.rule_dry_run(actor=admin, rule=rule, record_id=account.pk)
    account.refresh_from_db()
    assert (account.owner_id, account.tier) == (org["rep_east"].pk, "C")
    assert tasks_of(account) == []
    assert not Notification.objects.filter(kind="automation.rule").exists()
    assert not RuleCursor.objects.exists()
    assert queued == []
    assert run.state == RunState.DRY_RUN and run.error == ""
    assert run.trigger_detail["condition"] is True
    first_in_turn = min(org["cm"].pk, org["rep_sh"].pk)  # the team by id
    assert run.results[0]["changes"] == {"owner": [org["rep_east"].pk, first_in_turn]}
    assert run.results[1]["changes"] == {"tier": ["C", "A"]}
    assert run.results[2]["changes"]["subject"] == "欢迎电话"
    # Only the dry run itself is audited.
    assert list(
        AuditEvent.objects.order_by("pk").values_list("action", flat=True)[audit_before:]
    ) == ["automation.rule_dry_run"]


def test_the_system_actor_cannot_sign_in(rf, db):
    user = system_actor.get()
    assert user.is_active and not user.has_usable_password()
    for password in ("", "automation", "!"):
        request = rf.post("/accounts/login/")
        assert authenticate(request, username=system_actor.USERNAME, password=password) is None
    assert system_actor.ensure().pk == user.pk  # idempotent


def test_many_rules_are_matched_in_a_few_statements(
    org, queued, django_capture_on_commit_callbacks
):
    """An event that fires many rules checks their conditions together, a hundred to a
    statement, reads the rules it starts once, and starts exactly those whose condition
    holds."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    account = AccountFactory(owner=org["rep_east"], tier="B", city="上海市")
    rules = [
        make_rule(
            org["admin"],
            name=f"规则 {number}",
            condition={
                "and": [
                    {
                        "field": "city",
                        "op": "=",
                        "value": "上海市" if number % 3 == 0 else "北京市",
                    },
                    {"field": "tier", "op": "in", "value": ["A", "B"]},
                ]
            },
            actions=[{"type": "notify", "to": "owner", "message": "城市匹配"}],
        )
        for number in range(250)
    ]
    payload = {"type": ACCOUNT, "id": account.pk, "fields": ["short_name"]}
    rulecache.active_rules(ACCOUNT, "updated")  # the process's rules, loaded once
    with (
        django_capture_on_commit_callbacks(execute=True),
        CaptureQueriesContext(connection) as captured,
    ):
        engine.on_record_event("record.updated", payload, "many")
    statements = [query["sql"] for query in captured]
    assert sum(sql.startswith("SELECT EXISTS") for sql in statements) == 3  # 250 / 100
    assert sum('FROM "automation_rule"' in sql for sql in statements) == 1
    started = set(
        RuleRun.objects.filter(idempotency_key="event:many").values_list("rule", flat=True)
    )
    assert started == {rule.pk for number, rule in enumerate(rules) if number % 3 == 0}
    assert len(queued) == len(started)
