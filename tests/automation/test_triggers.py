"""The triggers that do not come from a record's own write: a date reached, a schedule, an
incoming webhook and domain events. Each fires, fires once, and refuses bad settings with a
localized message (nothing stored)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from rest_framework.test import APIClient

from rapport.automation import registry, services, triggers
from rapport.automation.models import Rule, RuleRun, RunState
from rapport.core.customfields import services as custom_fields
from rapport.customers import services as customer_services
from rapport.customers.models import Interaction
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

ACCOUNT = "customers.account"
INTERACTION = "customers.interaction"
NOTIFY = [{"type": "notify", "to": "owner", "message": "到期提醒"}]


def make_rule(admin, **values) -> Rule:
    values.setdefault("name", "测试规则")
    values.setdefault("object_type", ACCOUNT)
    values.setdefault("is_active", True)
    values.setdefault("actions", NOTIFY)
    return services.rule_create(actor=admin, **values)


def local(*args) -> datetime:
    return timezone.make_aware(datetime(*args))


def age(rule: Rule, days: int = 0, *, at: datetime | None = None) -> None:
    """Pretend the rule was created (and last changed) `days` ago, or `at`."""
    then = at or timezone.now() - timedelta(days=days)
    Rule.objects.filter(pk=rule.pk).update(created_at=then, updated_at=then)
    rule.refresh_from_db()


def refused(admin, **values) -> dict[str, list[str]]:
    before = Rule.objects.count()
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        make_rule(admin, **values)
    assert Rule.objects.count() == before
    return caught.value.message_dict


def record_ids(rule: Rule) -> list[int]:
    return sorted(RuleRun.objects.filter(rule=rule).values_list("object_id", flat=True))


# --- date reached --------------------------------------------------------------------------


def task_due(org, account, due_at, priority="normal") -> Interaction:
    return customer_services.task_create(
        actor=org["admin"],
        subject="续约",
        account=account,
        due_at=due_at,
        assignee=org["rep_east"],
        priority=priority,
    )


def test_a_date_rule_fires_once_per_record_and_day_for_matching_records(
    org, queued, django_capture_on_commit_callbacks
):
    admin = org["admin"]
    now = local(2026, 12, 10, 9, 30)
    account = AccountFactory(owner=org["rep_east"])
    # due tomorrow (Shanghai time, late evening), high priority: one day before is today
    tomorrow_late = task_due(org, account, local(2026, 12, 11, 23, 50), priority="high")
    tomorrow_low = task_due(org, account, local(2026, 12, 11, 8, 0), priority="low")
    in_two_days = task_due(org, account, local(2026, 12, 12, 0, 10), priority="high")
    rule = make_rule(
        admin,
        object_type=INTERACTION,
        trigger="date_reached",
        trigger_config={"field": "due_at", "offset_days": -1},
        condition="priority = high",
    )
    age(rule, 10)
    with django_capture_on_commit_callbacks(execute=True):
        assert triggers.date_sweep(now=now) == 1
    assert record_ids(rule) == [tomorrow_late.pk]
    (run,) = RuleRun.objects.filter(rule=rule)
    assert run.idempotency_key == f"date:{tomorrow_late.pk}:2026-12-10"
    assert run.trigger_detail["date"] == "2026-12-10" and run.state == RunState.QUEUED
    assert queued == [run.pk]
    # the next sweeps of the day start nothing new
    assert triggers.date_sweep(now=now + timedelta(hours=1)) == 0
    assert triggers.date_sweep(now=now + timedelta(hours=2)) == 0
    # the next day, the one due two days after the first is reached
    assert triggers.date_sweep(now=now + timedelta(days=1)) == 1
    assert record_ids(rule) == sorted([tomorrow_late.pk, in_two_days.pk])
    assert tomorrow_low.pk not in record_ids(rule)


def test_missed_days_are_caught_up_within_the_lookback_but_not_before_the_rule(org, queued):
    admin = org["admin"]
    now = local(2026, 12, 10, 9, 30)
    account = AccountFactory(owner=org["rep_east"])
    two_days_ago = task_due(org, account, local(2026, 12, 8, 15, 0))
    six_days_ago = task_due(org, account, local(2026, 12, 4, 15, 0))
    rule = make_rule(
        admin, object_type=INTERACTION, trigger="date_reached", trigger_config={"field": "due_at"}
    )
    age(rule, 30)
    triggers.date_sweep(now=now)
    assert record_ids(rule) == [two_days_ago.pk]  # six days ago is beyond the lookback
    assert six_days_ago.pk not in record_ids(rule)
    # a rule created today does not reach back before it existed
    fresh = make_rule(
        admin, object_type=INTERACTION, trigger="date_reached", trigger_config={"field": "due_at"}
    )
    Rule.objects.filter(pk=fresh.pk).update(created_at=now - timedelta(hours=1))
    triggers.date_sweep(now=now)
    assert record_ids(fresh) == []


def test_a_date_rule_waits_for_its_hour(org, queued):
    admin = org["admin"]
    account = AccountFactory(owner=org["rep_east"])
    task = task_due(org, account, local(2026, 12, 10, 18, 0))
    rule = make_rule(
        admin,
        object_type=INTERACTION,
        trigger="date_reached",
        trigger_config={"field": "due_at", "at": "09:00"},
    )
    age(rule, 1)
    assert triggers.date_sweep(now=local(2026, 12, 10, 8, 30)) == 0
    assert triggers.date_sweep(now=local(2026, 12, 10, 9, 5)) == 1
    assert record_ids(rule) == [task.pk]


def test_a_custom_date_field_of_accounts_can_be_watched(org, queued):
    admin = org["admin"]
    custom_fields.custom_field_create(
        actor=admin, object_type=ACCOUNT, key="contract_end", type="date", label="合同到期"
    )
    ending = AccountFactory(owner=org["rep_east"], custom={"contract_end": "2027-01-09"})
    AccountFactory(owner=org["rep_east"], custom={"contract_end": "2027-01-10"})
    AccountFactory(owner=org["rep_east"])
    rule = make_rule(
        admin,
        trigger="date_reached",
        trigger_config={"field": "cf.contract_end", "offset_days": -30},
    )
    age(rule, 1)
    assert triggers.date_sweep(now=local(2026, 12, 10, 10, 0)) == 1
    assert record_ids(rule) == [ending.pk]


def test_bad_date_settings_are_refused_with_a_message(org):
    admin = org["admin"]
    errors = refused(admin, trigger="date_reached", trigger_config={"field": "name"})
    assert "Choose a date field of the record" in errors["trigger_config.field"][0]
    # a date the record type does not offer for date rules
    errors = refused(admin, trigger="date_reached", trigger_config={"field": "updated_at"})
    assert "trigger_config.field" in errors
    errors = refused(
        admin, trigger="date_reached", trigger_config={"field": "created_at", "offset_days": "x"}
    )
    assert "whole number of days" in errors["trigger_config.offset_days"][0]
    errors = refused(
        admin, trigger="date_reached", trigger_config={"field": "created_at", "at": "25:00"}
    )
    assert "HH:MM" in errors["trigger_config.at"][0]


def test_the_registry_declares_date_fields_and_contacts():
    assert "due_at" in registry.get(INTERACTION).date_fields
    assert "created_at" in registry.get(ACCOUNT).date_fields
    assert registry.get(ACCOUNT).contacts is not None


# --- schedule ------------------------------------------------------------------------------


def test_a_scheduled_rule_runs_each_slot_once_for_every_matching_record(org, queued):
    admin = org["admin"]
    tier_a = [AccountFactory(owner=org["rep_east"], tier="A") for _ in range(3)]
    AccountFactory(owner=org["rep_east"], tier="C")
    rule = make_rule(
        admin, trigger="schedule", trigger_config={"cron": "*/5 9-17 * * *"}, condition="tier = A"
    )
    start = local(2026, 12, 10, 10, 5, 20)
    age(rule, at=start - timedelta(minutes=3))
    assert triggers.schedule_tick(now=start) == 3
    assert record_ids(rule) == sorted(account.pk for account in tier_a)
    keys = set(RuleRun.objects.filter(rule=rule).values_list("idempotency_key", flat=True))
    assert keys == {f"slot:2026-12-10T10:05+08:00:{account.pk}" for account in tier_a}
    # a second beat in the same minute, and the minutes after, start nothing
    assert triggers.schedule_tick(now=start + timedelta(seconds=20)) == 0
    assert triggers.schedule_tick(now=start + timedelta(minutes=1)) == 0
    # the next slot
    assert triggers.schedule_tick(now=local(2026, 12, 10, 10, 10, 2)) == 3
    assert RuleRun.objects.filter(rule=rule).count() == 6
    rule.refresh_from_db()
    assert rule.trigger_config["last_slot"].startswith("2026-12-10T10:10")


def test_a_restart_catches_up_missed_slots_without_repeating_done_ones(org, queued):
    admin = org["admin"]
    account = AccountFactory(owner=org["rep_east"])
    rule = make_rule(admin, trigger="schedule", trigger_config={"cron": "0,30 * * * *"})
    age(rule, at=local(2026, 12, 10, 9, 58))
    assert triggers.schedule_tick(now=local(2026, 12, 10, 10, 0, 5)) == 1
    # the beat was down from 10:01 to 11:10: the 10:30 and 11:00 slots are caught up
    assert triggers.schedule_tick(now=local(2026, 12, 10, 11, 10)) == 2
    slots = sorted(RuleRun.objects.filter(rule=rule).values_list("trigger_detail__slot", flat=True))
    assert slots == ["2026-12-10T10:00+08:00", "2026-12-10T10:30+08:00", "2026-12-10T11:00+08:00"]
    assert record_ids(rule) == [account.pk] * 3
    # the rule can still be changed: its schedule state is kept, not refused
    rule.refresh_from_db()
    services.rule_update(actor=admin, rule=rule, name="改名")
    rule.refresh_from_db()
    assert rule.trigger_config["last_slot"].startswith("2026-12-10T11:00")


def test_an_inactive_scheduled_rule_does_not_run(org, queued):
    admin = org["admin"]
    AccountFactory(owner=org["rep_east"])
    rule = make_rule(admin, trigger="schedule", trigger_config={"cron": "* * * * *"})
    age(rule, 1)
    services.rule_deactivate(actor=admin, rule=rule)
    Rule.objects.filter(pk=rule.pk).update(updated_at=timezone.now() - timedelta(days=1))
    assert triggers.schedule_tick(now=timezone.now()) == 0


def test_an_invalid_cron_is_refused_with_a_localized_message(org):
    for cron in ("0 25 * * *", "0,,5 * * * *", "-1 * * * *", "*/0 * * * *", "* * * * 8", ""):
        errors = refused(org["admin"], trigger="schedule", trigger_config={"cron": cron})
        assert "is not a valid cron expression" in errors["trigger_config.cron"][0], cron
    with translation.override("zh-hans"), pytest.raises(ValidationError):
        make_rule(org["admin"], trigger="schedule", trigger_config={"cron": "daily"})
    assert not Rule.objects.filter(trigger="schedule").exists()


def test_cron_slots_follow_celery_day_of_week():
    cron = triggers.parse_cron("0 9 * * 1-5")
    monday, sunday = local(2026, 12, 7, 9, 0), local(2026, 12, 6, 9, 0)
    assert triggers.cron_matches(cron, monday)
    assert not triggers.cron_matches(cron, sunday)
    assert triggers.parse_cron("61 * * * *") is None


# --- webhook -------------------------------------------------------------------------------


def hook_url(token: str) -> str:
    return f"/api/v1/automation/hooks/{token}/"


def test_a_webhook_rule_starts_for_the_named_record_once_per_key(org, queued):
    admin = org["admin"]
    account = AccountFactory(owner=org["rep_east"], credit_code="91310000MA1FL8XQ3A")
    rule = make_rule(admin, trigger="webhook", trigger_config={})
    token = rule.webhook_token
    assert token and token not in str(Rule.objects.get(pk=rule.pk).trigger_config)
    client = APIClient()
    response = client.post(
        hook_url(token), {"id": account.pk}, format="json", HTTP_IDEMPOTENCY_KEY="order-1"
    )
    assert response.status_code == 202, response.content
    run = RuleRun.objects.get(pk=response.json()["run"])
    assert (run.object_id, run.idempotency_key) == (account.pk, "hook:order-1")
    again = client.post(
        hook_url(token), {"id": account.pk}, format="json", HTTP_IDEMPOTENCY_KEY="order-1"
    )
    assert again.status_code == 200 and again.json() == {
        "run": run.pk,
        "state": "queued",
        "duplicate": True,
    }
    by_fields = client.post(
        hook_url(token),
        {"find": {"credit_code": "91310000MA1FL8XQ3A"}, "idempotency_key": "order-2"},
        format="json",
    )
    assert by_fields.status_code == 202
    assert RuleRun.objects.filter(rule=rule).count() == 2


def test_a_bad_token_or_an_inactive_rule_answers_not_found(org, queued):
    admin = org["admin"]
    account = AccountFactory(owner=org["rep_east"])
    rule = make_rule(admin, trigger="webhook")
    client = APIClient()
    wrong = rule.webhook_token[:-2] + ("AA" if not rule.webhook_token.endswith("AA") else "BB")
    assert client.post(hook_url(wrong), {"id": account.pk}, format="json").status_code == 404
    assert client.post(hook_url("short"), {"id": account.pk}, format="json").status_code == 404
    services.rule_deactivate(actor=admin, rule=rule)
    response = client.post(hook_url(rule.webhook_token), {"id": account.pk}, format="json")
    assert response.status_code == 404
    assert not RuleRun.objects.exists()


def test_a_webhook_for_a_missing_record_or_bad_body_is_refused(org, queued):
    rule = make_rule(org["admin"], trigger="webhook")
    client = APIClient()
    url = hook_url(rule.webhook_token)
    assert client.post(url, {"id": 999999}, format="json").status_code == 404
    assert client.post(url, {"nonsense": 1}, format="json").status_code == 400
    assert client.post(url, {}, format="json").status_code == 400
    assert not RuleRun.objects.exists()


def test_a_webhook_token_is_kept_on_change_and_can_be_regenerated(org):
    admin = org["admin"]
    rule = make_rule(admin, trigger="webhook")
    first_hash = rule.trigger_config["token_hash"]
    rule = Rule.objects.get(pk=rule.pk)
    renamed = services.rule_update(actor=admin, rule=rule, name="新名字")
    assert renamed.trigger_config["token_hash"] == first_hash
    assert not getattr(renamed, "webhook_token", "")
    regenerated = services.rule_update(actor=admin, rule=rule, trigger_config={"regenerate": True})
    assert regenerated.webhook_token
    assert regenerated.trigger_config["token_hash"] != first_hash
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        services.rule_update(actor=admin, rule=rule, trigger_config={"token": "x" * 30})
    assert "generated" in caught.value.message_dict["trigger_config.token"][0]


# --- domain events -------------------------------------------------------------------------


def test_a_domain_event_starts_the_rules_listening_for_it_once(
    org, queued, django_capture_on_commit_callbacks
):
    admin = org["admin"]
    account = AccountFactory(owner=org["rep_east"])
    task = task_due(org, account, timezone.now() + timedelta(days=1), priority="high")
    other = task_due(org, account, timezone.now() + timedelta(days=1), priority="low")
    rule = make_rule(
        admin,
        object_type=INTERACTION,
        trigger="event",
        trigger_config={"topic": "task.completed"},
        condition="priority = high",
    )
    for item in (task, other):
        with django_capture_on_commit_callbacks(execute=True):
            customer_services.task_complete(actor=org["rep_east"], task=item)
    (run,) = RuleRun.objects.filter(rule=rule)
    assert run.object_id == task.pk and run.trigger_detail["topic"] == "task.completed"
    # the same event delivered again starts nothing
    key = run.idempotency_key.removeprefix("event:")
    triggers.on_domain_event("task.completed", {"type": INTERACTION, "id": task.pk}, key)
    assert RuleRun.objects.filter(rule=rule).count() == 1


def test_a_newly_registered_topic_reaches_rules(org, queued, django_capture_on_commit_callbacks):
    from rapport.core import events

    admin = org["admin"]
    registry.register_topic("test.account_flagged", "Flagged", ACCOUNT)
    try:
        account = AccountFactory(owner=org["rep_east"])
        rule = make_rule(admin, trigger="event", trigger_config={"topic": "test.account_flagged"})
        with django_capture_on_commit_callbacks(execute=True):
            events.emit("test.account_flagged", {"type": ACCOUNT, "id": account.pk})
        assert record_ids(rule) == [account.pk]
    finally:
        registry._topics.pop("test.account_flagged", None)
        events.unsubscribe("test.account_flagged", registry._on_event)


def test_an_unknown_or_mismatched_topic_is_refused(org):
    admin = org["admin"]
    errors = refused(admin, trigger="event", trigger_config={"topic": "task.compleetd"})
    message = errors["trigger_config.topic"][0]
    assert "There is no event “task.compleetd”" in message and "task.completed" in message
    errors = refused(admin, trigger="event", trigger_config={"topic": "task.completed"})
    assert "another type of record" in errors["trigger_config.topic"][0]


def test_the_api_shows_a_webhook_token_once(org, queued):
    from rapport.identity.services import token_create

    _token, secret = token_create(actor=org["admin"], name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + secret)
    created = client.post(
        "/api/v1/automation/rules/",
        {
            "name": "外部下单",
            "object_type": ACCOUNT,
            "trigger": "webhook",
            "actions": NOTIFY,
            "is_active": True,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    token = created.json()["webhook_token"]
    assert len(token) >= 32
    shown = client.get(f"/api/v1/automation/rules/{created.json()['id']}/").json()
    assert "webhook_token" not in shown and token not in str(shown)
    account = AccountFactory(owner=org["rep_east"])
    response = APIClient().post(hook_url(token), {"id": account.pk}, format="json")
    assert response.status_code == 202


def test_webhook_calls_are_rate_limited_per_token(org, queued, monkeypatch):
    from rapport.automation import webhooks

    monkeypatch.setattr(webhooks.HookThrottle, "rate", "2/min")
    rule = make_rule(org["admin"], trigger="webhook")
    account = AccountFactory(owner=org["rep_east"])
    client = APIClient()
    codes = [
        client.post(hook_url(rule.webhook_token), {"id": account.pk}, format="json").status_code
        for _ in range(3)
    ]
    assert codes == [202, 202, 429]


def test_guessing_tokens_is_rate_limited_by_address(org, monkeypatch):
    from rapport.automation import webhooks

    monkeypatch.setattr(webhooks.HookAddressThrottle, "rate", "3/min")
    client = APIClient(REMOTE_ADDR="198.51.100.7")
    codes = [
        client.post(hook_url(f"guess-{n:030d}"), {"id": 1}, format="json").status_code
        for n in range(4)
    ]
    assert codes == [404, 404, 404, 429]
