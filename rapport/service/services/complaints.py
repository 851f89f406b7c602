"""Every write to complaints and their root-cause categories.

A ticket of type complaint has one `Complaint` (made with the ticket, or when its type
becomes complaint, in the same transaction: `complaint_ensure`). Its workflow:
registered → investigating → resolved → confirmed by the customer, and back from resolved
to investigating. Resolving needs a root cause, what was found and the corrective action;
confirming needs how the customer confirmed. The ticket itself cannot be resolved or
closed before its complaint is resolved (`complaint_status_guard`, called by
`ticket_set_status`).

Working on a complaint needs `change` on its ticket (the ticket's grants: agents their
queues', managers their department's); the cause categories need `manage` on
`service.complaintcause`. Every change is audited on the ticket (fields prefixed
`complaint.`) and announced after commit: `record.updated` for the ticket and
`complaint.stage_changed` when the stage moves.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.models import Action, User

from ..models import (
    Complaint,
    ComplaintCause,
    ComplaintStage,
    Ticket,
    TicketKind,
    TicketStatus,
)

FIELDS = (
    "stage",
    "product",
    "cause",
    "findings",
    "corrective_action",
    "action_owner",
    "action_due",
    "confirmation_note",
)
EDITABLE = FIELDS
TEXTS = {"findings": 20_000, "corrective_action": 20_000}
MOVES = {
    ComplaintStage.REGISTERED: {ComplaintStage.INVESTIGATING},
    ComplaintStage.INVESTIGATING: {ComplaintStage.RESOLVED},
    ComplaintStage.RESOLVED: {ComplaintStage.INVESTIGATING, ComplaintStage.CONFIRMED},
    ComplaintStage.CONFIRMED: set(),
}
# what a complaint needs to be resolved (and to stay resolved or confirmed)
RESOLUTION_NEEDS = ("cause", "findings", "corrective_action")
DONE_STAGES = (ComplaintStage.RESOLVED, ComplaintStage.CONFIRMED)
CAUSE_FIELDS = ("name", "name_en", "position", "is_active")
_UNCHANGED: Any = object()


def _denied() -> PermissionDenied:
    return PermissionDenied(_("You may not do this to this ticket."), code="ticket_denied")


def _audit_changes(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {f"complaint.{name}": values for name, values in changes.items()}


def complaint_ensure(*, actor: User | None, ticket: Ticket) -> Complaint | None:
    """The complaint of a ticket of type complaint, made now if it has none (called inside
    the ticket's own transaction by `ticket_create` and `ticket_update`). A ticket of
    another type gets none; a complaint kept from when the ticket was one stays."""
    if ticket.kind != TicketKind.COMPLAINT:
        return None
    complaint, created = Complaint.objects.get_or_create(ticket=ticket)
    if created:
        trail.record(
            actor=actor,
            action="complaint",
            target=ticket,
            changes=_audit_changes({"stage": [None, complaint.stage]}),
        )
    return complaint


def complaint_status_guard(ticket: Ticket, status: str) -> None:
    """Refuse to resolve or close a complaint ticket whose complaint is not resolved yet."""
    if ticket.kind != TicketKind.COMPLAINT or status not in (
        TicketStatus.RESOLVED,
        TicketStatus.CLOSED,
    ):
        return
    stage = Complaint.objects.filter(ticket_id=ticket.pk).values_list("stage", flat=True).first()
    if stage not in DONE_STAGES:
        raise ValidationError(
            {
                "status": ValidationError(
                    _(
                        "This complaint is not resolved yet: record its root cause, findings "
                        "and corrective action and mark the complaint resolved first."
                    ),
                    "complaint_open",
                )
            }
        )


def _clean(complaint: Complaint, values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[ValidationError]] = {}

    def fail(name: str, message: str, code: str) -> None:
        errors.setdefault(name, []).append(ValidationError(message, code=code))

    cleaned: dict[str, Any] = {}
    if "product" in values:
        product = " ".join(str(values["product"] or "").split())
        if len(product) > 200:
            fail("product", _("At most %(n)d characters.") % {"n": 200}, "max_length")
        cleaned["product"] = product
    for name, limit in TEXTS.items():
        if name in values:
            text = str(values[name] or "").strip()
            if len(text) > limit:
                fail(name, _("At most %(n)d characters.") % {"n": limit}, "max_length")
            cleaned[name] = text
    if "confirmation_note" in values:
        note = " ".join(str(values["confirmation_note"] or "").split())
        if len(note) > 500:
            fail("confirmation_note", _("At most %(n)d characters.") % {"n": 500}, "max_length")
        cleaned["confirmation_note"] = note
    if "cause" in values:
        cause = values["cause"]
        if cause is not None and not (
            isinstance(cause, ComplaintCause)
            and (cause.is_active or cause.pk == complaint.cause_id)
        ):
            fail("cause", _("Choose an active root cause."), "invalid")
        cleaned["cause"] = cause
    if "action_owner" in values:
        owner = values["action_owner"]
        if owner is not None and not (isinstance(owner, User) and owner.is_active):
            fail("action_owner", _("Choose an active person."), "invalid")
        cleaned["action_owner"] = owner
    if "action_due" in values:
        due = values["action_due"]
        if due is not None and not isinstance(due, date):
            fail("action_due", _("Enter a date."), "invalid")
        cleaned["action_due"] = due
    if "stage" in values:
        stage = values["stage"]
        if stage not in ComplaintStage.values:
            fail(
                "stage",
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": stage, "choices": ", ".join(ComplaintStage.values)},
                "invalid_choice",
            )
        cleaned["stage"] = stage
    if errors:
        raise ValidationError(errors)
    return cleaned


def _check_workflow(complaint: Complaint, before: str, ticket: Ticket) -> None:
    """The (changed, unsaved) complaint against the workflow: one error per missing thing."""
    errors: dict[str, list[ValidationError]] = {}
    after = complaint.stage
    if before == ComplaintStage.CONFIRMED:
        raise ValidationError(
            {
                "stage": ValidationError(
                    _("The customer confirmed this complaint; it cannot change any more."),
                    "confirmed",
                )
            }
        )
    if after != before and after not in MOVES[ComplaintStage(before)]:
        raise ValidationError(
            {
                "stage": ValidationError(
                    _("A complaint that is “%(before)s” cannot become “%(after)s”.")
                    % {
                        "before": ComplaintStage(before).label,
                        "after": ComplaintStage(after).label,
                    },
                    "invalid_move",
                )
            }
        )
    if (
        after == ComplaintStage.INVESTIGATING
        and before == ComplaintStage.RESOLVED
        and ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
    ):
        raise ValidationError(
            {
                "stage": ValidationError(
                    _("The ticket is resolved: reopen the ticket before investigating again."),
                    "ticket_resolved",
                )
            }
        )
    if after in DONE_STAGES:
        if complaint.cause_id is None:
            errors["cause"] = [
                ValidationError(_("Choose the root cause before resolving."), "required")
            ]
        if not complaint.findings:
            errors["findings"] = [
                ValidationError(
                    _("Write what the investigation found before resolving."), "required"
                )
            ]
        if not complaint.corrective_action:
            errors["corrective_action"] = [
                ValidationError(_("Write the corrective action before resolving."), "required")
            ]
    if after == ComplaintStage.CONFIRMED and not complaint.confirmation_note:
        errors["confirmation_note"] = [
            ValidationError(
                _("Write how the customer confirmed (a call, an e-mail …)."), "required"
            )
        ]
    if errors:
        raise ValidationError(errors)


def complaint_update(*, actor: User, complaint: Complaint, **fields: Any) -> Complaint:
    """Change a complaint's fields and/or move its stage, all in one: every bad or missing
    field is named in one ValidationError and nothing is stored. Needs `change` on the
    ticket. Audited on the ticket; `record.updated` and, for a move, `complaint.stage_changed`
    after commit. Moving to resolved or confirmed stamps its time; back to investigating
    clears it."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), "unknown_field") for name in unknown}
        )
    if not policy.can(actor, Action.CHANGE, complaint.ticket):
        raise _denied()
    with transaction.atomic():
        complaint = (
            Complaint.objects.select_for_update().select_related("ticket").get(pk=complaint.pk)
        )
        cleaned = _clean(complaint, fields)
        before = trail.snapshot(complaint, FIELDS)
        for name, value in cleaned.items():
            setattr(complaint, name, value)
        changed = trail.diff(before, trail.snapshot(complaint, FIELDS))
        if not changed:
            return complaint
        _check_workflow(complaint, before["stage"], complaint.ticket)
        now = timezone.now()
        if "stage" in changed:
            if complaint.stage == ComplaintStage.RESOLVED:
                complaint.resolved_at = now
                complaint.confirmed_at = None
            elif complaint.stage == ComplaintStage.CONFIRMED:
                complaint.confirmed_at = now
            elif complaint.stage == ComplaintStage.INVESTIGATING:
                complaint.resolved_at = None
                complaint.confirmed_at = None
        complaint.save()
        ticket = complaint.ticket
        Ticket.objects.filter(pk=ticket.pk).update(last_activity_at=now, updated_at=now)
        trail.record(
            actor=actor, action="complaint", target=ticket, changes=_audit_changes(changed)
        )
        events.emit(
            "record.updated",
            {
                "type": Ticket.security_type,
                "id": ticket.pk,
                "fields": sorted(f"complaint.{name}" for name in changed),
            },
        )
        if "stage" in changed:
            events.emit(
                "complaint.stage_changed",
                {
                    "type": Ticket.security_type,
                    "id": ticket.pk,
                    "complaint": complaint.pk,
                    "before": before["stage"],
                    "after": complaint.stage,
                },
            )
    return complaint


def complaint_next_stages(complaint: Complaint) -> list[str]:
    """The stages the complaint may move to next, in workflow order."""
    order = list(ComplaintStage.values)
    return sorted(MOVES[ComplaintStage(complaint.stage)], key=order.index)


def complaints_redact(*, actor: User | None, contact_id: int, terms: list[str]) -> int:
    """An erasure: mask the person's name and identifiers in what was written about their
    complaints (product, findings, corrective action, how they confirmed). Called by the
    data-subject request's erasure, which checked its own grants; each complaint changed is
    audited on its ticket as `redact`. Returns how many complaints changed."""
    from rapport.customers.services.anonymize import mask_terms

    if not terms:
        return 0
    changed = 0
    texts = ("product", "findings", "corrective_action", "confirmation_note")
    with transaction.atomic():
        for complaint in (
            Complaint.objects.select_for_update()
            .select_related("ticket")
            .filter(ticket__contact_id=contact_id)
        ):
            fields = []
            for name in texts:
                masked = mask_terms(getattr(complaint, name), terms)
                if masked != getattr(complaint, name):
                    setattr(complaint, name, masked)
                    fields.append(name)
            if not fields:
                continue
            complaint.save(update_fields=[*fields, "updated_at"])
            trail.record(
                actor=actor,
                action="redact",
                target=complaint.ticket,
                extra={
                    "fields": [f"complaint.{name}" for name in fields],
                    "reason": "subject_request",
                },
            )
            changed += 1
    return changed


def complaint_rows_for_contacts(contact_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The complaints about these contacts as plain values, for the access bundle."""
    rows: dict[int, list[dict[str, Any]]] = {}
    for complaint in (
        Complaint.objects.filter(ticket__contact_id__in=contact_ids)
        .select_related("ticket", "cause")
        .order_by("created_at", "id")
    ):
        rows.setdefault(complaint.ticket.contact_id, []).append(
            {
                "ticket": complaint.ticket.number,
                "stage": complaint.get_stage_display(),
                "product": complaint.product,
                "root_cause": complaint.cause.display_name if complaint.cause else "",
                "findings": complaint.findings,
                "corrective_action": complaint.corrective_action,
                "action_due": complaint.action_due.isoformat() if complaint.action_due else None,
                "registered_at": complaint.created_at.isoformat(),
                "resolved_at": complaint.resolved_at.isoformat() if complaint.resolved_at else None,
                "confirmed_at": complaint.confirmed_at.isoformat()
                if complaint.confirmed_at
                else None,
                "confirmation_note": complaint.confirmation_note,
            }
        )
    return rows


# --- root-cause categories --------------------------------------------------------------------


def require_cause_manage(actor: User) -> None:
    if not policy.has_grant(actor, ComplaintCause.security_type, Action.MANAGE):
        raise PermissionDenied(
            _("You may not configure complaint causes."), code="complaint_cause_manage_denied"
        )


def _clean_cause(cause: ComplaintCause | None, values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {}
    for name in ("name", "name_en"):
        if name in values:
            text = " ".join(str(values[name] or "").split())
            if name == "name" and not text:
                errors.setdefault(name, []).append(ValidationError(_("Enter a name."), "required"))
            elif len(text) > 100:
                errors.setdefault(name, []).append(
                    ValidationError(_("At most %(n)d characters.") % {"n": 100}, "max_length")
                )
            cleaned[name] = text
    if "position" in values:
        try:
            position = int(values["position"])
            if not 0 <= position <= 100_000:
                raise ValueError
            cleaned["position"] = position
        except (TypeError, ValueError):
            errors.setdefault("position", []).append(
                ValidationError(_("Enter a whole number from 0 to 100000."), "invalid")
            )
    if "is_active" in values:
        cleaned["is_active"] = bool(values["is_active"])
    name = cleaned.get("name")
    if (
        name
        and "name" not in errors
        and ComplaintCause.objects.filter(name=name)
        .exclude(pk=cause.pk if cause else None)
        .exists()
    ):
        errors.setdefault("name", []).append(
            ValidationError(_("There is already a cause with this name."), "duplicate")
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def complaint_cause_create(
    *, actor: User, name: str, name_en: str = "", position: int = 0
) -> ComplaintCause:
    """A new root-cause category (active). Needs manage; audited."""
    require_cause_manage(actor)
    cleaned = _clean_cause(None, {"name": name, "name_en": name_en, "position": position})
    with transaction.atomic():
        cause = ComplaintCause.objects.create(**cleaned)
        trail.record(
            actor=actor,
            action="create",
            target=cause,
            changes=trail.diff({}, trail.snapshot(cause, CAUSE_FIELDS)),
        )
    return cause


def complaint_cause_update(
    *,
    actor: User,
    cause: ComplaintCause,
    name: str = _UNCHANGED,
    name_en: str = _UNCHANGED,
    position: int = _UNCHANGED,
    is_active: bool = _UNCHANGED,
) -> ComplaintCause:
    """Rename, reorder, retire (is_active false: no longer offered, complaints keep it) or
    offer again. Needs manage; audited with before/after."""
    require_cause_manage(actor)
    given = {
        key: value
        for key, value in {
            "name": name,
            "name_en": name_en,
            "position": position,
            "is_active": is_active,
        }.items()
        if value is not _UNCHANGED
    }
    with transaction.atomic():
        cause = ComplaintCause.objects.select_for_update().get(pk=cause.pk)
        cleaned = _clean_cause(cause, given)
        before = trail.snapshot(cause, CAUSE_FIELDS)
        for key, value in cleaned.items():
            setattr(cause, key, value)
        changes = trail.diff(before, trail.snapshot(cause, CAUSE_FIELDS))
        if changes:
            cause.save()
            trail.record(actor=actor, action="update", target=cause, changes=changes)
    return cause


def complaint_cause_set_active(
    *, actor: User, cause: ComplaintCause, is_active: bool
) -> ComplaintCause:
    """Retire a cause or offer it again."""
    return complaint_cause_update(actor=actor, cause=cause, is_active=is_active)
