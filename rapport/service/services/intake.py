"""Requests from the public support form (`/help/contact/`): a customer who is not signed in
describes a problem and leaves an e-mail address (and a phone, if they like); it becomes a
ticket in the inbox queue for the contact with that address (created when new), stored as
the intake system actor, and the customer gets the usual acknowledgement with the number.

The whole form is checked first (one ValidationError naming each bad field); nothing is
stored unless all of it is good, and then everything in one transaction.
"""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from rapport.customers.validators import normalize_email, normalize_phone

from .. import intake, mail
from ..models import Ticket, TicketChannel
from .tickets import MAX_BODY, ticket_create

MAX_DESCRIPTION = 10_000


def ticket_from_form(
    *,
    name: str,
    email: str,
    subject: str,
    description: str,
    phone: str = "",
    language: str = "",
) -> Ticket:
    """A ticket from the public support form; returns it (its number is shown to the
    customer)."""
    errors: dict[str, list[ValidationError]] = {}

    def fail(field: str, message: str, code: str) -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    name = " ".join(str(name or "").split())
    if not name:
        fail("name", _("Enter your name."), "required")
    elif len(name) > 120:
        fail("name", _("At most %(n)d characters.") % {"n": 120}, "max_length")
    address = ""
    try:
        address = normalize_email(str(email or ""))
    except ValidationError as error:
        fail("email", " ".join(error.messages), "invalid")
    else:
        if not address:
            fail("email", _("Enter your e-mail address: we answer there."), "required")
    number = ""
    if str(phone or "").strip():
        try:
            number = normalize_phone(str(phone))
        except ValidationError as error:
            fail("phone", " ".join(error.messages), "invalid")
    subject = " ".join(str(subject or "").split())
    if not subject:
        fail("subject", _("Enter a subject."), "required")
    elif len(subject) > 300:
        fail("subject", _("At most %(n)d characters.") % {"n": 300}, "max_length")
    description = str(description or "").strip()
    if not description:
        fail("description", _("Describe the problem."), "required")
    elif len(description) > min(MAX_DESCRIPTION, MAX_BODY):
        fail("description", _("At most %(n)d characters.") % {"n": MAX_DESCRIPTION}, "max_length")
    if language not in dict(settings.LANGUAGES):
        language = ""
    if errors:
        raise ValidationError(errors)
    actor = intake.INTAKE.get()
    with transaction.atomic():
        team = intake.inbox_team()
        contact = intake.contact_for(actor, email=address, name=name, phone=number, team=team)
        ticket = ticket_create(
            actor=actor,
            subject=subject,
            description=description,
            channel=TicketChannel.WEB_FORM,
            contact=contact,
            team=team,
            language=language,
        )
        transaction.on_commit(
            partial(mail.acknowledgement_send, ticket_id=ticket.pk, to=address), robust=True
        )
    return ticket
