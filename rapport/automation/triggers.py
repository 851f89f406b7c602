"""The triggers that do not come from a record's own write: a date field reached, a schedule,
an incoming webhook and domain events other modules emit.

- **date_reached** (`date_sweep`, hourly on beat): the records whose date field plus the
  rule's offset is today (in `TIME_ZONE`) and that match the rule's condition, found for the
  whole set in one SQL query per day; days missed while the sweep did not run are caught up
  within `DATE_LOOKBACK_DAYS` (never before the rule was created). One run per record and
  day: the idempotency key is rule + record + day, so a second sweep starts nothing.
- **schedule** (`schedule_tick`, every minute on beat): the cron slots due since the rule's
  last completed slot (kept in its trigger settings as `last_slot`, at most
  `SCHEDULE_CATCH_UP` back); for each slot, one run per record of the rule's type that
  matches its condition, in bounded batches. The idempotency key is rule + slot + record, so
  two beats or a restart never run a slot twice.
- **webhook** (`webhook_fire`, from the incoming webhook view): one run for the record the
  request names, keyed by the request's idempotency key when it gives one.
- **event** (`on_domain_event`, subscribed for every topic `registry.register_topic`
  declares): the rules listening for the topic, for the record its payload names, keyed by
  the outbox message's key.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import filterlang

from . import actor as system_actor
from . import engine, registry, rulecache
from .models import Rule, RuleRun, RunState, Trigger

logger = logging.getLogger(__name__)

DATE_LOOKBACK_DAYS = 3
SCHEDULE_CATCH_UP = timedelta(hours=1)
BATCH_SIZE = 500
MAX_RUNS_PER_SWEEP = 5000  # per rule and sweep / tick; the rest follows on the next one


# --- shared --------------------------------------------------------------------------------


def _active_rules(trigger: str):
    return Rule.objects.filter(trigger=trigger, is_active=True, retired_at__isnull=True).order_by(
        "position", "id"
    )


def _skip(rule: Rule, key: str, detail: dict[str, Any], error: Exception, record_id=None) -> None:
    """Say in the run log why the rule could not be checked (once per key)."""
    message = _("The condition cannot be checked: %(error)s") % {
        "error": " ".join(getattr(error, "messages", [str(error)]))
    }
    try:
        with transaction.atomic():
            RuleRun.objects.create(
                rule=rule,
                rule_version=rule.version,
                object_type=rule.object_type,
                object_id=record_id,
                trigger_detail=detail,
                state=RunState.SKIPPED,
                error=message,
                idempotency_key=key[:200],
                chain=[],
                finished_at=timezone.now(),
            )
    except IntegrityError:
        pass


def _condition_q(rule: Rule, fields, actor, now: datetime) -> Q:
    """The rule's condition as a Q (FilterError if it no longer validates)."""
    tree = filterlang.validate(
        rule.condition or {"and": []}, fields, filterlang.Context(user_id=actor.pk, now=now)
    )
    if tree in ({"and": []}, {"or": []}):
        return Q()
    return filterlang.to_q(tree, fields)


def _start_many(
    rule: Rule,
    automatable: registry.Automatable,
    queryset,
    *,
    key_of,
    detail: dict[str, Any],
    limit: int,
) -> tuple[int, bool]:
    """Start a run for every record id of `queryset` that has none under `key_of(id)` yet, in
    batches (one transaction each). Returns (runs started, whether every record was seen)."""
    started = 0
    last_id = 0
    while True:
        ids = list(
            queryset.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE]
        )
        if not ids:
            return started, True
        last_id = ids[-1]
        keys = {pk: key_of(pk)[:200] for pk in ids}
        seen = set(
            RuleRun.objects.filter(rule=rule, idempotency_key__in=list(keys.values())).values_list(
                "idempotency_key", flat=True
            )
        )
        with transaction.atomic():
            for pk in ids:
                if keys[pk] in seen:
                    continue
                if started >= limit:
                    return started, False
                run = engine.start_run(
                    rule, automatable, pk, key=keys[pk], detail=detail, parent_chain=[]
                )
                started += run is not None


# --- date reached --------------------------------------------------------------------------


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def date_reached_q(spec: filterlang.FilterField, day: date) -> Q:
    """Records whose date field `spec` falls on `day` (a local day for datetimes)."""
    if spec.type == filterlang.DATE:
        tree = {"field": spec.name, "op": "=", "value": day}
    else:
        start, end = _day_bounds(day)
        tree = {
            "and": [
                {"field": spec.name, "op": ">=", "value": start},
                {"field": spec.name, "op": "<", "value": end},
            ]
        }
    return filterlang.to_q(tree, {spec.name: spec})


def date_sweep(*, now: datetime | None = None) -> int:
    """Start the runs of every active date rule whose date is reached (hourly on beat)."""
    now = now or timezone.now()
    actor = None
    started = 0
    for rule in _active_rules(Trigger.DATE_REACHED):
        automatable = registry.get(rule.object_type)
        if automatable is None:
            continue
        actor = actor or system_actor.get()
        started += _sweep_rule(rule, automatable, actor, now)
    return started


def _sweep_rule(rule: Rule, automatable: registry.Automatable, actor, now: datetime) -> int:
    config = rule.trigger_config or {}
    offset = int(config.get("offset_days") or 0)
    local = timezone.localtime(now)
    today = local.date()
    first = max(
        today - timedelta(days=DATE_LOOKBACK_DAYS), timezone.localtime(rule.created_at).date()
    )
    days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
    if config.get("at") and local.strftime("%H:%M") < str(config["at"]):
        days = [day for day in days if day < today]  # today's turn comes at its hour
    fields = filterlang.fields_for(actor, rule.object_type)
    spec = fields.get(str(config.get("field") or ""))
    started = 0
    for day in days:
        detail = {
            "topic": "date_reached",
            "field": config.get("field"),
            "offset_days": offset,
            "date": day.isoformat(),
        }
        try:
            if spec is None or spec.type not in (filterlang.DATE, filterlang.DATETIME):
                raise ValidationError(
                    _("There is no date field “%(name)s” any more.")
                    % {"name": config.get("field") or ""}
                )
            condition = _condition_q(rule, fields, actor, now)
        except ValidationError as error:
            _skip(rule, f"date:{day.isoformat()}:invalid", detail, error)
            continue
        # the date plus the offset is `day`: the date is `day` minus the offset
        reached = date_reached_q(spec, day - timedelta(days=offset))
        queryset = automatable.restrict(actor).filter(reached).filter(condition)
        count, _complete = _start_many(
            rule,
            automatable,
            queryset,
            key_of=lambda pk, day=day: f"date:{pk}:{day.isoformat()}",
            detail=detail,
            limit=MAX_RUNS_PER_SWEEP - started,
        )
        started += count
    return started


# --- schedule ------------------------------------------------------------------------------


def parse_cron(text: Any):
    """A celery crontab from "minute hour day-of-month month day-of-week", or None."""
    from celery.schedules import ParseException, crontab

    parts = str(text or "").split()
    if len(parts) != 5:
        return None
    try:
        return crontab(
            minute=parts[0],
            hour=parts[1],
            day_of_month=parts[2],
            month_of_year=parts[3],
            day_of_week=parts[4],
        )
    except (ValueError, TypeError, IndexError, KeyError, ParseException):
        return None


def cron_matches(cron, moment: datetime) -> bool:
    """Whether the local minute `moment` is one of the cron's slots (celery's reading: every
    field must match; day of week 0 is Sunday)."""
    return (
        moment.minute in cron.minute
        and moment.hour in cron.hour
        and moment.day in cron.day_of_month
        and moment.month in cron.month_of_year
        and moment.isoweekday() % 7 in cron.day_of_week
    )


def due_slots(cron, since: datetime, until: datetime) -> list[datetime]:
    """The cron's slots (local minutes) after `since` up to `until`."""
    moment = timezone.localtime(since).replace(second=0, microsecond=0) + timedelta(minutes=1)
    end = timezone.localtime(until)
    slots = []
    while moment <= end:
        if cron_matches(cron, moment):
            slots.append(moment)
        moment += timedelta(minutes=1)
    return slots


def schedule_tick(*, now: datetime | None = None) -> int:
    """Start the runs of the scheduled rules' slots due since their last tick (every minute
    on beat). Returns how many runs were started."""
    now = now or timezone.now()
    actor = None
    started = 0
    for rule in _active_rules(Trigger.SCHEDULE):
        automatable = registry.get(rule.object_type)
        cron = parse_cron((rule.trigger_config or {}).get("cron"))
        if automatable is None or cron is None:
            continue
        actor = actor or system_actor.get()
        started += _tick_rule(rule, automatable, cron, actor, now)
    return started


def _tick_rule(rule: Rule, automatable, cron, actor, now: datetime) -> int:
    config = rule.trigger_config or {}
    since = max(now - SCHEDULE_CATCH_UP, rule.updated_at)
    last = config.get("last_slot")
    if last:
        parsed = datetime.fromisoformat(last)
        since = max(since, parsed)
    started = 0
    fields = filterlang.fields_for(actor, rule.object_type)
    for slot in due_slots(cron, since, now):
        stamp = slot.isoformat(timespec="minutes")
        detail = {"topic": "schedule", "cron": config.get("cron"), "slot": stamp}
        try:
            condition = _condition_q(rule, fields, actor, now)
        except ValidationError as error:
            _skip(rule, f"slot:{stamp}:invalid", detail, error)
            _mark_slot(rule, slot)
            continue
        queryset = automatable.restrict(actor).filter(condition)
        count, complete = _start_many(
            rule,
            automatable,
            queryset,
            key_of=lambda pk, stamp=stamp: f"slot:{stamp}:{pk}",
            detail=detail,
            limit=MAX_RUNS_PER_SWEEP - started,
        )
        started += count
        if not complete:
            break  # the next tick goes on with this slot
        _mark_slot(rule, slot)
    return started


def _mark_slot(rule: Rule, slot: datetime) -> None:
    """Remember the last slot done (engine state in the trigger settings: no new version)."""
    config = {**(rule.trigger_config or {}), "last_slot": slot.isoformat()}
    Rule.objects.filter(pk=rule.pk).update(trigger_config=config)
    rule.trigger_config = config


# --- webhook -------------------------------------------------------------------------------


def webhook_fire(
    rule: Rule, record_id: int, *, idempotency_key: str = "", request_detail=None
) -> tuple[RuleRun | None, bool]:
    """Start `rule` for the record a webhook named. Returns (the run, whether it is new): a
    repeated idempotency key returns the run it started before."""
    automatable = registry.get(rule.object_type)
    key = f"hook:{idempotency_key}" if idempotency_key else f"hook:{uuid.uuid4().hex}"
    existing = RuleRun.objects.filter(rule=rule, idempotency_key=key[:200]).first()
    if existing is not None:
        return existing, False
    actor = system_actor.get()
    detail = {"topic": "webhook", **(request_detail or {})}
    try:
        matched = engine.condition_holds(rule, automatable, record_id, actor)
    except ValidationError as error:
        _skip(rule, key, detail, error, record_id)
        return RuleRun.objects.filter(rule=rule, idempotency_key=key[:200]).first(), True
    if not matched:
        return None, True
    with transaction.atomic():
        run = engine.start_run(
            rule, automatable, record_id, key=key, detail=detail, parent_chain=[]
        )
    if run is None:  # started at the same moment by the same key
        return RuleRun.objects.filter(rule=rule, idempotency_key=key[:200]).first(), False
    return run, True


# --- domain events -------------------------------------------------------------------------


def on_domain_event(topic: str, payload: dict[str, Any], event_key: str = "") -> None:
    """Start the rules listening for `topic` (after commit), for the record the payload names
    ({"type": ..., "id": ...}; the topic's record type when it gives none)."""
    declared = registry.topic(topic)
    object_type = str(payload.get("type") or (declared.object_type if declared else ""))
    automatable = registry.get(object_type)
    record_id = payload.get("id")
    if automatable is None or record_id is None:
        return
    candidates = rulecache.active(object_type, Trigger.EVENT)
    if not candidates:
        return
    rules = [
        rule
        for rule in Rule.objects.filter(
            pk__in=candidates, is_active=True, retired_at__isnull=True, trigger=Trigger.EVENT
        ).order_by("position", "id")
        if (rule.trigger_config or {}).get("topic") == topic
    ]
    if not rules:
        return
    event_key = event_key or f"unkeyed:{uuid.uuid4().hex}"
    cause = payload.get("cause") or {}
    chain = [list(link) for link in cause.get("chain") or []]
    actor = system_actor.get()
    for rule in rules:
        detail = {"topic": topic, "event": event_key}
        if cause.get("run"):
            detail["cause_run"] = cause["run"]
        key = f"event:{event_key}"
        try:
            matched = engine.condition_holds(rule, automatable, record_id, actor)
        except ValidationError as error:
            _skip(rule, key, detail, error, record_id)
            continue
        if matched:
            with transaction.atomic():
                engine.start_run(
                    rule, automatable, record_id, key=key, detail=detail, parent_chain=chain
                )
