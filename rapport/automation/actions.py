"""What a rule can do, one registered action type per kind of step.

An action type has two halves: `clean(params, ctx)` checks its settings when the rule is
saved (raising a ValidationError keyed by parameter name; nothing is stored if any is bad),
and `execute(run, params)` does it through the domain services as the system actor, inside
the run's transaction, returning what it changed for the run log. Later kinds (e-mail/SMS
from a template, outgoing webhook, start approval) register the same way:

    actions.register(ActionType("send_email", _("Send an e-mail"), clean=..., execute=...))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core import filterlang
from rapport.core.customfields import rules as custom_field_rules
from rapport.core.customfields import values as custom_values
from rapport.identity.models import Team, User

from .registry import Automatable

MAX_ACTIONS = 20


@dataclass
class CleanContext:
    """What an action's settings are checked against when a rule is saved."""

    actor: Any  # who saves the rule
    automatable: Automatable
    rule: Any | None  # the rule being changed (None while creating)


@dataclass
class RunContext:
    """One run of a rule for one record, while its actions execute."""

    actor: User  # the system actor
    rule: Any
    run: Any | None  # None in a dry run
    record: models.Model
    automatable: Automatable
    chain: list = field(default_factory=list)
    dry_run: bool = False
    index: int = 0  # of the action executing


@dataclass(frozen=True)
class ActionType:
    code: str
    label: Any
    clean: Callable[[dict[str, Any], CleanContext], dict[str, Any]]
    execute: Callable[[RunContext, dict[str, Any]], dict[str, Any]]


_types: dict[str, ActionType] = {}


def register(action_type: ActionType) -> None:
    _types[action_type.code] = action_type


def get(code: str) -> ActionType | None:
    return _types.get(code)


def codes() -> list[str]:
    return list(_types)


# --- helpers -------------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.by_field: dict[str, list[ValidationError]] = {}

    def add(self, name: str, message: str, code: str = "invalid") -> None:
        self.by_field.setdefault(name, []).append(ValidationError(message, code=code))

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def _only(params: dict[str, Any], allowed: set[str], errors: _Errors) -> None:
    for name in sorted(set(params) - allowed - {"type"}):
        errors.add(name, _("Unknown setting."), "unknown_field")


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _active_user(value: Any, name: str, errors: _Errors) -> User | None:
    from . import actor as system_actor

    user_id = _int(value)
    user = User.objects.filter(pk=user_id).first() if user_id is not None else None
    if user is None or user.username == system_actor.USERNAME:
        errors.add(name, _("There is no user %(id)s.") % {"id": value}, "unknown_user")
        return None
    if not user.is_active:
        errors.add(name, _("The user “%(user)s” is deactivated.") % {"user": user}, "inactive_user")
        return None
    return user


def _recipient(ctx: RunContext, to: Any) -> User | None:
    if to == "owner":
        owner_id = getattr(ctx.record, f"{ctx.automatable.owner_field}_id", None)
        return User.objects.filter(pk=owner_id).first() if owner_id else None
    return User.objects.filter(pk=_int(to)).first()


# --- update fields -------------------------------------------------------------------------


def _clean_update(params: dict[str, Any], ctx: CleanContext) -> dict[str, Any]:
    errors = _Errors()
    _only(params, {"values"}, errors)
    values = params.get("values")
    if not isinstance(values, dict) or not values:
        errors.add("values", _("Give the fields to set as {field: value}."), "required")
        errors.raise_if_any()
    automatable = ctx.automatable
    filter_fields = filterlang.fields_for(ctx.actor, automatable.object_type)
    for name, value in values.items():
        key = custom_field_rules.key_of(name)
        if key is not None:
            try:
                custom_values.clean(
                    automatable.object_type, {key: value}, current={}, creating=False
                )
            except ValidationError as error:
                for message in error.messages:
                    errors.add(f"values.{name}", message)
            continue
        if automatable.updatable is not None and name not in automatable.updatable:
            errors.add(f"values.{name}", _("Rules cannot set this field."), "not_updatable")
            continue
        if isinstance(value, (dict, list)):
            errors.add(f"values.{name}", _("Give one value."), "invalid")
            continue
        if name in filter_fields and filter_fields[name].choices:
            try:  # the filter language knows the field's values and their types
                filterlang.validate(
                    {"field": name, "op": "=", "value": value}, {name: filter_fields[name]}
                )
            except ValidationError as error:
                for message in error.messages:
                    errors.add(f"values.{name}", message)
                continue
        if automatable.check_value is not None:
            problem = automatable.check_value(name, value)
            if problem:
                errors.add(f"values.{name}", problem)
    errors.raise_if_any()
    return {"values": dict(values)}


def _service_values(values: dict[str, Any]) -> dict[str, Any]:
    """Rule values ("cf.<key>" for custom fields) as the update service takes them."""
    plain: dict[str, Any] = {}
    for name, value in values.items():
        key = custom_field_rules.key_of(name)
        if key is not None:
            plain.setdefault("custom", {})[key] = value
        else:
            plain[name] = value
    return plain


def _execute_update(ctx: RunContext, params: dict[str, Any]) -> dict[str, Any]:
    values = _service_values(params["values"])
    record = ctx.record
    before = {name: _plain(getattr(record, name, None)) for name in values}
    if "custom" in before:
        before["custom"] = dict(before["custom"] or {})
    record = ctx.automatable.update(ctx.actor, record, values)
    ctx.record = record
    changes = {}
    for name in values:
        after = _plain(getattr(record, name, None))
        if name == "custom":
            for key in values["custom"]:
                old, new = (before["custom"] or {}).get(key), (after or {}).get(key)
                if old != new:
                    changes[custom_field_rules.rule_name(key)] = [old, new]
        elif before[name] != after:
            changes[name] = [before[name], after]
    return {"changes": changes}


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# --- assign owner --------------------------------------------------------------------------


def _clean_assign(params: dict[str, Any], ctx: CleanContext) -> dict[str, Any]:
    errors = _Errors()
    _only(params, {"user", "round_robin"}, errors)
    if ctx.automatable.assign is None:
        errors.add("type", _("Records of this type have no owner to assign."), "not_applicable")
        errors.raise_if_any()
    if ("user" in params) == ("round_robin" in params):
        errors.add("user", _("Give either a user or a round robin."), "required")
        errors.raise_if_any()
    if "user" in params:
        user = _active_user(params["user"], "user", errors)
        errors.raise_if_any()
        return {"user": user.pk}
    spec = params["round_robin"]
    if not isinstance(spec, dict) or ("team" in spec) == ("users" in spec) or len(spec) != 1:
        errors.add("round_robin", _("Give a team {team: id} or users {users: [id, …]}."), "invalid")
        errors.raise_if_any()
    if "team" in spec:
        team = Team.objects.filter(pk=_int(spec["team"])).first()
        if team is None:
            errors.add("round_robin.team", _("There is no team %(id)s.") % {"id": spec["team"]})
        elif not _team_users(team.pk):
            errors.add(
                "round_robin.team",
                _("The team “%(team)s” has no active members.") % {"team": team.name},
                "empty_team",
            )
        errors.raise_if_any()
        return {"round_robin": {"team": team.pk}}
    users = spec["users"]
    if not isinstance(users, list) or not users or len(users) > 200:
        errors.add("round_robin.users", _("List between 1 and 200 users."), "invalid")
        errors.raise_if_any()
    ids = []
    for value in users:
        user = _active_user(value, "round_robin.users", errors)
        if user is not None and user.pk not in ids:
            ids.append(user.pk)
    errors.raise_if_any()
    return {"round_robin": {"users": ids}}


def _team_users(team_id: int) -> list[int]:
    from django.db.models import Q

    from . import actor as system_actor

    return list(
        User.objects.filter(Q(teams=team_id) | Q(led_teams=team_id), is_active=True)
        .exclude(username=system_actor.USERNAME)
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )


def _next_in_turn(ctx: RunContext, spec: dict[str, Any]) -> User:
    """The next user in the rule's round robin. The cursor row is locked until the run's
    transaction ends, so two runs at once never pick the same turn."""
    from .models import RuleCursor

    if "team" in spec:
        candidates = _team_users(spec["team"])
    else:
        active = set(
            User.objects.filter(pk__in=spec["users"], is_active=True).values_list("pk", flat=True)
        )
        candidates = [pk for pk in spec["users"] if pk in active]
    if not candidates:
        raise ValidationError(
            {"round_robin": ValidationError(_("Nobody is left to assign to."), code="empty")}
        )
    RuleCursor.objects.get_or_create(rule=ctx.rule, key=f"assign:{ctx.index}")
    cursor = RuleCursor.objects.select_for_update().get(rule=ctx.rule, key=f"assign:{ctx.index}")
    ordered = sorted(candidates) if "team" in spec else candidates
    if cursor.last_user_id in ordered:
        chosen = ordered[(ordered.index(cursor.last_user_id) + 1) % len(ordered)]
    else:  # first turn, or the last one left the list: the next one after them by id
        later = [pk for pk in ordered if cursor.last_user_id is None or pk > cursor.last_user_id]
        chosen = later[0] if later else ordered[0]
    cursor.last_user_id = chosen
    cursor.save(update_fields=["last_user_id"])
    return User.objects.get(pk=chosen)


def _execute_assign(ctx: RunContext, params: dict[str, Any]) -> dict[str, Any]:
    if "user" in params:
        owner = User.objects.filter(pk=params["user"]).first()
        if owner is None:
            raise ValidationError({"user": _("There is no user %(id)s.") % {"id": params["user"]}})
    else:
        owner = _next_in_turn(ctx, params["round_robin"])
    before = getattr(ctx.record, f"{ctx.automatable.owner_field}_id", None)
    ctx.record = ctx.automatable.assign(ctx.actor, ctx.record, owner)
    return {"changes": {"owner": [before, owner.pk]} if before != owner.pk else {}}


# --- tags ----------------------------------------------------------------------------------


def _clean_tags(params: dict[str, Any], ctx: CleanContext, *, adding: bool) -> dict[str, Any]:
    from rapport.core.models import Tag

    errors = _Errors()
    _only(params, {"tags"}, errors)
    if not ctx.automatable.taggable:
        errors.add("type", _("Records of this type cannot carry tags."), "not_taggable")
        errors.raise_if_any()
    given = params.get("tags")
    ids = [_int(value) for value in given] if isinstance(given, list) else []
    if not ids or None in ids:
        errors.add("tags", _("List the tags by id."), "required")
        errors.raise_if_any()
    found = {tag.pk: tag for tag in Tag.objects.filter(pk__in=ids)}
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        errors.add("tags", _("There is no tag %(ids)s.") % {"ids": ", ".join(missing)}, "unknown")
    retired = [tag for tag in found.values() if not tag.is_active]
    if adding and retired:
        errors.add(
            "tags",
            _("The tag “%(name)s” is deactivated and cannot be applied.") % {"name": retired[0]},
            "inactive",
        )
    errors.raise_if_any()
    return {"tags": list(dict.fromkeys(ids))}


def _execute_tags(ctx: RunContext, params: dict[str, Any], *, adding: bool) -> dict[str, Any]:
    from rapport.core.models import Tag
    from rapport.core.tags import services as tag_services

    tags = list(Tag.objects.filter(pk__in=params["tags"]))
    apply = tag_services.records_tag if adding else tag_services.records_untag
    changed = apply(actor=ctx.actor, records=[ctx.record], tags=tags)
    return {"changes": {"tags": [tag.pk for tag in tags]} if changed else {}}


# --- create task ---------------------------------------------------------------------------

PRIORITIES = ("low", "normal", "high")


def _clean_task(params: dict[str, Any], ctx: CleanContext) -> dict[str, Any]:
    errors = _Errors()
    _only(params, {"subject", "due_in_days", "due_in_hours", "assignee", "priority"}, errors)
    if ctx.automatable.task_about is None:
        errors.add("type", _("Tasks cannot be created for this type of record."), "not_applicable")
        errors.raise_if_any()
    cleaned: dict[str, Any] = {}
    subject = str(params.get("subject") or "").strip()
    if not subject:
        errors.add("subject", _("Enter a subject."), "required")
    elif len(subject) > 200:
        errors.add("subject", _("At most %(n)d characters.") % {"n": 200}, "max_length")
    cleaned["subject"] = subject
    for name, limit in (("due_in_days", 3650), ("due_in_hours", 24 * 3650)):
        if params.get(name) in (None, ""):
            continue
        number = _int(params[name])
        if number is None or not 0 <= number <= limit:
            errors.add(
                name, _("Enter a whole number between 0 and %(max)d.") % {"max": limit}, "invalid"
            )
        else:
            cleaned[name] = number
    assignee = params.get("assignee", "owner")
    if assignee == "owner":
        cleaned["assignee"] = "owner"
    else:
        user = _active_user(assignee, "assignee", errors)
        cleaned["assignee"] = user.pk if user else None
    priority = params.get("priority") or "normal"
    if priority not in PRIORITIES:
        errors.add(
            "priority",
            _("“%(value)s” is not one of: %(choices)s.")
            % {"value": priority, "choices": ", ".join(PRIORITIES)},
            "invalid_choice",
        )
    cleaned["priority"] = priority
    errors.raise_if_any()
    return cleaned


def _execute_task(ctx: RunContext, params: dict[str, Any]) -> dict[str, Any]:
    from rapport.customers import services as customer_services

    due = None
    if "due_in_days" in params or "due_in_hours" in params:
        due = timezone.now() + timedelta(
            days=params.get("due_in_days", 0), hours=params.get("due_in_hours", 0)
        )
    assignee = _recipient(ctx, params["assignee"])
    about = ctx.automatable.task_about(ctx.record)
    task = customer_services.task_create(
        actor=ctx.actor,
        subject=params["subject"],
        due_at=due,
        assignee=assignee,
        priority=params["priority"],
        **about,
    )
    return {
        "created": {"type": task.security_type, "id": task.pk},
        "changes": {
            "subject": params["subject"],
            "assignee": task.assignee_id,
            "due_at": due.isoformat() if due else None,
        },
    }


# --- notify --------------------------------------------------------------------------------

MESSAGE_KEY = "automation.rule_message"


def _clean_notify(params: dict[str, Any], ctx: CleanContext) -> dict[str, Any]:
    errors = _Errors()
    _only(params, {"to", "message"}, errors)
    to = params.get("to", "owner")
    cleaned: dict[str, Any] = {"to": "owner"}
    if to != "owner":
        user = _active_user(to, "to", errors)
        cleaned["to"] = user.pk if user else None
    message = str(params.get("message") or "").strip()
    if not message:
        errors.add("message", _("Write the message."), "required")
    elif len(message) > 500:
        errors.add("message", _("At most %(n)d characters.") % {"n": 500}, "max_length")
    cleaned["message"] = message
    errors.raise_if_any()
    return cleaned


def _execute_notify(ctx: RunContext, params: dict[str, Any]) -> dict[str, Any]:
    from rapport.core.notifications.services import notify

    recipient = _recipient(ctx, params["to"])
    key = f"automation:{ctx.run.pk}:{ctx.index}" if ctx.run is not None else None
    notification = notify(
        recipient=recipient,
        kind="automation.rule",
        message_key=MESSAGE_KEY,
        params={"rule": ctx.rule.name, "message": params["message"], "record": str(ctx.record)},
        target=ctx.record,
        idempotency_key=key,
    )
    return {
        "changes": {"to": recipient.pk if recipient else None, "message": params["message"]},
        "delivered": notification is not None,
    }


# --- run another rule ----------------------------------------------------------------------


def _clean_run_rule(params: dict[str, Any], ctx: CleanContext) -> dict[str, Any]:
    from .models import Rule

    errors = _Errors()
    _only(params, {"rule"}, errors)
    rule_id = _int(params.get("rule"))
    target = Rule.objects.filter(pk=rule_id, retired_at__isnull=True).first()
    if target is None:
        errors.add("rule", _("There is no rule %(id)s.") % {"id": params.get("rule")}, "unknown")
    elif target.object_type != ctx.automatable.object_type:
        errors.add("rule", _("That rule acts on another type of record."), "wrong_type")
    elif ctx.rule is not None and target.pk == ctx.rule.pk:
        errors.add("rule", _("A rule cannot run itself."), "loop")
    errors.raise_if_any()
    return {"rule": target.pk}


def _execute_run_rule(ctx: RunContext, params: dict[str, Any]) -> dict[str, Any]:
    from . import engine
    from .models import Rule

    target = Rule.objects.filter(pk=params["rule"], retired_at__isnull=True).first()
    if target is None:
        raise ValidationError(
            {"rule": ValidationError(_("The rule to run no longer exists."), code="unknown")}
        )
    if ctx.dry_run:
        return {"changes": {"rule": target.pk, "rule_name": target.name}}
    child = engine.start_run(
        target,
        ctx.automatable,
        ctx.record.pk,
        key=f"run:{ctx.run.pk}:{ctx.index}",
        detail={"topic": "run_rule", "run": ctx.run.pk, "rule": ctx.rule.pk},
        parent_chain=ctx.chain,
    )
    return {
        "changes": {"rule": target.pk, "rule_name": target.name},
        "run": child.pk if child else None,
    }


# --- e-mail / SMS from a template -----------------------------------------------------------

LANGUAGES = ("zh-hans", "en")
MESSAGE_LIMITS = {"email": {"subject": 200, "body": 10000}, "sms": {"body": 500}}


def _clean_message(params: dict[str, Any], ctx: CleanContext, *, channel: str) -> dict[str, Any]:
    from rapport.customers.models import ConsentPurpose

    from . import messaging

    errors = _Errors()
    limits = MESSAGE_LIMITS[channel]
    texts = [name for part in limits for name in (part, f"{part}_en")]
    _only(params, {*texts, "language", "purpose"}, errors)
    if ctx.automatable.contacts is None:
        errors.add(
            "type", _("Records of this type have no contacts to write to."), "not_applicable"
        )
        errors.raise_if_any()
    allowed = {
        *messaging.placeholder_fields(ctx.actor, ctx.automatable),
        *messaging.CONTACT_PLACEHOLDERS,
    }
    cleaned: dict[str, Any] = {}
    for name in texts:
        text = str(params.get(name) or "").strip()
        limit = limits[name.removesuffix("_en")]
        if not text:
            if not name.endswith("_en"):
                required = _("Write the subject.") if name == "subject" else _("Write the message.")
                errors.add(name, required, "required")
            continue
        if len(text) > limit:
            errors.add(name, _("At most %(n)d characters.") % {"n": limit}, "max_length")
        for problem in messaging.template_errors(text, allowed):
            errors.add(name, problem, "invalid_placeholder")
        cleaned[name] = text
    language = params.get("language") or "zh-hans"
    if language not in LANGUAGES:
        errors.add(
            "language",
            _("“%(value)s” is not one of: %(choices)s.")
            % {"value": language, "choices": ", ".join(LANGUAGES)},
            "invalid_choice",
        )
    cleaned["language"] = language
    purpose = params.get("purpose") or ConsentPurpose.MARKETING
    if purpose not in ConsentPurpose.values:
        errors.add(
            "purpose",
            _("“%(value)s” is not one of: %(choices)s.")
            % {"value": purpose, "choices": ", ".join(ConsentPurpose.values)},
            "invalid_choice",
        )
    cleaned["purpose"] = str(purpose)
    errors.raise_if_any()
    return cleaned


def _execute_message(ctx: RunContext, params: dict[str, Any], *, channel: str) -> dict[str, Any]:
    from functools import partial

    from django.core.mail import send_mail
    from django.db import transaction

    from rapport.core import sms
    from rapport.customers.querysets import contactable

    from . import messaging

    if ctx.automatable.contacts is None:
        raise ValidationError(_("Records of this type have no contacts to write to."))
    purpose = params.get("purpose", "marketing")
    contacts = list(ctx.automatable.contacts(ctx.record).order_by("pk"))
    allowed = set(
        contactable(
            ctx.automatable.contacts(ctx.record), channel=channel, purpose=purpose
        ).values_list("pk", flat=True)
    )
    english = params.get("language") == "en"

    def text(part: str) -> str:
        return (params.get(f"{part}_en") if english else "") or params.get(part, "")

    fields = messaging.placeholder_fields(ctx.actor, ctx.automatable)
    sent: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    backend = sms.sms_backend() if channel == "sms" and not ctx.dry_run else None
    for contact in contacts:
        if contact.pk not in allowed:
            skipped.append(
                {
                    "contact": contact.pk,
                    "reason": "no_consent",
                    "message": _("No consent to be contacted by %(channel)s for %(purpose)s.")
                    % {"channel": channel, "purpose": purpose},
                }
            )
            continue
        addresses = [
            a for a in (contact.emails if channel == "email" else contact.phones) or [] if a
        ]
        if not addresses:
            skipped.append(
                {
                    "contact": contact.pk,
                    "reason": "no_address",
                    "message": _("No e-mail address.")
                    if channel == "email"
                    else _("No mobile number."),
                }
            )
            continue
        to = str(addresses[0])
        body = messaging.render(text("body"), ctx.record, fields, contact)
        if channel == "email":
            subject = messaging.render(text("subject"), ctx.record, fields, contact)
            subject = " ".join(subject.split())  # no header injection through a value
            if not ctx.dry_run:
                # robust: one undeliverable message neither stops the others nor the run
                transaction.on_commit(
                    partial(send_mail, subject, body, None, [to], fail_silently=False),
                    robust=True,
                )
        elif not ctx.dry_run:
            transaction.on_commit(partial(backend.send, to, body), robust=True)
        sent.append({"contact": contact.pk})
    return {
        "changes": {"channel": channel, "purpose": purpose, "sent": len(sent)},
        "sent": sent,
        "skipped": skipped,
    }


# --- outgoing webhook ----------------------------------------------------------------------

WEBHOOK_TOPIC = "automation.webhook"


def _clean_webhook(params: dict[str, Any], ctx: CleanContext) -> dict[str, Any]:
    from . import webhooks

    errors = _Errors()
    _only(params, {"url"}, errors)
    url = str(params.get("url") or "").strip()
    try:
        webhooks.check_url(url)
    except ValidationError as error:
        for message in error.messages:
            errors.add("url", message, "unsafe_url")
    errors.raise_if_any()
    return {"url": url}


def record_payload(ctx: RunContext) -> dict[str, Any]:
    """The record as an outgoing webhook sends it: its type, id and plain fields."""
    from . import messaging

    values = {}
    for name, spec in messaging.placeholder_fields(ctx.actor, ctx.automatable).items():
        values[name] = _plain(messaging.field_value(ctx.record, spec))
    return {"type": ctx.automatable.object_type, "id": ctx.record.pk, "fields": values}


def _execute_webhook(ctx: RunContext, params: dict[str, Any]) -> dict[str, Any]:
    from rapport.core import events

    body = {
        "event": "automation.rule",
        "rule": {"id": ctx.rule.pk, "name": ctx.rule.name},
        "run": ctx.run.pk if ctx.run is not None else None,
        "record": record_payload(ctx),
    }
    if ctx.dry_run:
        return {"changes": {"url": params["url"]}, "delivery": {"status": "dry_run"}}
    message = events.emit(
        WEBHOOK_TOPIC,
        {"url": params["url"], "body": body, "run": ctx.run.pk, "index": ctx.index},
    )
    return {
        "changes": {"url": params["url"]},
        "delivery": {"status": "pending", "message": message.idempotency_key},
    }


def _relay_webhook(topic: str, payload: dict[str, Any], key: str) -> None:
    if topic == WEBHOOK_TOPIC:
        from . import webhooks

        webhooks.relay(payload, key)


def register_builtin() -> None:
    from rapport.core import events

    events.register_external(_relay_webhook)
    register(
        ActionType(
            "send_email",
            gettext_lazy("Send an e-mail"),
            lambda params, ctx: _clean_message(params, ctx, channel="email"),
            lambda ctx, params: _execute_message(ctx, params, channel="email"),
        )
    )
    register(
        ActionType(
            "send_sms",
            gettext_lazy("Send an SMS"),
            lambda params, ctx: _clean_message(params, ctx, channel="sms"),
            lambda ctx, params: _execute_message(ctx, params, channel="sms"),
        )
    )
    register(
        ActionType("call_webhook", gettext_lazy("Call a webhook"), _clean_webhook, _execute_webhook)
    )
    register(
        ActionType("update_fields", gettext_lazy("Update fields"), _clean_update, _execute_update)
    )
    register(
        ActionType("assign_owner", gettext_lazy("Assign owner"), _clean_assign, _execute_assign)
    )
    register(
        ActionType(
            "add_tags",
            gettext_lazy("Add tags"),
            lambda params, ctx: _clean_tags(params, ctx, adding=True),
            lambda ctx, params: _execute_tags(ctx, params, adding=True),
        )
    )
    register(
        ActionType(
            "remove_tags",
            gettext_lazy("Remove tags"),
            lambda params, ctx: _clean_tags(params, ctx, adding=False),
            lambda ctx, params: _execute_tags(ctx, params, adding=False),
        )
    )
    register(ActionType("create_task", gettext_lazy("Create a task"), _clean_task, _execute_task))
    register(
        ActionType("notify", gettext_lazy("Send a notification"), _clean_notify, _execute_notify)
    )
    register(
        ActionType("run_rule", gettext_lazy("Run another rule"), _clean_run_rule, _execute_run_rule)
    )
