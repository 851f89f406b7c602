"""The rule engine: matching record events to rules, and running them.

Matching happens after the write commits, in the event subscriber: the active rules of the
record's type and trigger (cached in memory), the trigger's own test ("field changed (to
V)"), then the conditions — the list filter language applied to that one record in SQL, as
the system actor, every fired rule's condition in one statement (`conditions_hold`). A match creates a `RuleRun` whose idempotency key is the rule plus the event's key, so
a redelivered event never runs a rule twice, and queues `automation.run_rule` after commit.

A run executes in one transaction: every action, in order, through the domain services as
the system actor, then the run's own outcome. If an action fails, its savepoint rolls back
everything the run did (the record is never half-changed), the run is marked failed with
the error, and the sweep (`runs_retry_due`, every minute on beat) retries it with
exponential backoff. The run row is locked while it executes and only a queued or failed
run is executed, so a retry or a duplicate message never repeats a finished run's effects.

Loops: while a run executes, its causal chain — the (rule, record) pairs that led to it —
is the current cause (`rapport.core.context`), which every event emitted meanwhile carries
in its payload. A rule reached again for a record already in the chain, or a chain longer
than `MAX_CHAIN`, becomes a `loop_stopped` run that says why.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import context, filterlang
from rapport.core.customfields import rules as custom_field_rules
from rapport.core.errors import DomainError

from . import actions, registry, rulecache
from . import actor as system_actor
from .models import Rule, RuleRun, RunState, Trigger

logger = logging.getLogger(__name__)

MAX_CHAIN = 5
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 60  # 1, 2, 4, 8 minutes between attempts
LOST_AFTER = timedelta(minutes=10)  # a queued run whose message never arrived


# --- matching ------------------------------------------------------------------------------


def _filter_name(changed: str) -> str:
    """An event's field name as the filter language calls it."""
    if changed.startswith("custom."):
        return custom_field_rules.rule_name(changed.removeprefix("custom."))
    return {"tags": "tag"}.get(changed, changed)


def _trigger_condition(rule: Rule, automatable: registry.Automatable) -> dict | None:
    """The part of the trigger that is a condition on the record ("… changed to V")."""
    config = rule.trigger_config or {}
    if rule.trigger == Trigger.UPDATED and config.get("field") and "to" in config:
        return {"field": config["field"], "op": "=", "value": config["to"]}
    if rule.trigger == Trigger.STAGE_CHANGED and config.get("to") and automatable.stage_field:
        return {"field": automatable.stage_field, "op": "=", "value": config["to"]}
    return None


def _trigger_fires(rule: Rule, fields: list[str]) -> bool:
    if rule.trigger != Trigger.UPDATED:
        return True
    wanted = (rule.trigger_config or {}).get("field")
    return not wanted or wanted in {_filter_name(name) for name in fields}


def _condition_tree(rule: Rule, automatable: registry.Automatable) -> dict:
    tree = rule.condition or {"and": []}
    extra = _trigger_condition(rule, automatable)
    return {"and": [tree, extra]} if extra is not None else tree


def condition_holds(rule: Rule, automatable: registry.Automatable, record_id: Any, actor) -> bool:
    """Whether the record matches the rule's condition (and its trigger's "to V"), in SQL.
    A condition that no longer validates (a field deleted since) raises a FilterError."""
    queryset = automatable.restrict(actor).filter(pk=record_id)
    fields = filterlang.fields_for(actor, automatable.object_type)
    queryset = filterlang.apply(
        queryset,
        _condition_tree(rule, automatable),
        fields,
        filterlang.Context(user_id=actor.pk),
    )
    return queryset.exists()


# Conditions checked in one statement (one EXISTS each); more make the statement unwieldy.
CONDITIONS_PER_STATEMENT = 100
# Stands for the record's id in a compiled condition, replaced by the real id per event.
_RECORD = -7_331_913_557
_ALWAYS = "always"
# Compiled conditions: {(rule, version, created, actor, minute): (sql, params, id position) |
# _ALWAYS | the ValidationError}. Relative values ("today-30") are resolved when compiled,
# so an entry is good for the minute it was made in; field changes show within a minute.
_compiled: dict[tuple, Any] = {}
_COMPILED_MAX = 5000


def _sql_for_record(queryset) -> tuple[str, list, int]:
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    positions = [index for index, value in enumerate(params) if value == _RECORD]
    if len(positions) != 1:  # never seen: the id must be a parameter of its own
        raise RuntimeError(f"cannot place the record id in {sql!r}")
    return sql, list(params), positions[0]


def _compiled_entry(key: tuple, make) -> Any:
    entry = _compiled.get(key)
    if entry is None:
        if len(_compiled) >= _COMPILED_MAX:
            _compiled.clear()
        entry = _compiled[key] = make()
    return entry


def conditions_hold(
    rules: list[Rule], automatable: registry.Automatable, record_id: Any, actor
) -> tuple[list[Rule], list[tuple[Rule, ValidationError]]]:
    """`condition_holds` for many rules at once: the rules whose condition the record meets
    (in the given order), and those whose condition no longer validates, with the error.

    Each rule's condition is validated and compiled to SQL once (per rule version and
    minute, see `_compiled`); per event, the conditions are checked together, each an EXISTS
    on the record's id, in statements of `CONDITIONS_PER_STATEMENT` beside the check that
    the system actor still sees the record: an event that fires a thousand rules costs a few
    statements and no query compilation.
    """
    minute = int(time.time() // 60)
    fields: dict | None = None
    context = filterlang.Context(user_id=actor.pk)

    def compile_rule(rule: Rule) -> Any:
        nonlocal fields
        if fields is None:
            fields = filterlang.fields_for(actor, automatable.object_type)
        try:
            tree = filterlang.validate(_condition_tree(rule, automatable), fields, context)
        except ValidationError as error:
            return error
        if tree in ({"and": []}, {"or": []}):
            return _ALWAYS
        condition = filterlang.to_q(tree, fields)
        return _sql_for_record(
            automatable.model._default_manager.filter(condition).filter(pk=_RECORD)
        )

    visible = _compiled_entry(
        ("visible", automatable.object_type, actor.pk, minute),
        lambda: _sql_for_record(automatable.restrict(actor).filter(pk=_RECORD)),
    )
    checks: list[tuple[Rule, Any]] = []
    broken: list[tuple[Rule, ValidationError]] = []
    for rule in rules:
        entry = _compiled_entry(
            (rule.pk, rule.version, rule.created_at, actor.pk, minute),
            lambda rule=rule: compile_rule(rule),
        )
        if isinstance(entry, ValidationError):
            broken.append((rule, entry))
        else:
            checks.append((rule, entry))
    if not checks:
        return [], broken
    held: dict[int, bool] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(checks), CONDITIONS_PER_STATEMENT):
            chunk = [
                visible,
                *(entry for _rule, entry in checks[start : start + CONDITIONS_PER_STATEMENT]),
            ]
            columns, params = [], []
            for entry in chunk:
                if entry == _ALWAYS:
                    columns.append("1")
                    continue
                sql, entry_params, position = entry
                columns.append(f"EXISTS ({sql})")
                params.extend([*entry_params[:position], record_id, *entry_params[position + 1 :]])
            cursor.execute("SELECT " + ", ".join(columns), params)
            row = cursor.fetchone()
            if not row[0]:  # gone, or not the system actor's to see: nothing matches
                return [], broken
            for (rule, _entry), value in zip(
                checks[start : start + CONDITIONS_PER_STATEMENT], row[1:], strict=True
            ):
                held[rule.pk] = bool(value)
    return [rule for rule, _entry in checks if held[rule.pk]], broken


def on_record_event(topic: str, payload: dict[str, Any], event_key: str = "") -> None:
    """The subscriber of record events (after commit): start the rules the event fires.
    `event_key` (the outbox message's key) makes a redelivered event start nothing new."""
    object_type = str(payload.get("type") or "")
    automatable = registry.get(object_type)
    record_id = payload.get("id")
    if automatable is None or record_id is None:
        return
    fields = [str(name) for name in payload.get("fields") or []]
    # Without the outbox key (a direct call) the event cannot be recognised again.
    event_key = event_key or f"unkeyed:{uuid.uuid4().hex}"
    if topic == "record.created":
        triggers = [Trigger.CREATED]
    else:
        triggers = [Trigger.UPDATED]
        if automatable.stage_field and automatable.stage_field in fields:
            triggers.append(Trigger.STAGE_CHANGED)
    fired = [
        rule
        for trigger in triggers
        for rule in rulecache.active_rules(object_type, trigger)
        if _trigger_fires(rule, fields)
    ]
    if not fired:
        return
    fired.sort(key=lambda rule: (rule.position, rule.pk))
    cause = payload.get("cause") or {}
    chain = [list(link) for link in cause.get("chain") or []]
    actor = system_actor.get()
    detail = {"topic": topic, "fields": fields, "event": event_key}
    if cause.get("run"):
        detail["cause_run"] = cause["run"]
    matched, broken = conditions_hold(fired, automatable, record_id, actor)
    for rule, error in broken:
        _record_skipped(rule, object_type, record_id, event_key, detail, chain, error)
    if not matched:
        return
    # The cached rules may be up to `rulecache.RECHECK_SECONDS` old: run only those that
    # are still active, as they are now.
    current = Rule.objects.filter(
        pk__in=[rule.pk for rule in matched], is_active=True, retired_at__isnull=True
    ).in_bulk()
    for rule in matched:
        if rule.pk in current:
            start_run(
                current[rule.pk],
                automatable,
                record_id,
                key=f"event:{event_key}",
                detail=detail,
                parent_chain=chain,
            )


def _record_skipped(rule, object_type, record_id, event_key, detail, chain, error) -> None:
    message = _("The condition cannot be checked: %(error)s") % {
        "error": " ".join(getattr(error, "messages", [str(error)]))
    }
    try:
        with transaction.atomic():
            RuleRun.objects.create(
                rule=rule,
                rule_version=rule.version,
                object_type=object_type,
                object_id=record_id,
                trigger_detail=detail,
                state=RunState.SKIPPED,
                error=message,
                idempotency_key=f"event:{event_key}"[:200],
                chain=chain,
                finished_at=timezone.now(),
            )
    except IntegrityError:
        pass


def _names(rule_ids: list[int]) -> dict[int, str]:
    return {rule.pk: rule.display_name for rule in Rule.objects.filter(pk__in=rule_ids)}


def loop_error(rule: Rule, automatable: registry.Automatable, record_id: Any, chain: list) -> str:
    """Why `rule` may not run for the record after `chain` (the links that led here), or ""."""
    link = [rule.pk, automatable.object_type, record_id]
    record = automatable.describe(record_id)
    if chain and chain[-1] == link:
        return _(
            "Rule “%(rule)s” changed %(record)s, which triggered it again: stopped to avoid a loop."
        ) % {"rule": rule.display_name, "record": record}
    if link in chain:
        since = chain[chain.index(link) :]
        names = _names([entry[0] for entry in since])
        path = " → ".join(f"“{names.get(entry[0], entry[0])}”" for entry in [*since, link])
        return _(
            "Rules %(rules)s keep triggering each other on %(record)s: stopped to avoid a loop."
        ) % {"rules": path, "record": record}
    if len(chain) + 1 > MAX_CHAIN:
        names = _names([entry[0] for entry in chain])
        path = (
            " → ".join(f"“{names.get(entry[0], entry[0])}”" for entry in chain)
            + f" → “{rule.display_name}”"
        )
        return _(
            "Rules %(rules)s set each other off more than %(max)d times in a row: stopped to "
            "avoid a loop."
        ) % {"rules": path, "max": MAX_CHAIN}
    return ""


def start_run(
    rule: Rule,
    automatable: registry.Automatable,
    record_id: Any,
    *,
    key: str,
    detail: dict[str, Any],
    parent_chain: list,
) -> RuleRun | None:
    """Create the run of `rule` for the record (or its loop_stopped run) and queue it after
    commit. None if a run with this key exists: the event was seen before."""
    link = [rule.pk, automatable.object_type, int(record_id)]
    error = loop_error(rule, automatable, int(record_id), parent_chain)
    try:
        with transaction.atomic():
            run = RuleRun.objects.create(
                rule=rule,
                rule_version=rule.version,
                object_type=automatable.object_type,
                object_id=int(record_id),
                trigger_detail=detail,
                state=RunState.LOOP_STOPPED if error else RunState.QUEUED,
                error=error,
                idempotency_key=key[:200],
                chain=[*parent_chain, link],
                finished_at=timezone.now() if error else None,
            )
    except IntegrityError:
        return None
    if not error:
        transaction.on_commit(partial(_enqueue, run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from . import tasks

    try:
        tasks.run_rule.delay(run_id)
    except Exception:  # the broker is down: the sweep picks the queued run up later
        logger.exception("could not queue automation run %s", run_id)


# --- running -------------------------------------------------------------------------------


class ActionFailed(Exception):
    def __init__(self, index: int, code: str, error: Exception) -> None:
        self.index, self.code, self.error = index, code, error
        super().__init__(str(error))


def describe_error(error: Exception) -> str:
    """A run's error as people read it in the run log."""
    if isinstance(error, ActionFailed):
        action_type = actions.get(error.code)
        label = action_type.label if action_type else error.code
        return _("Action %(n)d (%(action)s) failed: %(error)s") % {
            "n": error.index + 1,
            "action": label,
            "error": describe_error(error.error),
        }
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            return "; ".join(
                f"{name}: {' '.join(str(m) for m in ValidationError(items).messages)}"
                for name, items in error.error_dict.items()
            )
        return " ".join(error.messages)
    if isinstance(error, DomainError):
        return str(error.message)
    return _("Unexpected error: %(error)s") % {"error": f"{type(error).__name__}: {error}"}


def perform(ctx: actions.RunContext, action_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Execute the actions in order with the run's cause set; raise ActionFailed on the first
    failure (the caller's savepoint rolls back what the earlier ones did)."""
    results = []
    token = context.set_cause(
        {
            "run": ctx.run.pk if ctx.run is not None else None,
            "rule": ctx.rule.pk,
            "rule_name": ctx.rule.name,
            "dry_run": ctx.dry_run,
            "chain": ctx.chain,
        }
    )
    try:
        for index, params in enumerate(action_list):
            ctx.index = index
            code = params.get("type", "")
            action_type = actions.get(code)
            try:
                if action_type is None:
                    raise ValidationError(_("Unknown action “%(type)s”.") % {"type": code})
                outcome = action_type.execute(ctx, params)
            except Exception as error:
                raise ActionFailed(index, code, error) from error
            results.append({"type": code, **outcome})
    finally:
        context.reset_cause(token)
    return results


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=BACKOFF_SECONDS * 2 ** (attempts - 1))


def execute(run_id: int, *, now: datetime | None = None) -> RuleRun | None:
    """Run a queued (or failed, due for retry) run once. Safe to call twice."""
    actor = system_actor.get()
    with transaction.atomic():
        run = RuleRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.state not in (RunState.QUEUED, RunState.FAILED):
            return run
        if run.state == RunState.FAILED and run.next_attempt_at is None:
            return run  # gave up
        now = now or timezone.now()
        rule = Rule.objects.get(pk=run.rule_id)
        automatable = registry.get(run.object_type)
        run.attempts += 1
        run.started_at = now
        run.rule_version = rule.version
        chained = (run.trigger_detail or {}).get("topic") == "run_rule"
        record = (
            automatable.restrict(actor).filter(pk=run.object_id).first() if automatable else None
        )
        if rule.retired_at is not None or not (rule.is_active or chained):
            _finish(run, RunState.SKIPPED, _("The rule was turned off before it ran."))
            return run
        if record is None:
            _finish(run, RunState.SKIPPED, _("The record no longer exists."))
            return run
        ctx = actions.RunContext(
            actor=actor,
            rule=rule,
            run=run,
            record=record,
            automatable=automatable,
            chain=run.chain,
        )
        try:
            with transaction.atomic():
                results = perform(ctx, rule.actions)
        except Exception as error:
            if not isinstance(error.__cause__, (ValidationError, DomainError)):
                logger.warning("automation run %s failed", run.pk, exc_info=True)
            retry = run.attempts < MAX_ATTEMPTS
            run.next_attempt_at = now + _backoff(run.attempts) if retry else None
            _finish(run, RunState.FAILED, describe_error(error))
        else:
            run.results = results
            run.next_attempt_at = None
            _finish(run, RunState.SUCCEEDED, "")
    return run


def _finish(run: RuleRun, state: str, error: str) -> None:
    run.state = state
    run.error = error
    run.finished_at = timezone.now()
    run.save()


def runs_retry_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Run the failed runs whose next attempt is due, and queued runs whose message was lost
    (beat runs this every minute). Returns how many were attempted."""
    now = now or timezone.now()
    due = list(
        RuleRun.objects.filter(state=RunState.FAILED, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    lost = list(
        RuleRun.objects.filter(state=RunState.QUEUED, created_at__lte=now - LOST_AFTER)
        .order_by("pk")
        .values_list("pk", flat=True)[: max(0, limit - len(due))]
    )
    for run_id in [*due, *lost]:
        execute(run_id, now=now)
    return len(due) + len(lost)
