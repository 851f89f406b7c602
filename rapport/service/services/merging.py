"""Merging two tickets about the same problem, and splitting a second problem out of a ticket.

- **merge** (`ticket_merge`): the duplicate's conversation moves onto the ticket kept (its
  e-mails thread there from now on), the duplicate is closed as its child with a note on both;
  both need the change grant; a ticket cannot be merged into itself, into one of its own
  children's chain twice, or into a closed ticket.
- **split** (`ticket_split`): what the customer wrote in one message becomes a new ticket (same
  customer, queue, category, priority), a child of the original, with the message and its
  files moved; a note on the original says where it went.

Both are one transaction each, audited on every ticket they touch (`merge`, `split`), with
`record.updated` / `ticket.status_changed` events after commit.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import trail
from rapport.identity.models import Action, User

from ..models import MessageKind, Ticket, TicketMessage, TicketStatus
from .complaints import complaint_status_guard
from .tickets import _announce, _changed, _move, _require, ticket_create


def ticket_merge(*, actor: User, ticket: Ticket, into: Ticket) -> Ticket:
    """Merge `ticket` (the duplicate) into `into`; returns the ticket kept."""
    _require(actor, Action.CHANGE, ticket)
    _require(actor, Action.CHANGE, into)
    if ticket.pk == into.pk:
        raise ValidationError(
            {"into": ValidationError(_("A ticket cannot be merged into itself."), "same")}
        )
    with transaction.atomic():
        locked = {
            row.pk: row
            for row in Ticket.objects.select_for_update().filter(pk__in=[ticket.pk, into.pk])
        }
        ticket, into = locked[ticket.pk], locked[into.pk]
        if into.status == TicketStatus.CLOSED:
            raise ValidationError(
                {
                    "into": ValidationError(
                        _("Merge into an open ticket, not a closed one."), "closed"
                    )
                }
            )
        if ticket.status == TicketStatus.CLOSED:
            raise ValidationError(
                {"ticket": ValidationError(_("This ticket is closed already."), "closed")}
            )
        complaint_status_guard(ticket, TicketStatus.CLOSED)  # an open complaint stays open
        if into.parent_id == ticket.pk:
            raise ValidationError(
                {
                    "into": ValidationError(
                        _("Merge the sub-ticket into its parent instead."), "cycle"
                    )
                }
            )
        now = timezone.now()
        moved = TicketMessage.objects.filter(ticket=ticket).update(ticket=into)
        summary = ticket.subject + (f"\n\n{ticket.description}" if ticket.description else "")
        TicketMessage.objects.create(
            ticket=into,
            kind=MessageKind.NOTE,
            author=actor,
            body=_("Merged from %(number)s: %(summary)s")
            % {"number": ticket.number, "summary": summary},
            created_at=now,
        )
        TicketMessage.objects.create(
            ticket=ticket,
            kind=MessageKind.NOTE,
            author=actor,
            body=_("Merged into %(number)s.") % {"number": into.number},
            created_at=now,
        )
        before = ticket.status
        _move(ticket, TicketStatus.CLOSED, now)
        ticket.parent = into
        ticket.save()
        into.last_activity_at = now
        into.save(update_fields=["last_activity_at", "updated_at"])
        trail.record(
            actor=actor,
            action="merge",
            target=ticket,
            changes={"status": [before, TicketStatus.CLOSED], "parent": [None, into.pk]},
            extra={"into": into.pk, "messages": moved},
        )
        trail.record(
            actor=actor, action="merge", target=into, extra={"from": ticket.pk, "messages": moved}
        )
        _changed(ticket, ["status", "parent"])
        _announce("ticket.status_changed", ticket, before=before, after=TicketStatus.CLOSED)
        _changed(into, ["messages"])
    return into


def ticket_split(
    *, actor: User, ticket: Ticket, message: TicketMessage, subject: str = ""
) -> Ticket:
    """Make a new ticket of what the customer wrote in `message`; returns the new ticket."""
    _require(actor, Action.CHANGE, ticket)
    if message.ticket_id != ticket.pk or message.kind != MessageKind.INBOUND:
        raise ValidationError(
            {
                "message": ValidationError(
                    _("Choose something the customer wrote on this ticket."), "invalid"
                )
            }
        )
    subject = " ".join(str(subject or "").split())
    if not subject:
        first = next((line for line in message.body.splitlines() if line.strip()), "")
        subject = (_("From %(number)s: %(text)s") % {"number": ticket.number, "text": first})[:300]
    with transaction.atomic():
        new = ticket_create(
            actor=actor,
            subject=subject,
            kind=ticket.kind,
            priority=ticket.priority,
            channel=ticket.channel,
            category=ticket.category if ticket.category and ticket.category.is_active else None,
            account=ticket.account,
            contact=ticket.contact,
            team=ticket.team,
            assignee=ticket.assignee,
            parent=ticket,
            language=ticket.language,
        )
        TicketMessage.objects.filter(pk=message.pk).update(ticket=new)
        TicketMessage.objects.create(
            ticket=ticket,
            kind=MessageKind.NOTE,
            author=actor,
            body=_("Split into %(number)s: %(subject)s")
            % {"number": new.number, "subject": new.subject},
        )
        trail.record(
            actor=actor,
            action="split",
            target=ticket,
            extra={"into": new.pk, "message": message.pk},
        )
        _changed(ticket, ["messages"])
        _changed(new, ["messages"])
    return new
