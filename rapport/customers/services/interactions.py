"""Every write to interactions (calls, e-mails, meetings, visits, SMS, chats, notes) and tasks.

Each service checks permission, validates every field at once (one ValidationError naming
each bad field, nothing stored), writes in one transaction, records the audit event with
before/after and emits a domain event after commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import events, normalize, trail
from rapport.core.datetimes import to_utc
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.models import Action, User

from .. import notifications
from ..models import (
    OUTCOMES_BY_KIND,
    Account,
    Contact,
    Direction,
    Interaction,
    InteractionKind,
    Outcome,
    Priority,
)
from . import _custom
from .attachments import check_uploads, remove_files, store_attachments

INTERACTION_FIELDS = (
    "kind",
    "subject",
    "body",
    "occurred_at",
    "direction",
    "outcome",
    "duration_minutes",
    "next_step",
    "account",
    "contact",
    "participant_contacts",
    "participant_users",
    "due_at",
    "assignee",
    "priority",
    "remind_at",
    "done_at",
    "custom",
    "owner",
    "is_active",
)
# What `interaction_log` / `task_create` / `interaction_update` accept from callers.
_LOG_FIELDS = {
    "kind",
    "subject",
    "body",
    "occurred_at",
    "direction",
    "outcome",
    "duration_minutes",
    "next_step",
    "account",
    "contact",
    "participant_contacts",
    "participant_users",
    "custom",
}
_TASK_FIELDS = {
    "subject",
    "body",
    "account",
    "contact",
    "participant_contacts",
    "participant_users",
    "due_at",
    "assignee",
    "priority",
    "remind_at",
    "custom",
}
# Kinds that have a direction (a note or a visit has none to speak of … a visit does: we go).
_DIRECTED = {
    InteractionKind.CALL,
    InteractionKind.EMAIL,
    InteractionKind.SMS,
    InteractionKind.CHAT,
    InteractionKind.VISIT,
    InteractionKind.MEETING,
}
MAX_DURATION_MINUTES = 24 * 60
# A logged interaction has happened; a clock a little fast on the client is forgiven.
FUTURE_TOLERANCE = timedelta(minutes=10)


class _Errors:
    """Collects every bad field so the caller hears about all of them at once."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[ValidationError]] = {}

    def add(self, field: str, message: str, code: str) -> None:
        self.by_field.setdefault(field, []).append(ValidationError(message, code=code))

    def __contains__(self, field: str) -> bool:
        return field in self.by_field

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def _unknown(values: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(values) - allowed
    if unknown:
        raise ValidationError(
            {
                name: ValidationError(_("This field cannot be set here."), code="unknown_field")
                for name in sorted(unknown)
            }
        )


def _datetime(value: Any, field: str, errors: _Errors) -> datetime | None:
    """An aware datetime from a datetime or an ISO 8601 string; errors name the field."""
    if value in (None, ""):
        return None
    parsed = to_utc(value)
    if parsed is None:
        errors.add(
            field,
            _("“%(value)s” is not a date and time (use e.g. 2026-12-01 14:30).") % {"value": value},
            "invalid_datetime",
        )
    return parsed


def _text(
    cleaned: dict[str, Any], field: str, errors: _Errors, *, limit: int | None = None
) -> None:
    if field not in cleaned:
        return
    cleaned[field] = normalize.text(cleaned[field], multiline=field == "body")
    if limit is not None and len(cleaned[field]) > limit:
        errors.add(field, _("At most %(n)d characters.") % {"n": limit}, "max_length")


def _choice(cleaned: dict[str, Any], field: str, choices, errors: _Errors, *, blank: bool) -> None:
    if field not in cleaned:
        return
    value = cleaned[field] or ""
    cleaned[field] = value
    if (value == "" and blank) or value in choices.values:
        return
    errors.add(field, _("“%(value)s” is not a valid choice.") % {"value": value}, "invalid_choice")


def _visible(actor: User, model, records, field: str, errors: _Errors, *, many: bool) -> Any:
    """The records, if the actor may see every one of them (else an error naming the field)."""
    items = list(records or []) if many else ([records] if records is not None else [])
    ids = {record.pk if hasattr(record, "pk") else record for record in items}
    if not ids:
        return [] if many else None
    found = {
        record.pk: record
        for record in model.objects.restrict(actor, Action.VIEW).filter(pk__in=ids)
    }
    if set(found) != ids:
        if model is Account:
            message = _("Choose an account you can see.")
        else:
            message = (
                _("Choose contacts you can see.") if many else _("Choose a contact you can see.")
            )
        errors.add(field, message, "invalid")
        return [] if many else None
    return list(found.values()) if many else found[next(iter(ids))]


def _active_users(users, field: str, errors: _Errors, *, many: bool) -> Any:
    items = list(users or []) if many else ([users] if users is not None else [])
    ids = {user.pk if hasattr(user, "pk") else user for user in items}
    if not ids:
        return [] if many else None
    found = {user.pk: user for user in User.objects.filter(pk__in=ids, is_active=True)}
    if set(found) != ids:
        errors.add(field, _("Choose active users."), "inactive")
        return [] if many else None
    return list(found.values()) if many else found[next(iter(ids))]


def _clean(
    actor: User,
    values: dict[str, Any],
    interaction: Interaction | None,
    *,
    kind: str,
    now: datetime,
) -> dict[str, Any]:
    """Normalise and validate interaction values; raise one ValidationError naming every field."""
    errors = _Errors()
    cleaned = dict(values)
    _text(cleaned, "subject", errors, limit=200)
    _text(cleaned, "body", errors, limit=20000)
    _text(cleaned, "next_step", errors, limit=300)
    _choice(cleaned, "direction", Direction, errors, blank=True)
    _choice(cleaned, "outcome", Outcome, errors, blank=True)
    _choice(cleaned, "priority", Priority, errors, blank=False)
    if cleaned.get("direction") and kind not in _DIRECTED and "direction" not in errors:
        errors.add("direction", _("A note or a task has no direction."), "not_applicable")
    if cleaned.get("outcome") and "outcome" not in errors:
        allowed = OUTCOMES_BY_KIND.get(kind, ())
        if cleaned["outcome"] not in allowed:
            errors.add(
                "outcome",
                _("“%(outcome)s” is not an outcome of this type of interaction.")
                % {"outcome": Outcome(cleaned["outcome"]).label},
                "not_applicable",
            )
    if "duration_minutes" in cleaned:
        raw = cleaned["duration_minutes"]
        if raw in (None, ""):
            cleaned["duration_minutes"] = None
        else:
            try:
                minutes = int(str(raw).strip())
            except (TypeError, ValueError):
                minutes = -1
            if not 0 <= minutes <= MAX_DURATION_MINUTES:
                errors.add(
                    "duration_minutes",
                    _("Enter whole minutes between 0 and %(max)d.") % {"max": MAX_DURATION_MINUTES},
                    "invalid",
                )
            else:
                cleaned["duration_minutes"] = minutes
    for field in ("occurred_at", "due_at", "remind_at", "done_at"):
        if field in cleaned:
            cleaned[field] = _datetime(cleaned[field], field, errors)
    if (
        kind != InteractionKind.TASK
        and cleaned.get("occurred_at") is not None
        and cleaned["occurred_at"] > now + FUTURE_TOLERANCE
    ):
        errors.add(
            "occurred_at",
            _("This has not happened yet: add a task for it instead."),
            "in_future",
        )
    if "account" in cleaned:
        cleaned["account"] = _visible(
            actor, Account, cleaned["account"], "account", errors, many=False
        )
    if "contact" in cleaned:
        cleaned["contact"] = _visible(
            actor, Contact, cleaned["contact"], "contact", errors, many=False
        )
    if "participant_contacts" in cleaned:
        cleaned["participant_contacts"] = _visible(
            actor,
            Contact,
            cleaned["participant_contacts"],
            "participant_contacts",
            errors,
            many=True,
        )
    if "participant_users" in cleaned:
        cleaned["participant_users"] = _active_users(
            cleaned["participant_users"], "participant_users", errors, many=True
        )
    if "assignee" in cleaned:
        cleaned["assignee"] = _active_users(cleaned["assignee"], "assignee", errors, many=False)
    if "custom" in cleaned or interaction is None:
        try:
            cleaned["custom"] = _custom.clean(
                Interaction.security_type,
                cleaned.get("custom"),
                interaction.custom if interaction else None,
                creating=interaction is None,
            )
        except ValidationError as error:
            _custom.merge_errors(errors.by_field, error)
    account = cleaned.get("account", interaction.account if interaction else None)
    contact = cleaned.get("contact", interaction.contact if interaction else None)
    if account is None and contact is None and not {"account", "contact"} & set(errors.by_field):
        errors.add("account", _("Choose the account or the contact this is about."), "required")
    if "subject" in cleaned and not cleaned["subject"] and "subject" not in errors:
        errors.add("subject", _("Enter a subject."), "required")
    errors.raise_if_any()
    return cleaned


def _default_subject(kind: str, account: Account | None, contact: Contact | None) -> str:
    name = contact.name if contact is not None else (account.name if account else "")
    return (_("%(kind)s with %(name)s") % {"kind": InteractionKind(kind).label, "name": name})[:200]


def _check_add(actor: User, owner: User) -> None:
    if not policy.has_grant(actor, Interaction.security_type, Action.ADD):
        raise PermissionDenied()
    if not policy.can_create(actor, Interaction, {"owner_id": owner.pk}):
        raise PermissionDenied()


def _payload(interaction: Interaction, **extra: Any) -> dict[str, Any]:
    return {
        "type": Interaction.security_type,
        "id": interaction.pk,
        "kind": interaction.kind,
        "account": interaction.account_id,
        "contact": interaction.contact_id,
        **extra,
    }


def _create(actor: User, cleaned: dict[str, Any], **fixed: Any) -> Interaction:
    participant_contacts = cleaned.pop("participant_contacts", [])
    participant_users = cleaned.pop("participant_users", [])
    interaction = Interaction.objects.create(created_by=actor, **fixed, **cleaned)
    if participant_contacts:
        interaction.participant_contacts.set(participant_contacts)
    if participant_users:
        interaction.participant_users.set(participant_users)
    trail.record(
        actor=actor,
        action="create",
        target=interaction,
        changes=_custom.expand(trail.diff({}, trail.snapshot(interaction, INTERACTION_FIELDS))),
    )
    events.emit("record.created", _payload(interaction))
    return interaction


def interaction_log(
    *,
    actor: User,
    follow_up_due: datetime | str | None = None,
    follow_up_assignee: User | None = None,
    attachments: list | None = None,
    owner: User | None = None,
    **values: Any,
) -> Interaction:
    """Log something that happened with a customer: a call, e-mail, meeting, visit, SMS, chat
    or note. The actor owns it, or `owner` when the actor may add interactions for them (an
    import of another system's history keeps each rep's own). With `follow_up_due`, a
    follow-up task for the next step is created in the same transaction (both or neither
    are stored). Audited; emits record.created for each."""
    _unknown(values, _LOG_FIELDS)
    now = timezone.now()
    kind = values.get("kind") or ""
    if kind not in InteractionKind.values or kind == InteractionKind.TASK:
        raise ValidationError(
            {
                "kind": ValidationError(
                    _("Choose what kind of interaction this was."), code="invalid_choice"
                )
            }
        )
    owner = owner or actor
    if not owner.is_active:
        raise ValidationError(
            {"owner": ValidationError(_("The owner is deactivated."), code="inactive")}
        )
    _check_add(actor, owner)
    values.setdefault("occurred_at", now)
    values.setdefault("subject", "")
    subject_given = bool(str(values["subject"] or "").strip())
    if not subject_given:
        values.pop("subject")
    cleaned = _clean(actor, values, None, kind=kind, now=now)
    follow_up: dict[str, Any] = {}
    if follow_up_due not in (None, ""):
        errors = _Errors()
        due = _datetime(follow_up_due, "follow_up_due", errors)
        assignee = (
            _active_users(follow_up_assignee, "follow_up_assignee", errors, many=False)
            if follow_up_assignee is not None
            else actor
        )
        if not cleaned.get("next_step") and "next_step" not in errors:
            errors.add("next_step", _("Say what the next step is to plan a follow-up."), "required")
        errors.raise_if_any()
        follow_up = {"due_at": due, "assignee": assignee}
    checked = check_uploads(list(attachments or []))
    if not subject_given:
        cleaned["subject"] = _default_subject(kind, cleaned.get("account"), cleaned.get("contact"))
    stored: list = []
    try:
        with transaction.atomic():
            interaction = _log(actor, cleaned, follow_up, now, checked, stored, owner)
    except Exception:
        remove_files(stored)
        raise
    return interaction


def _log(
    actor: User,
    cleaned: dict[str, Any],
    follow_up: dict[str, Any],
    now: datetime,
    checked: list,
    stored: list,
    owner: User,
) -> Interaction:
    """The writes of `interaction_log`, inside its transaction."""
    interaction = _create(actor, cleaned, owner=owner)
    if checked:
        stored.extend(store_attachments(actor=actor, interaction=interaction, checked=checked))
    if follow_up:
        task = _create(
            actor,
            {
                "subject": cleaned["next_step"][:200],
                "account": interaction.account,
                "contact": interaction.contact,
                **follow_up,
            },
            owner=actor,
            kind=InteractionKind.TASK,
            occurred_at=now,
            follow_up_of=interaction,
        )
        notifications.task_assigned(actor=actor, task=task)
    return interaction


def task_create(*, actor: User, **values: Any) -> Interaction:
    """Create a task about an account or contact, assigned to `assignee` (default: the actor),
    with an optional due time and reminder. Audited; emits record.created."""
    _unknown(values, _TASK_FIELDS)
    now = timezone.now()
    _check_add(actor, actor)
    values.setdefault("subject", "")
    values.setdefault("assignee", actor)
    if values["assignee"] is None:
        values["assignee"] = actor
    cleaned = _clean(actor, values, None, kind=InteractionKind.TASK, now=now)
    with transaction.atomic():
        task = _create(actor, cleaned, owner=actor, kind=InteractionKind.TASK, occurred_at=now)
        notifications.task_assigned(actor=actor, task=task)
        return task


def _check_writable(actor: User, values: dict[str, Any]) -> None:
    """Field rules on a change: a field hidden, masked or read-only for the actor (the body, a
    custom value) cannot be changed, so a write never overwrites what they cannot see."""
    from rapport.core.customfields.values import check_writable

    standard = {name: value for name, value in values.items() if name != "custom"}
    locked = set(standard) - set(policy.writable_fields(actor, Interaction.security_type, standard))
    if locked:
        raise ValidationError(
            {
                name: ValidationError(_("You may not change this field."), code="read_only")
                for name in sorted(locked)
            }
        )
    check_writable(actor, Interaction.security_type, values.get("custom"))


def interaction_update(*, actor: User, interaction: Interaction, **values: Any) -> Interaction:
    """Change an interaction or a task (needs the change grant over it, or being the task's
    assignee). A changed reminder time is sent again. Audited with before/after."""
    policy.require(actor, Action.CHANGE, interaction)
    allowed = _TASK_FIELDS if interaction.is_task else _LOG_FIELDS - {"kind"}
    _unknown(values, allowed)
    _check_writable(actor, values)
    cleaned = _clean(actor, values, interaction, kind=interaction.kind, now=timezone.now())
    participant_contacts = cleaned.pop("participant_contacts", None)
    participant_users = cleaned.pop("participant_users", None)
    before = trail.snapshot(interaction, INTERACTION_FIELDS)
    for name, value in cleaned.items():
        setattr(interaction, name, value)
    if "remind_at" in cleaned and cleaned["remind_at"] != before["remind_at"]:
        interaction.reminded_at = None
    with transaction.atomic():
        interaction.save()
        if participant_contacts is not None:
            interaction.participant_contacts.set(participant_contacts)
        if participant_users is not None:
            interaction.participant_users.set(participant_users)
        changes = _custom.expand(
            trail.diff(before, trail.snapshot(interaction, INTERACTION_FIELDS))
        )
        if changes:
            trail.record(actor=actor, action="update", target=interaction, changes=changes)
            events.emit("record.updated", _payload(interaction, fields=list(changes)))
        if interaction.is_task and "assignee" in changes:
            notifications.task_assigned(actor=actor, task=interaction)
    return interaction


def _set_done(actor: User, task: Interaction, done_at: datetime | None) -> Interaction:
    policy.require(actor, Action.CHANGE, task)
    if not task.is_task:
        raise ValidationError(
            {"kind": ValidationError(_("Only a task can be done."), code="not_a_task")}
        )
    before = trail.snapshot(task, INTERACTION_FIELDS)
    task.done_at = done_at
    task.done_by = actor if done_at else None
    if done_at is not None:
        task.occurred_at = done_at  # the timeline shows a task when it was done
    with transaction.atomic():
        task.save(update_fields=["done_at", "done_by", "occurred_at", "updated_at"])
        changes = trail.diff(before, trail.snapshot(task, INTERACTION_FIELDS))
        trail.record(
            actor=actor,
            action="complete" if done_at else "reopen",
            target=task,
            changes=changes,
        )
        events.emit(
            "task.completed" if done_at else "record.updated",
            _payload(task, fields=["done_at"]),
        )
    return task


def task_complete(*, actor: User, task: Interaction) -> Interaction:
    """Mark a task done now (the assignee or whoever may change it). Done twice is a no-op."""
    if task.done_at is not None:
        policy.require(actor, Action.CHANGE, task)
        return task
    return _set_done(actor, task, timezone.now())


def task_reopen(*, actor: User, task: Interaction) -> Interaction:
    """Open a done task again."""
    if task.done_at is None:
        policy.require(actor, Action.CHANGE, task)
        return task
    return _set_done(actor, task, None)


def interaction_delete(*, actor: User, interaction: Interaction) -> Interaction:
    """Take an interaction off the timeline (needs the delete grant). It stays in the audit
    trail; nothing is erased."""
    policy.require(actor, Action.DELETE, interaction)
    if not interaction.is_active:
        return interaction
    with transaction.atomic():
        interaction.is_active = False
        interaction.save(update_fields=["is_active", "updated_at"])
        trail.record(
            actor=actor,
            action="deactivate",
            target=interaction,
            changes={"is_active": [True, False]},
        )
        events.emit("record.updated", _payload(interaction, fields=["is_active"]))
    return interaction


def task_reminders_send(*, now: datetime | None = None, limit: int = 500) -> int:
    """Send the reminders that are due (beat runs this every minute). Each reminder is marked
    sent in the same transaction that queues it and delivers its notification to the assignee,
    so a crash neither loses nor repeats one. Returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    due = (
        Interaction.objects.filter(
            kind=InteractionKind.TASK,
            is_active=True,
            done_at__isnull=True,
            reminded_at__isnull=True,
            remind_at__lte=now,
        )
        .select_related("assignee", "account", "contact")
        .order_by("remind_at", "id")[:limit]
    )
    for task in due:
        with transaction.atomic():
            claimed = Interaction.objects.filter(pk=task.pk, reminded_at__isnull=True).update(
                reminded_at=now
            )
            if not claimed:
                continue  # another worker sent it
            events.emit(
                "task.reminder_due",
                _payload(
                    task,
                    assignee=task.assignee_id,
                    subject=task.subject,
                    due_at=task.due_at.isoformat() if task.due_at else None,
                ),
            )
            notifications.task_reminder(task)  # committed with the claim: once, never lost
            sent += 1
    return sent
