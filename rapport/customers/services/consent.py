"""Consent per contact, channel and purpose: record it with its evidence, withdraw it.

Granting (or recording a grant) needs the change grant over the contact; withdrawing needs
only seeing the contact, so whoever hears "stop contacting me" can act on it at once.
Every change is an audit event on the contact with before/after, source and evidence.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.core.datetimes import to_utc
from rapport.identity import policy
from rapport.identity.models import Action, User

from ..models import (
    Consent,
    ConsentChannel,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    Contact,
)

# Consents are records of the electronic era; an older date is a typing error (and local
# mean time offsets of such dates, e.g. +08:05:43, are not valid in API date-times).
EARLIEST_CONSENT_YEAR = 1970


def _check(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[ValidationError]] = {}

    def fail(field: str, message: str, code: str) -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    for field, choices in (
        ("channel", ConsentChannel),
        ("purpose", ConsentPurpose),
        ("status", ConsentStatus),
        ("source", ConsentSource),
    ):
        if values.get(field) not in choices.values:
            fail(
                field,
                _("“%(value)s” is not a valid choice.") % {"value": values.get(field) or ""},
                "invalid_choice",
            )
    evidence = str(values.get("evidence") or "").strip()
    if len(evidence) > 500:
        fail("evidence", _("At most %(n)d characters.") % {"n": 500}, "max_length")
    if values.get("status") == ConsentStatus.GRANTED and not evidence:
        fail(
            "evidence",
            _("Say how the person agreed (form number, recording, e-mail …)."),
            "required",
        )
    at = values.get("at")
    if at in (None, ""):
        at = timezone.now()
    else:
        at = to_utc(at)
        if at is None:
            fail("at", _("Enter a date and time."), "invalid_datetime")
        elif at > timezone.now() + timezone.timedelta(minutes=10):
            fail("at", _("A consent cannot be given in the future."), "in_future")
        elif at.year < EARLIEST_CONSENT_YEAR:
            fail(
                "at",
                _("A consent cannot be dated before %(year)d.") % {"year": EARLIEST_CONSENT_YEAR},
                "too_early",
            )
    if errors:
        raise ValidationError(errors)
    return {**values, "evidence": evidence, "at": at}


def consent_record(
    *,
    actor: User,
    contact: Contact,
    channel: str,
    purpose: str,
    status: str,
    source: str,
    evidence: str = "",
    at: datetime | str | None = None,
) -> Consent:
    """Record the contact's answer for a channel and purpose. A grant needs evidence and the
    change grant over the contact; a withdrawal needs only seeing the contact. Audited on the
    contact; emits consent.changed."""
    cleaned = _check(
        {
            "channel": channel,
            "purpose": purpose,
            "status": status,
            "source": source,
            "evidence": evidence,
            "at": at,
        }
    )
    policy.require(
        actor,
        Action.VIEW if cleaned["status"] == ConsentStatus.WITHDRAWN else Action.CHANGE,
        contact,
    )
    with transaction.atomic():
        consent = (
            Consent.objects.select_for_update()
            .filter(contact=contact, channel=channel, purpose=purpose)
            .first()
        )
        before = consent.status if consent else None
        if consent is None:
            consent = Consent(contact=contact, channel=channel, purpose=purpose)
        elif (
            consent.status == cleaned["status"]
            and consent.source == cleaned["source"]
            and consent.evidence == cleaned["evidence"]
        ):
            return consent
        consent.status = cleaned["status"]
        consent.source = cleaned["source"]
        consent.evidence = cleaned["evidence"]
        consent.given_at = cleaned["at"]
        consent.recorded_by = actor
        consent.save()
        trail.record(
            actor=actor,
            action="consent",
            target=contact,
            changes={f"consent.{channel}.{purpose}": [before, consent.status]},
            extra={
                "channel": channel,
                "purpose": purpose,
                "source": consent.source,
                "evidence": consent.evidence,
                "at": consent.given_at.isoformat(),
            },
        )
        events.emit(
            "consent.changed",
            {
                "type": Contact.security_type,
                "id": contact.pk,
                "channel": channel,
                "purpose": purpose,
                "status": consent.status,
            },
        )
    return consent


def consent_withdraw(
    *,
    actor: User,
    contact: Contact,
    channel: str,
    purpose: str,
    source: str = ConsentSource.OTHER,
    evidence: str = "",
) -> Consent:
    """One click: the contact no longer agrees to `purpose` over `channel`, from now on."""
    return consent_record(
        actor=actor,
        contact=contact,
        channel=channel,
        purpose=purpose,
        status=ConsentStatus.WITHDRAWN,
        source=source,
        evidence=evidence,
    )
