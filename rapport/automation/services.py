"""Every write to automation rules, and the dry run.

Rules are administered with `manage` on `automation.rule`. Every save validates the whole
rule at once (one ValidationError naming each bad field; nothing partial is stored), bumps
the version, keeps a `RuleVersion` snapshot and is audited with before/after.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import filterlang, trail
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.models import Action, User

from . import actions, engine, registry, rulecache
from . import actor as system_actor
from .models import Rule, RuleRun, RuleVersion, RunState, Trigger

RULE_FIELDS = (
    "name",
    "name_en",
    "object_type",
    "trigger",
    "trigger_config",
    "condition",
    "actions",
    "is_active",
    "position",
)
EDITABLE = {"name", "name_en", "object_type", "trigger", "trigger_config", "condition", "actions"}
_TOPIC = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
DATE_TYPES = (filterlang.DATE, filterlang.DATETIME)
# The key under which a webhook rule's new token is handed back once (never stored).
NEW_TOKEN = "_token"  # noqa: S105 (the name of a key, not a secret)


def _require_manage(actor: User) -> None:
    if not policy.has_grant(actor, Rule.security_type, Action.MANAGE):
        raise PermissionDenied()


class _Errors:
    def __init__(self) -> None:
        self.by_field: dict[str, list[ValidationError]] = {}

    def add(self, name: str, message: str, code: str = "invalid") -> None:
        self.by_field.setdefault(name, []).append(ValidationError(message, code=code))

    def merge(self, prefix: str, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for name, items in error.error_dict.items():
                for item in items:
                    for message in item.messages:
                        self.add(f"{prefix}.{name}", message, item.code or "invalid")
        else:
            for message in error.messages:
                self.add(prefix, message)

    def __contains__(self, name: str) -> bool:
        return name in self.by_field


def _parse_cron(text: Any) -> str | None:
    """The cron expression "minute hour day-of-month month day-of-week", if celery takes it."""
    from . import triggers

    if triggers.parse_cron(text) is None:
        return None
    return " ".join(str(text).split())


def _clean_trigger(
    trigger: str,
    config: Any,
    automatable: registry.Automatable | None,
    fields: dict[str, filterlang.FilterField],
    errors: _Errors,
    rule: Rule | None,
) -> dict[str, Any]:
    if config in (None, ""):
        config = {}
    if not isinstance(config, dict):
        errors.add("trigger_config", _("Give the trigger's settings as {name: value}."))
        return {}
    allowed = {
        Trigger.CREATED: set(),
        Trigger.UPDATED: {"field", "to"},
        Trigger.STAGE_CHANGED: {"to"},
        Trigger.DATE_REACHED: {"field", "offset_days", "at"},
        Trigger.SCHEDULE: {"cron", "last_slot"},
        Trigger.WEBHOOK: {"token", "token_hash", "token_hint", "regenerate"},
        Trigger.EVENT: {"topic"},
    }.get(trigger, set())
    for name in sorted(set(config) - allowed):
        errors.add(f"trigger_config.{name}", _("Unknown setting."), "unknown_field")
    cleaned = {name: config[name] for name in allowed if name in config}
    previous_config = (rule.trigger_config or {}) if rule is not None else {}

    def check_value(name: str, value: Any, key: str) -> None:
        try:
            filterlang.validate({"field": name, "op": "=", "value": value}, fields)
        except ValidationError as error:
            for message in error.messages:
                errors.add(key, message)

    if trigger == Trigger.UPDATED:
        field = cleaned.get("field")
        if field not in (None, "") and field not in fields:
            errors.add(
                "trigger_config.field",
                _("There is no field “%(name)s” to watch.") % {"name": field},
                "unknown_field",
            )
        elif "to" in cleaned and not field:
            errors.add("trigger_config.field", _("Say which field changes to the value."))
        elif "to" in cleaned:
            check_value(field, cleaned["to"], "trigger_config.to")
        if not field:
            cleaned.pop("field", None)
    elif trigger == Trigger.STAGE_CHANGED:
        if automatable is not None and not automatable.stage_field:
            errors.add("trigger", _("Records of this type have no stage."), "not_applicable")
        elif automatable is not None and cleaned.get("to") not in (None, ""):
            check_value(automatable.stage_field, cleaned["to"], "trigger_config.to")
    elif trigger == Trigger.DATE_REACHED:
        field = cleaned.get("field")
        offered = automatable.date_fields if automatable is not None else ()
        if (
            field not in fields
            or fields[field].type not in DATE_TYPES
            or not (field in offered or str(field).startswith("cf."))
        ):
            errors.add(
                "trigger_config.field",
                _("Choose a date field of the record (“%(name)s” is not one).")
                % {"name": field or ""},
                "invalid",
            )
        offset = cleaned.get("offset_days", 0)
        if isinstance(offset, bool) or not isinstance(offset, int) or not -3650 <= offset <= 3650:
            errors.add(
                "trigger_config.offset_days",
                _("Enter a whole number of days between -3650 and 3650."),
            )
        cleaned["offset_days"] = offset if isinstance(offset, int) else 0
        if "at" in cleaned and not _TIME.match(str(cleaned["at"])):
            errors.add("trigger_config.at", _("Give a time of day as HH:MM, e.g. 09:00."))
    elif trigger == Trigger.SCHEDULE:
        cron = _parse_cron(cleaned.get("cron"))
        if cron is None:
            errors.add(
                "trigger_config.cron",
                _(
                    "“%(value)s” is not a valid cron expression: give minute, hour, day of "
                    "month, month and day of week, e.g. “0 9 * * 1-5”."
                )
                % {"value": cleaned.get("cron") or ""},
                "invalid_cron",
            )
        else:
            cleaned["cron"] = cron
        # where the schedule stands (engine state, see triggers.schedule_tick): kept as it is
        cleaned.pop("last_slot", None)
        if previous_config.get("last_slot") and rule is not None and rule.trigger == trigger:
            cleaned["last_slot"] = previous_config["last_slot"]
    elif trigger == Trigger.WEBHOOK:
        _clean_webhook_token(cleaned, previous_config, errors)
    elif trigger == Trigger.EVENT:
        topic = cleaned.get("topic")
        declared = registry.topic(topic) if isinstance(topic, str) else None
        if not isinstance(topic, str) or not _TOPIC.match(topic) or len(topic) > 100:
            errors.add(
                "trigger_config.topic",
                _("Name the event, e.g. ticket.sla_breached."),
                "invalid",
            )
        elif declared is None:
            known = ", ".join(sorted(registry.topics())) or "—"
            errors.add(
                "trigger_config.topic",
                _("There is no event “%(topic)s”; choose one of: %(choices)s.")
                % {"topic": topic, "choices": known},
                "unknown_topic",
            )
        elif automatable is not None and declared.object_type != automatable.object_type:
            errors.add(
                "trigger_config.topic",
                _("The event “%(topic)s” is about another type of record (%(type)s).")
                % {"topic": topic, "type": declared.object_type},
                "wrong_type",
            )
    return cleaned


def webhook_token_hash(token: str) -> str:
    """How a webhook rule's token is kept: its SHA-256 (the token itself is shown once)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _clean_webhook_token(
    cleaned: dict[str, Any], previous: dict[str, Any], errors: _Errors
) -> None:
    """Keep the rule's token, or make one (a new rule, or `regenerate`). The new token itself
    is handed back once as `_token` (popped before saving); only its hash is stored."""
    given_hash = cleaned.pop("token_hash", None)
    cleaned.pop("token_hint", None)
    regenerate = cleaned.pop("regenerate", False)
    if "token" in cleaned:
        cleaned.pop("token")
        errors.add("trigger_config.token", _("The token is generated; leave it out."))
    if given_hash not in (None, previous.get("token_hash")):
        errors.add("trigger_config.token_hash", _("The token is generated; leave it out."))
    if not isinstance(regenerate, bool):
        errors.add("trigger_config.regenerate", _("Use true or false."))
        regenerate = False
    if previous.get("token_hash") and not regenerate:
        cleaned["token_hash"] = previous["token_hash"]
        cleaned["token_hint"] = previous.get("token_hint", "")
        return
    token = secrets.token_urlsafe(32)
    cleaned["token_hash"] = webhook_token_hash(token)
    cleaned["token_hint"] = token[:4]
    cleaned[NEW_TOKEN] = token


def _clean(actor: User, values: dict[str, Any], rule: Rule | None) -> dict[str, Any]:
    """Normalise and validate a rule (all of its fields together); one ValidationError naming
    every bad field."""
    errors = _Errors()
    merged = {name: getattr(rule, name) for name in RULE_FIELDS} if rule is not None else {}
    merged.update(values)
    cleaned = dict(values)
    for name, limit in (("name", 200), ("name_en", 200)):
        if name in values or rule is None:
            text = str(merged.get(name) or "").strip()
            cleaned[name] = text
            if name == "name" and not text:
                errors.add("name", _("Give the rule a name."), "required")
            elif len(text) > limit:
                errors.add(name, _("At most %(n)d characters.") % {"n": limit}, "max_length")
    object_type = str(merged.get("object_type") or "")
    automatable = registry.rule_types().get(object_type)
    if automatable is None:
        errors.add(
            "object_type",
            _("“%(type)s” is not a record type rules can act on.") % {"type": object_type},
            "unknown_type",
        )
    fields = filterlang.fields_for(actor, object_type) if automatable is not None else {}
    trigger = str(merged.get("trigger") or "")
    if trigger not in Trigger.values:
        errors.add(
            "trigger",
            _("“%(value)s” is not a trigger; choose one of: %(choices)s.")
            % {"value": trigger, "choices": ", ".join(Trigger.values)},
            "invalid_choice",
        )
    else:
        cleaned["trigger_config"] = _clean_trigger(
            trigger, merged.get("trigger_config"), automatable, fields, errors, rule
        )
    condition = merged.get("condition")
    if condition in (None, "", {}):
        condition = {"and": []}
    if automatable is not None:
        try:
            tree = filterlang.parse(condition) if isinstance(condition, str) else condition
            filterlang.validate(tree, fields, filterlang.Context(user_id=actor.pk))
        except ValidationError as error:
            for message in error.messages:
                errors.add("condition", message)
        else:
            cleaned["condition"] = tree  # kept as written: relative dates stay relative
    action_list = merged.get("actions")
    if action_list in (None, ""):
        action_list = []
    if not isinstance(action_list, list) or not action_list:
        errors.add("actions", _("Add at least one action."), "required")
    elif len(action_list) > actions.MAX_ACTIONS:
        errors.add("actions", _("At most %(n)d actions.") % {"n": actions.MAX_ACTIONS})
    elif automatable is not None:
        clean_context = actions.CleanContext(actor=actor, automatable=automatable, rule=rule)
        cleaned_actions = []
        for index, params in enumerate(action_list):
            prefix = f"actions[{index}]"
            code = params.get("type") if isinstance(params, dict) else None
            action_type = actions.get(code) if isinstance(code, str) else None
            if action_type is None:
                errors.add(
                    f"{prefix}.type",
                    _("“%(type)s” is not an action; choose one of: %(choices)s.")
                    % {"type": code, "choices": ", ".join(actions.codes())},
                    "unknown_action",
                )
                continue
            try:
                cleaned_actions.append(
                    {"type": code, **action_type.clean(dict(params), clean_context)}
                )
            except ValidationError as error:
                errors.merge(prefix, error)
        cleaned["actions"] = cleaned_actions
    if "is_active" in values:
        cleaned["is_active"] = bool(values["is_active"])
    if "position" in values:
        position = values["position"]
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            errors.add("position", _("Enter a whole number of 0 or more."))
    for name in ("object_type", "trigger"):
        if name in values or rule is None:
            cleaned[name] = str(merged.get(name) or "")
    if errors.by_field:
        raise ValidationError(errors.by_field)
    return cleaned


def _snapshot(rule: Rule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in RULE_FIELDS}


def _keep_version(actor: User, rule: Rule) -> None:
    RuleVersion.objects.create(
        rule=rule, version=rule.version, snapshot=_snapshot(rule), created_by=actor
    )


def rule_create(*, actor: User, **values: Any) -> Rule:
    """Create a rule (off unless `is_active`), validated as a whole. Version 1 is kept;
    audited."""
    _require_manage(actor)
    unknown = set(values) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), code="unknown_field") for name in unknown}
        )
    cleaned = _clean(actor, values, None)
    token = _pop_new_token(cleaned)
    with transaction.atomic():
        if "position" not in cleaned:
            highest = Rule.objects.filter(object_type=cleaned["object_type"]).aggregate(
                Max("position")
            )["position__max"]
            cleaned["position"] = 0 if highest is None else highest + 1
        rule = Rule.objects.create(created_by=actor, version=1, **cleaned)
        _keep_version(actor, rule)
        trail.record(
            actor=actor,
            action="automation.rule_create",
            target=rule,
            changes=trail.diff({}, _snapshot(rule)),
            extra={"version": rule.version},
        )
        rulecache.invalidate()
    if token:
        rule.webhook_token = token
    return rule


def _pop_new_token(cleaned: dict[str, Any]) -> str:
    """A webhook rule's new token, out of the settings to store (shown once, never kept)."""
    config = cleaned.get("trigger_config")
    if isinstance(config, dict) and NEW_TOKEN in config:
        config = dict(config)
        token = config.pop(NEW_TOKEN)
        cleaned["trigger_config"] = config
        return token
    return ""


def _save(actor: User, rule: Rule, cleaned: dict[str, Any], action: str) -> Rule:
    before = _snapshot(rule)
    for name, value in cleaned.items():
        setattr(rule, name, value)
    changes = trail.diff(before, _snapshot(rule))
    if not changes:
        return rule
    with transaction.atomic():
        locked = Rule.objects.select_for_update().get(pk=rule.pk)
        rule.version = locked.version + 1
        rule.save()
        _keep_version(actor, rule)
        trail.record(
            actor=actor,
            action=action,
            target=rule,
            changes=changes,
            extra={"version": rule.version},
        )
        rulecache.invalidate()
    return rule


def rule_update(*, actor: User, rule: Rule, **values: Any) -> Rule:
    """Change a rule; validated as a whole with the change applied. A change bumps the
    version and keeps a snapshot; audited with before/after."""
    _require_manage(actor)
    unknown = set(values) - EDITABLE
    if unknown:
        raise ValidationError(
            {
                name: ValidationError(_("This field cannot be changed here."), code="unknown_field")
                for name in unknown
            }
        )
    _check_not_retired(rule)
    cleaned = _clean(actor, values, rule)
    token = _pop_new_token(cleaned)
    rule = _save(actor, rule, cleaned, "automation.rule_update")
    if token:
        rule.webhook_token = token
    return rule


def _check_not_retired(rule: Rule) -> None:
    if rule.retired_at is not None:
        raise ValidationError(
            {"rule": ValidationError(_("This rule has been deleted."), code="retired")}
        )


def rule_activate(*, actor: User, rule: Rule) -> Rule:
    """Turn a rule on (checked again: what it names may have gone since it was saved)."""
    _require_manage(actor)
    _check_not_retired(rule)
    if rule.is_active:
        return rule
    _clean(actor, {name: getattr(rule, name) for name in EDITABLE}, rule)
    return _save(actor, rule, {"is_active": True}, "automation.rule_activate")


def rule_deactivate(*, actor: User, rule: Rule) -> Rule:
    """Turn a rule off; queued runs of it are skipped."""
    _require_manage(actor)
    if not rule.is_active:
        return rule
    return _save(actor, rule, {"is_active": False}, "automation.rule_deactivate")


def rule_move(*, actor: User, rule: Rule, offset: int) -> Rule:
    """Move the rule `offset` places among the rules of its record type (they run in this
    order for the same event)."""
    _require_manage(actor)
    _check_not_retired(rule)
    with transaction.atomic():
        siblings = list(
            Rule.objects.select_for_update()
            .filter(object_type=rule.object_type, retired_at__isnull=True)
            .order_by("position", "id")
        )
        ids = [sibling.pk for sibling in siblings]
        index = ids.index(rule.pk)
        target = max(0, min(len(ids) - 1, index + offset))
        if target == index:
            return rule
        ids.insert(target, ids.pop(index))
        by_id = {sibling.pk: sibling for sibling in siblings}
        for position, pk in enumerate(ids):
            sibling = by_id[pk]
            if sibling.position != position:
                Rule.objects.filter(pk=pk).update(position=position)
                sibling.position = position
        rule.position = by_id[rule.pk].position
        trail.record(
            actor=actor,
            action="automation.rule_move",
            target=rule,
            changes={"position": [index, target]},
        )
        rulecache.invalidate()
    return rule


def rule_retire(*, actor: User, rule: Rule) -> Rule:
    """Delete a rule from use: it stops and leaves the lists, its runs and versions stay
    (the run log keeps pointing at what ran)."""
    _require_manage(actor)
    if rule.retired_at is not None:
        return rule
    with transaction.atomic():
        rule.retired_at = timezone.now()
        was_active = rule.is_active
        rule.is_active = False
        rule.save(update_fields=["retired_at", "is_active", "updated_at"])
        trail.record(
            actor=actor,
            action="automation.rule_retire",
            target=rule,
            changes={"is_active": [was_active, False]},
        )
        rulecache.invalidate()
    return rule


class _DryRunDone(Exception):
    def __init__(self, results: list[dict[str, Any]]) -> None:
        self.results = results


def rule_dry_run(*, actor: User, rule: Rule, record_id: int) -> RuleRun:
    """What the rule would do to one record, without changing anything: whether its
    condition holds, and each action's changes, computed in a transaction that is rolled
    back. Kept as a `dry_run` run in the rule's log; audited."""
    _require_manage(actor)
    automatable = registry.get(rule.object_type)
    if automatable is None:
        raise ValidationError(
            {"object_type": ValidationError(_("Rules cannot act on this type."), code="unknown")}
        )
    record = policy.get_for(actor, Action.VIEW, automatable.model, record_id)
    system = system_actor.get()
    error = ""
    results: list[dict[str, Any]] = []
    try:
        holds = engine.condition_holds(rule, automatable, record.pk, system)
    except ValidationError as problem:
        holds = False
        error = engine.describe_error(problem)
    if not error:
        try:
            with transaction.atomic():
                ctx = actions.RunContext(
                    actor=system,
                    rule=rule,
                    run=None,
                    record=automatable.restrict(system).get(pk=record.pk),
                    automatable=automatable,
                    dry_run=True,
                )
                raise _DryRunDone(engine.perform(ctx, rule.actions))
        except _DryRunDone as done:
            results = done.results
        except Exception as problem:
            error = engine.describe_error(problem)
    with transaction.atomic():
        run = RuleRun.objects.create(
            rule=rule,
            rule_version=rule.version,
            object_type=rule.object_type,
            object_id=record.pk,
            trigger_detail={"topic": "dry_run", "by": actor.pk, "condition": holds},
            state=RunState.DRY_RUN,
            error=error,
            results=results,
            idempotency_key=f"dry:{uuid.uuid4().hex}",
            chain=[],
            started_at=timezone.now(),
            finished_at=timezone.now(),
        )
        trail.record(
            actor=actor,
            action="automation.rule_dry_run",
            target=rule,
            extra={"run": run.pk, "object_type": rule.object_type, "object_id": record.pk},
        )
    return run
