"""Taking in customers' requests that come without a signed-in person — e-mails to the
service mailbox (`rapport.service.mail`) and the public support form (`/help/contact/`):
the system actor they are stored as, the queue they go to, and the contact they belong to.

The intake actor (`service-intake`, `rapport.identity.system`) writes through the ticket and
contact services, so permissions, validation and audit apply as for a person.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q

from rapport.customers.models import Contact
from rapport.identity import system
from rapport.identity.models import Team, User

from .models import Ticket

INTAKE = system.define(
    username="service-intake",
    display_name="客服受理 Service intake",
    role_code="service_intake",
    role_name="客服受理 / Service intake",
    description="Turns e-mails and the public support form into tickets; not for people.",
    grants=(
        ("service.ticket", "view"),
        ("service.ticket", "add"),
        ("service.ticket", "change"),
        ("customers.contact", "view"),
        ("customers.contact", "add"),
        ("customers.contact", "assign"),
        ("customers.account", "view"),
        ("identity.user", "view"),
    ),
)


def inbox_team() -> Team | None:
    """The queue new e-mail and form tickets go to: the team named by
    RAPPORT_SERVICE_INBOX_TEAM, or the first team (by name) that has people working on
    tickets."""
    if settings.SERVICE_INBOX_TEAM:
        team = Team.objects.filter(name=settings.SERVICE_INBOX_TEAM).first()
        if team is not None:
            return team
    agents = User.objects.filter(
        is_active=True,
        roles__grants__object_type=Ticket.security_type,
        roles__grants__action="change",
    ).exclude(username__in=system.usernames())
    return (
        Team.objects.filter(Q(members__in=agents) | Q(lead__in=agents))
        .distinct()
        .order_by("name", "id")
        .first()
    )


def contact_for(
    actor: User, *, email: str, name: str = "", phone: str = "", team: Team | None = None
) -> Contact:
    """The contact with this e-mail address (the latest one when several hold it), else one
    with this phone, else a new contact owned by the team's lead (or the intake actor)."""
    from rapport.customers import services as customer_services
    from rapport.customers.querysets import contacts_with_identifier

    active = Contact.objects.filter(is_active=True)
    for kind, value in (("email", email), ("phone", phone)):
        if not value:
            continue
        try:
            found = contacts_with_identifier(active, kind=kind, value=value).order_by("-id").first()
        except ValidationError:
            found = None
        if found is not None:
            return found
    name = " ".join((name or email.split("@", 1)[0] or phone).split())[:120]
    owner = team.lead if team is not None and team.lead_id and team.lead.is_active else None
    values = {"emails": [email] if email else [], "phones": [phone] if phone else []}
    try:
        return customer_services.contact_create(actor=actor, owner=owner, name=name, **values)
    except ValidationError:  # an address our validation refuses: keep the person by name
        return customer_services.contact_create(actor=actor, owner=owner, name=name)
