"""Every write to tickets and their conversation.

Each service checks the actor's grant on the ticket (`policy.can`), validates the whole
change (one ValidationError naming every bad field; nothing stored), writes in one
transaction with its audit event, and emits its events after commit: the generic
`record.created` / `record.updated` (search index, automation rules) and the ticket's own
`ticket.assigned`, `ticket.status_changed`, `ticket.message_added` (SLA clocks, rules).

Status moves: new → open / waiting on customer / resolved / closed; open ⇄ waiting on
customer; open or waiting → resolved → closed; resolved or closed → open again (reopen).
The first reply to the customer records the first response; a reply to a new ticket opens it.
"""

from __future__ import annotations

from functools import partial
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.core.errors import PermissionDenied
from rapport.customers.models import Account, Contact
from rapport.identity import policy
from rapport.identity.models import Action, Team, User

from .. import mail, sla
from ..models import (
    MessageKind,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketChannel,
    TicketKind,
    TicketMessage,
    TicketPriority,
    TicketStatus,
)
from ..notifications import ticket_assigned
from .complaints import complaint_ensure, complaint_status_guard

FIELDS = (
    "subject",
    "description",
    "kind",
    "priority",
    "channel",
    "category",
    "account",
    "contact",
    "team",
    "assignee",
    "status",
    "parent",
    "language",
)
EDITABLE = (
    "subject",
    "description",
    "kind",
    "priority",
    "category",
    "account",
    "contact",
    "parent",
    "language",
)
MOVES = {
    TicketStatus.NEW: {
        TicketStatus.OPEN,
        TicketStatus.PENDING,
        TicketStatus.RESOLVED,
        TicketStatus.CLOSED,
    },
    TicketStatus.OPEN: {TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED},
    TicketStatus.PENDING: {TicketStatus.OPEN, TicketStatus.RESOLVED, TicketStatus.CLOSED},
    TicketStatus.RESOLVED: {TicketStatus.OPEN, TicketStatus.CLOSED},
    TicketStatus.CLOSED: {TicketStatus.OPEN},
}
MAX_BODY = 100_000
# a change to these chooses the SLA policy and its due times again
SLA_INPUTS = {"priority", "kind", "category", "account"}
SLA_FIELDS = [
    "sla_policy",
    "first_response_due_at",
    "first_response_warn_at",
    "resolution_due_at",
    "resolution_warn_at",
]
_UNCHANGED: Any = object()


def _denied() -> PermissionDenied:
    return PermissionDenied(_("You may not do this to this ticket."), code="ticket_denied")


def _require(actor: User, action: str, ticket: Ticket) -> None:
    if not policy.can(actor, action, ticket):
        raise _denied()


def _choice(errors, name: str, value: Any, choices) -> str | None:
    if value in choices.values:
        return value
    errors.setdefault(name, []).append(
        ValidationError(
            _("“%(value)s” is not one of: %(choices)s.")
            % {"value": value, "choices": ", ".join(choices.values)},
            code="invalid_choice",
        )
    )
    return None


def _clean(actor: User, values: dict[str, Any]) -> dict[str, Any]:
    """Normalise and validate the given fields; related records must be ones the actor may
    see (an account or contact they cannot see is refused as if it did not exist)."""
    errors: dict[str, list[ValidationError]] = {}

    def fail(name: str, message: str, code: str) -> None:
        errors.setdefault(name, []).append(ValidationError(message, code=code))

    cleaned: dict[str, Any] = {}
    if "subject" in values:
        subject = " ".join(str(values["subject"] or "").split())
        if not subject:
            fail("subject", _("Enter a subject."), "required")
        elif len(subject) > 300:
            fail("subject", _("At most %(n)d characters.") % {"n": 300}, "max_length")
        cleaned["subject"] = subject
    if "description" in values:
        description = str(values["description"] or "").strip()
        if len(description) > MAX_BODY:
            fail("description", _("At most %(n)d characters.") % {"n": MAX_BODY}, "max_length")
        cleaned["description"] = description
    for name, choices in (
        ("kind", TicketKind),
        ("priority", TicketPriority),
        ("channel", TicketChannel),
    ):
        if name in values:
            cleaned[name] = _choice(errors, name, values[name], choices)
    if "category" in values:
        category = values["category"]
        if category is not None and not (
            isinstance(category, TicketCategory) and category.is_active
        ):
            fail("category", _("Choose an active category."), "invalid")
        cleaned["category"] = category
    if "account" in values:
        account = values["account"]
        if account is not None and not (
            isinstance(account, Account) and policy.can(actor, Action.VIEW, account)
        ):
            fail("account", _("Choose an account you can see."), "invalid")
        cleaned["account"] = account
    if "contact" in values:
        contact = values["contact"]
        if contact is not None and not (
            isinstance(contact, Contact) and policy.can(actor, Action.VIEW, contact)
        ):
            fail("contact", _("Choose a contact you can see."), "invalid")
        cleaned["contact"] = contact
    if "team" in values:
        team = values["team"]
        if team is not None and not isinstance(team, Team):
            fail("team", _("Choose a team."), "invalid")
        cleaned["team"] = team
    if "assignee" in values:
        assignee = values["assignee"]
        if assignee is not None and not (
            isinstance(assignee, User)
            and assignee.is_active
            and policy.has_grant(assignee, Ticket.security_type, Action.CHANGE)
        ):
            fail("assignee", _("Choose an active person who works on tickets."), "invalid")
        cleaned["assignee"] = assignee
    if "language" in values:
        language = str(values["language"] or "")
        offered = {code for code, _name in settings.LANGUAGES}
        if language and language not in offered:
            fail(
                "language",
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": language, "choices": ", ".join(sorted(offered))},
                "invalid_choice",
            )
        cleaned["language"] = language
    if "parent" in values:
        parent = values["parent"]
        if parent is not None and not (
            isinstance(parent, Ticket) and policy.can(actor, Action.VIEW, parent)
        ):
            fail("parent", _("Choose a ticket you can see."), "invalid")
        cleaned["parent"] = parent
    if errors:
        raise ValidationError(errors)
    return cleaned


def _announce(topic: str, ticket: Ticket, **extra: Any) -> None:
    events.emit(topic, {"type": Ticket.security_type, "id": ticket.pk, **extra})


def _changed(ticket: Ticket, fields) -> None:
    """The generic record event (search index, automation rules) for changed fields."""
    _announce("record.updated", ticket, fields=sorted(fields))


def ticket_create(
    *,
    actor: User,
    subject: str,
    description: str = "",
    kind: str = TicketKind.QUESTION,
    priority: str = TicketPriority.NORMAL,
    channel: str = TicketChannel.AGENT,
    category: TicketCategory | None = None,
    account: Account | None = None,
    contact: Contact | None = None,
    team: Team | None = None,
    assignee: User | None = None,
    parent: Ticket | None = None,
    language: str = "",
) -> Ticket:
    """A new ticket (status new). Given neither queue nor assignee, it goes to the creator's
    team's queue, or to the creator (so nobody creates a ticket they then cannot see). A
    contact without an account brings their first account; the assignee, when given, is
    told. A queue that assigns automatically gives it to an agent at once."""
    if not policy.has_grant(actor, Ticket.security_type, Action.ADD):
        raise _denied()
    cleaned = _clean(
        actor,
        {
            "subject": subject,
            "description": description,
            "kind": kind,
            "priority": priority,
            "channel": channel,
            "category": category,
            "account": account,
            "contact": contact,
            "team": team,
            "assignee": assignee,
            "parent": parent,
            "language": language,
        },
    )
    if cleaned["team"] is None and cleaned["assignee"] is None:
        # in the creator's queue, or theirs when they have no team: never nobody's
        cleaned["team"] = (
            Team.objects.filter(Q(members=actor) | Q(lead=actor)).order_by("name", "id").first()
        )
        if cleaned["team"] is None and policy.has_grant(actor, Ticket.security_type, Action.CHANGE):
            cleaned["assignee"] = actor
    if cleaned["account"] is None and cleaned["contact"] is not None:
        cleaned["account"] = (
            cleaned["contact"].accounts.restrict(actor, Action.VIEW).order_by("name", "id").first()
        )
    ticket = Ticket(**cleaned, created_by=actor, status=TicketStatus.NEW)
    if not policy.can(actor, Action.ADD, ticket):
        raise ValidationError(
            {"assignee": ValidationError(_("You may not give tickets to this person."), "invalid")}
        )
    with transaction.atomic():
        ticket.save()
        sla.apply(ticket)
        ticket.save(update_fields=SLA_FIELDS)
        trail.record(
            actor=actor,
            action="create",
            target=ticket,
            changes=trail.diff({}, trail.snapshot(ticket, FIELDS)),
        )
        complaint_ensure(actor=actor, ticket=ticket)  # a complaint gets its workflow
        if ticket.assignee_id is not None:
            ticket_assigned(actor=actor, ticket=ticket)
        else:
            from .assignment import ticket_auto_assign

            ticket_auto_assign(actor=actor, ticket=ticket)
        _announce("record.created", ticket)
    return ticket


def ticket_update(*, actor: User, ticket: Ticket, **changes: Any) -> Ticket:
    """Change the ticket's own fields (subject, description, type, priority, category,
    account, contact, parent); who has it and its status change through their own services."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), "unknown_field") for name in unknown}
        )
    _require(actor, Action.CHANGE, ticket)
    cleaned = _clean(actor, changes)
    if cleaned.get("parent") is not None and cleaned["parent"].pk == ticket.pk:
        raise ValidationError({"parent": ValidationError(_("A ticket cannot be its own parent."))})
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        before = trail.snapshot(ticket, FIELDS)
        for name, value in cleaned.items():
            setattr(ticket, name, value)
        changed = trail.diff(before, trail.snapshot(ticket, FIELDS))
        if not changed:
            return ticket
        if set(changed) & SLA_INPUTS:
            sla.apply(ticket)
        ticket.last_activity_at = timezone.now()
        ticket.save()
        trail.record(actor=actor, action="update", target=ticket, changes=changed)
        complaint_ensure(actor=actor, ticket=ticket)  # now a complaint: its workflow
        _changed(ticket, changed)
    return ticket


def ticket_assign(
    *,
    actor: User,
    ticket: Ticket,
    team: Team | None = _UNCHANGED,
    assignee: User | None = _UNCHANGED,
) -> Ticket:
    """Put the ticket in a team's queue and/or give it to a person (None: back to the queue).
    Needs the assign grant on the ticket; the new assignee is told."""
    _require(actor, Action.ASSIGN, ticket)
    given = {
        name: value
        for name, value in {"team": team, "assignee": assignee}.items()
        if value is not _UNCHANGED
    }
    cleaned = _clean(actor, given)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        before = trail.snapshot(ticket, ("team", "assignee"))
        for name, value in cleaned.items():
            setattr(ticket, name, value)
        changed = trail.diff(before, trail.snapshot(ticket, ("team", "assignee")))
        if not changed:
            return ticket
        ticket.last_activity_at = timezone.now()
        ticket.save()
        trail.record(actor=actor, action="assign", target=ticket, changes=changed)
        if "assignee" in changed and ticket.assignee_id is not None:
            ticket_assigned(actor=actor, ticket=ticket)
        _changed(ticket, changed)
        _announce("ticket.assigned", ticket, team=ticket.team_id, assignee=ticket.assignee_id)
        if "team" in changed and ticket.assignee_id is None:  # into another queue
            from .assignment import ticket_auto_assign

            ticket_auto_assign(actor=actor, ticket=ticket)
    return ticket


def ticket_set_status(*, actor: User, ticket: Ticket, status: str) -> Ticket:
    """Move the ticket to `status` along the allowed moves; resolving and closing stamp
    their time, reopening clears them."""
    _require(actor, Action.CHANGE, ticket)
    if status not in TicketStatus.values:
        raise ValidationError(
            {
                "status": ValidationError(
                    _("“%(value)s” is not one of: %(choices)s.")
                    % {"value": status, "choices": ", ".join(TicketStatus.values)},
                    "invalid_choice",
                )
            }
        )
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        before = ticket.status
        if status == before:
            return ticket
        if status not in MOVES[TicketStatus(before)]:
            raise ValidationError(
                {
                    "status": ValidationError(
                        _("A ticket that is “%(before)s” cannot become “%(after)s”.")
                        % {
                            "before": TicketStatus(before).label,
                            "after": TicketStatus(status).label,
                        },
                        "invalid_move",
                    )
                }
            )
        complaint_status_guard(ticket, status)  # not before the complaint is resolved
        _move(ticket, status, timezone.now())
        ticket.save()
        trail.record(
            actor=actor, action="status", target=ticket, changes={"status": [before, status]}
        )
        _changed(ticket, ["status"])
        _announce("ticket.status_changed", ticket, before=before, after=status)
    return ticket


def _move(ticket: Ticket, status: str, now) -> None:
    """Set a (locked) ticket's status: the SLA clocks follow, resolving and closing stamp
    their time, reopening clears them. The caller saves, audits and announces."""
    before = ticket.status
    sla.on_status(ticket, before, status, now=now)
    ticket.status = status
    if status == TicketStatus.RESOLVED:
        ticket.resolved_at = now
    elif status == TicketStatus.CLOSED:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    elif status == TicketStatus.OPEN and before in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        ticket.resolved_at = ticket.closed_at = None
    ticket.last_activity_at = now


def _store_files(message: TicketMessage, checked: list[tuple], stored: list) -> None:
    """Store already checked uploads (upload, content type, sha256) on a message, inside the
    caller's transaction; each stored one is appended to `stored` so that the caller can
    remove the files again if the transaction fails."""
    for upload, content_type, sha256 in checked:
        attachment = TicketAttachment(
            message=message,
            name=PurePath(upload.name).name[:255],
            content_type=content_type,
            size=upload.size,
            sha256=sha256,
        )
        attachment.file.save(upload.name, upload, save=False)
        stored.append(attachment)
        attachment.save()


def ticket_message_add(
    *, actor: User, ticket: Ticket, kind: str, body: str, uploads: list | tuple = ()
) -> TicketMessage:
    """Add a reply to the customer or an internal note. The first reply records the first
    response; a reply opens a new ticket. A reply is e-mailed to the customer after the
    transaction commits (`mail.reply_email_send`); a customer who withdrew e-mail consent for
    service is not written to (refused, nothing stored), and a reply without an address to
    go to is kept on the ticket with the reason. Files (`uploads`) are checked like every
    attachment — one bad file stores nothing — and go out with an e-mailed reply."""
    from rapport.customers.services.attachments import check_uploads, remove_files

    _require(actor, Action.CHANGE, ticket)
    errors: dict[str, list[ValidationError]] = {}
    if kind not in (MessageKind.REPLY, MessageKind.NOTE):
        errors["kind"] = [
            ValidationError(_("Choose a reply or an internal note."), code="invalid_choice")
        ]
    body = str(body or "").strip()
    if not body:
        errors["body"] = [ValidationError(_("Write a message."), code="required")]
    elif len(body) > MAX_BODY:
        errors["body"] = [
            ValidationError(_("At most %(n)d characters.") % {"n": MAX_BODY}, code="max_length")
        ]
    try:
        checked = check_uploads(list(uploads))
    except ValidationError as error:
        errors.update(error.error_dict)
    if errors:
        raise ValidationError(errors)
    stored: list[TicketAttachment] = []
    try:
        return _message_add(actor, ticket, kind, body, checked, stored)
    except Exception:
        remove_files(stored)
        raise


def _message_add(actor, ticket, kind, body, checked, stored) -> TicketMessage:
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("contact")
            .get(pk=ticket.pk)
        )
        now = timezone.now()
        message = TicketMessage(ticket=ticket, kind=kind, author=actor, body=body, created_at=now)
        if kind == MessageKind.REPLY:
            refusal = mail.reply_refusal(ticket)
            if refusal:
                raise ValidationError({"body": ValidationError(refusal, code="consent_withdrawn")})
            message.email_address = mail.reply_address(ticket)
            if message.email_address:
                message.email_message_id = mail.new_message_id()
            else:
                message.not_sent_reason = _("The customer has no e-mail address on record.")
        message.save()
        _store_files(message, checked, stored)
        if message.email_address:
            transaction.on_commit(
                partial(mail.reply_email_send, message_id=message.pk), robust=True
            )
        changes: dict[str, list[Any]] = {}
        if kind == MessageKind.REPLY:
            if ticket.first_response_at is None:
                ticket.first_response_at = now
                changes["first_response_at"] = [None, now.isoformat()]
            if ticket.status == TicketStatus.NEW:
                ticket.status = TicketStatus.OPEN
                changes["status"] = [TicketStatus.NEW, TicketStatus.OPEN]
        ticket.last_activity_at = now
        ticket.save()
        trail.record(
            actor=actor,
            action="message",
            target=ticket,
            changes=changes,
            extra={
                "message": message.pk,
                "kind": kind,
                "attachments": [
                    {"name": a.name, "size": a.size, "sha256": a.sha256} for a in stored
                ],
            },
        )
        _announce("ticket.message_added", ticket, message=message.pk, kind=kind)
    return message


def ticket_message_receive(
    *,
    actor: User,
    ticket: Ticket,
    body: str,
    email_message_id: str = "",
    email_address: str = "",
    attachments: list[tuple] = (),
) -> TicketMessage:
    """Store what the customer wrote (an e-mail, through `rapport.service.mail`) with its
    already checked attachments (upload, content type, sha256). A ticket waiting on the
    customer opens again (its clock runs on); a resolved one reopens. Audited on the ticket;
    files stored before a failure are removed again."""
    from rapport.customers.services.attachments import remove_files

    _require(actor, Action.CHANGE, ticket)
    body = str(body or "").strip()
    if not body:
        raise ValidationError({"body": ValidationError(_("Write a message."), code="required")})
    stored: list[TicketAttachment] = []
    try:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
            now = timezone.now()
            message = TicketMessage.objects.create(
                ticket=ticket,
                kind=MessageKind.INBOUND,
                body=body[:MAX_BODY],
                created_at=now,
                email_message_id=email_message_id[:255],
                email_address=email_address[:254],
            )
            _store_files(message, list(attachments), stored)
            before = ticket.status
            changes: dict[str, list[Any]] = {}
            if before in (TicketStatus.PENDING, TicketStatus.RESOLVED):
                _move(ticket, TicketStatus.OPEN, now)
                changes["status"] = [before, TicketStatus.OPEN]
            ticket.last_activity_at = now
            ticket.save()
            trail.record(
                actor=actor,
                action="message",
                target=ticket,
                changes=changes,
                extra={
                    "message": message.pk,
                    "kind": MessageKind.INBOUND,
                    "attachments": [
                        {"name": a.name, "size": a.size, "sha256": a.sha256} for a in stored
                    ],
                },
            )
            if changes:
                _changed(ticket, ["status"])
                _announce("ticket.status_changed", ticket, before=before, after=TicketStatus.OPEN)
            _announce("ticket.message_added", ticket, message=message.pk, kind=MessageKind.INBOUND)
    except Exception:
        remove_files(stored)
        raise
    return message


def ticket_attachment_downloaded(*, actor: User, attachment: TicketAttachment) -> None:
    """Audit a download (a read of what may be personal data)."""
    trail.record(
        actor=actor,
        action="download",
        target=attachment.message.ticket,
        extra={"attachment": attachment.pk, "name": attachment.name},
    )


def tickets_redact(*, actor: User | None, contact_id: int, terms: list[str]) -> int:
    """An erasure: mask the person's name and identifiers (`terms`, taken before the contact
    was anonymized) in the subject, description and conversation of the tickets about
    them. Called by the data-subject request's erasure, which checked its own grants; each
    ticket changed is audited as `redact` with its field names. Returns how many tickets
    changed."""
    from rapport.customers.services.anonymize import mask_terms

    if not terms:
        return 0
    changed = 0
    with transaction.atomic():
        for ticket in Ticket.objects.select_for_update().filter(contact_id=contact_id):
            fields = []
            for name in ("subject", "description"):
                masked = mask_terms(getattr(ticket, name), terms)
                if masked != getattr(ticket, name):
                    setattr(ticket, name, masked)
                    fields.append(name)
            messages = 0
            lowered = {str(term).lower() for term in terms}
            for message in ticket.messages.all():
                masked = mask_terms(message.body, terms)
                address = "" if message.email_address.lower() in lowered else message.email_address
                if masked != message.body or address != message.email_address:
                    message.body, message.email_address = masked, address
                    message.save(update_fields=["body", "email_address"])
                    messages += 1
            if not fields and not messages:
                continue
            ticket.save(update_fields=[*fields, "updated_at"] if fields else ["updated_at"])
            trail.record(
                actor=actor,
                action="redact",
                target=ticket,
                extra={"fields": fields, "messages": messages, "reason": "subject_request"},
            )
            _changed(ticket, fields or ["messages"])
            changed += 1
    return changed
