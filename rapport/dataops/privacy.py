"""Data-subject requests (PIPL art. 44-47, GDPR art. 15-18): record one, find everything
about the person, export it as a bundle, anonymize it, close it with its outcome.

    request = request_create(actor=…, kind="access", subject_phone="138…", …)  # finds too
    match_decide(actor=…, request=request, contacts=[…], state="confirmed")
    job = bundle_start(actor=…, request=request); bundle_execute(job)   # a zip: JSON + HTML + PDF
    request_erase(actor=…, request=request)            # customers.services.contact_anonymize
    request_complete(actor=…, request=request, outcome_note=…) / request_reject(…, reason=…)

Finding: contacts whose phone, e-mail or ID number equals the subject's (the blind index,
one indexed lookup each) and contacts with exactly the subject's name; among the contacts
the officer may see. The officer confirms which matches really are the person; only
confirmed matches are exported or anonymized.

The deadline is `received_at + SUBJECT_REQUEST_DAYS` (15) unless given; the assignee (or
whoever recorded the request) is reminded SUBJECT_REQUEST_REMIND_DAYS before and once
overdue, through the one notification mechanism.

Every change is audited on the request (the subject's identification is sealed in the
trail like every encrypted field); bundle generation and download are audited on the
request and on each contact exported. The audit trail itself is not erased: it is kept
under the legal obligation to account for processing, with personal fields sealed.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path, PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core import jobs, normalize, trail
from rapport.core.datetimes import to_utc
from rapport.core.errors import NotFound, PermissionDenied
from rapport.core.models import Job
from rapport.core.notifications import registry as notification_registry
from rapport.core.notifications.services import notify
from rapport.customers import history
from rapport.customers import services as customer_services
from rapport.customers.models import (
    Attachment,
    Consent,
    Contact,
    ContactIdentifier,
    IdentifierKind,
    Interaction,
)
from rapport.customers.services.anonymize import identifying_terms
from rapport.customers.validators import (
    identifier_blind,
    normalize_email,
    normalize_id_number,
    normalize_phone,
)
from rapport.identity import policy
from rapport.identity.models import Action, User
from rapport.service import services as service_services

from .models import (
    DuplicatePair,
    ImportRow,
    MatchState,
    SubjectMatch,
    SubjectRequest,
    SubjectRequestChannel,
    SubjectRequestKind,
    SubjectRequestStatus,
)

OBJECT_TYPE = SubjectRequest.security_type
BUNDLE_KIND = "dataops.privacy_bundle"
MATCH_LIMIT = 200
AUDIT_LIMIT = 5000
DUE_SOON = "dataops.subject_request_due"
OVERDUE = "dataops.subject_request_overdue"
ASSIGNED = "dataops.subject_request_assigned"
REASON_LABELS = {
    "phone": gettext_lazy("same phone"),
    "email": gettext_lazy("same e-mail"),
    "id_number": gettext_lazy("same ID number"),
    "name": gettext_lazy("same name"),
}
AUDIT_NOTE = gettext_lazy(
    "The audit trail is not erased: its entries are kept under the legal obligation to "
    "account for processing, with personal values sealed by the field key. Names in older "
    "entries remain until audit retention removes them."
)
SUBJECT_FIELDS = ("subject_name", "subject_phone", "subject_email", "subject_id_number")
AUDITED_FIELDS = (
    "kind",
    "channel",
    *SUBJECT_FIELDS,
    "details",
    "received_at",
    "due_at",
    "status",
    "assignee",
    "outcome_note",
)


def register_messages() -> None:
    notification_registry.register(
        DUE_SOON,
        gettext_lazy("Data-subject request #%(id)s is due %(due)s."),
        datetimes=("due",),
        email=True,
    )
    notification_registry.register(
        OVERDUE,
        gettext_lazy("Data-subject request #%(id)s is overdue: it was due %(due)s."),
        datetimes=("due",),
        email=True,
    )
    notification_registry.register(
        ASSIGNED,
        gettext_lazy("%(actor)s gave you data-subject request #%(id)s, due %(due)s."),
        datetimes=("due",),
    )


def _refuse(name: str, message: str, code: str) -> ValidationError:
    return ValidationError({name: ValidationError(message, code=code)})


def can_manage(user: User, request: SubjectRequest | None = None) -> bool:
    if request is None:
        return policy.has_grant(user, OBJECT_TYPE, Action.MANAGE)
    return policy.can(user, Action.MANAGE, request)


def _require_manage(actor: User, request: SubjectRequest) -> None:
    if not policy.can(actor, Action.VIEW, request) and not policy.can(
        actor, Action.MANAGE, request
    ):
        raise NotFound()
    policy.require(actor, Action.MANAGE, request)


def _require_open(request: SubjectRequest) -> None:
    if not request.is_open:
        raise _refuse(
            "status",
            _("This request is closed (%(status)s).") % {"status": request.get_status_display()},
            "closed",
        )


def default_due(received_at: datetime) -> datetime:
    return received_at + timedelta(days=settings.SUBJECT_REQUEST_DAYS)


def requests_for(user: User):
    """The requests `user` may view, with what the list shows, in one query."""
    return (
        SubjectRequest.objects.restrict(user, Action.VIEW)
        .select_related("assignee", "created_by")
        .annotate(
            match_count=Count("matches", filter=~Q(matches__state=MatchState.REJECTED)),
            confirmed_count=Count("matches", filter=Q(matches__state=MatchState.CONFIRMED)),
        )
    )


def get_request(user: User, pk: Any) -> SubjectRequest:
    return policy.get_for(user, Action.VIEW, SubjectRequest, pk)


# --- subject identification ----------------------------------------------------------------


def _clean_subject(values: dict[str, Any]) -> dict[str, Any]:
    """Normalise the subject's identification (errors name the field); one is needed."""
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {}
    if "subject_name" in values:
        cleaned["subject_name"] = normalize.text(values.get("subject_name") or "")[:120]
    for name, normalizer in (
        ("subject_phone", normalize_phone),
        ("subject_email", normalize_email),
        ("subject_id_number", normalize_id_number),
    ):
        if name in values:
            try:
                cleaned[name] = normalizer(str(values.get(name) or ""))
            except ValidationError as error:
                errors.setdefault(name, []).append(error)
    if errors:
        raise ValidationError(errors)
    return cleaned


@dataclass
class Found:
    contact: Contact
    reasons: list[str] = field(default_factory=list)


def find_contacts(
    actor: User,
    *,
    name: str = "",
    phone: str = "",
    email: str = "",
    id_number: str = "",
) -> list[Found]:
    """Contacts the actor may see whose phone, e-mail or ID number equals the given one
    (blind index) or whose name is exactly the given name; strongest evidence first.
    Anonymized contacts are left out (nothing of the person is left in them)."""
    visible = Contact.objects.restrict(actor, Action.VIEW).filter(anonymized_at__isnull=True)
    reasons: dict[int, list[str]] = defaultdict(list)
    for kind, value in (
        (IdentifierKind.ID_NUMBER, id_number),
        (IdentifierKind.EMAIL, email),
        (IdentifierKind.PHONE, phone),
    ):
        if not value:
            continue
        ids = ContactIdentifier.objects.filter(
            kind=kind, blind=identifier_blind(kind, value), contact__in=visible.values("pk")
        ).values_list("contact_id", flat=True)
        for contact_id in ids[:MATCH_LIMIT]:
            if kind not in reasons[contact_id]:
                reasons[contact_id].append(str(kind))
    name = normalize.text(name or "")
    if name:
        for contact_id in visible.filter(name=name).values_list("pk", flat=True)[:MATCH_LIMIT]:
            reasons[contact_id].append("name")
    contacts = Contact.objects.in_bulk(list(reasons))
    strength = {"id_number": 4, "email": 3, "phone": 3, "name": 1}
    found = [Found(contacts[pk], reasons[pk]) for pk in reasons if pk in contacts]
    found.sort(key=lambda f: (-sum(strength[r] for r in f.reasons), f.contact.pk))
    return found


def reason_texts(reasons: list[str]) -> list[str]:
    return [str(REASON_LABELS.get(code, code)) for code in reasons]


# --- requests ------------------------------------------------------------------------------


def _notify_assigned(actor: User | None, request: SubjectRequest) -> None:
    if request.assignee_id is None or (actor is not None and request.assignee_id == actor.pk):
        return
    from django.urls import reverse

    notify(
        recipient=request.assignee,
        kind="privacy.assigned",
        message_key=ASSIGNED,
        params={
            "actor": str(actor) if actor is not None else "Rapport",
            "id": request.pk,
            "kind": request.kind,
            "due": request.due_at.isoformat(),
        },
        target=request,
        url=reverse("dataops:privacy_request_detail", args=[request.pk]),
    )


def _check_assignee(assignee: User | None) -> None:
    if assignee is not None and not assignee.is_active:
        raise _refuse("assignee", _("The assignee is deactivated."), "inactive")
    if assignee is not None and not (
        assignee.is_superuser or policy.has_grant(assignee, OBJECT_TYPE, Action.MANAGE)
    ):
        raise _refuse(
            "assignee",
            _("%(user)s may not handle data-subject requests.") % {"user": assignee},
            "no_grant",
        )


def _moment(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    moment = to_utc(value, dates=True)
    if moment is None:
        raise _refuse(name, _("Enter a valid date and time."), "invalid")
    return moment


def request_create(
    *,
    actor: User,
    kind: str,
    subject_name: str = "",
    subject_phone: str = "",
    subject_email: str = "",
    subject_id_number: str = "",
    details: str = "",
    channel: str = SubjectRequestChannel.EMAIL,
    received_at: datetime | str | None = None,
    due_at: datetime | str | None = None,
    assignee: User | None = None,
) -> SubjectRequest:
    """Record a request (needs manage on data-subject requests) and look for the person at
    once. The deadline defaults to SUBJECT_REQUEST_DAYS after receipt. Audited (the
    identification sealed); the assignee is told."""
    if not can_manage(actor):
        raise PermissionDenied()
    if kind not in SubjectRequestKind.values:
        raise _refuse(
            "kind", _("“%(value)s” is not a valid choice.") % {"value": kind}, "invalid_choice"
        )
    if channel not in SubjectRequestChannel.values:
        raise _refuse(
            "channel",
            _("“%(value)s” is not a valid choice.") % {"value": channel},
            "invalid_choice",
        )
    subject = _clean_subject(
        {
            "subject_name": subject_name,
            "subject_phone": subject_phone,
            "subject_email": subject_email,
            "subject_id_number": subject_id_number,
        }
    )
    if not any(subject.values()):
        raise _refuse(
            "subject_name",
            _("Say who the person is: a name, phone, e-mail or ID number."),
            "required",
        )
    received = _moment(received_at, "received_at") or timezone.now()
    if received > timezone.now() + timedelta(minutes=5):
        raise _refuse("received_at", _("The request cannot come from the future."), "future")
    due = _moment(due_at, "due_at") or default_due(received)
    if due < received:
        raise _refuse("due_at", _("The deadline is before the request came in."), "before")
    _check_assignee(assignee)
    with transaction.atomic():
        request = SubjectRequest.objects.create(
            kind=kind,
            channel=channel,
            details=str(details or "").strip()[:5000],
            received_at=received,
            due_at=due,
            assignee=assignee,
            created_by=actor,
            **subject,
        )
        trail.record(
            actor=actor,
            action="create",
            target=request,
            changes=trail.diff({}, trail.snapshot(request, AUDITED_FIELDS)),
        )
        _notify_assigned(actor, request)
        request_find(actor=actor, request=request)
    return request


def request_update(
    *,
    actor: User,
    request: SubjectRequest,
    assignee: User | None | str = "unchanged",
    due_at: datetime | str | None = None,
    details: str | None = None,
) -> SubjectRequest:
    """Hand the request to someone (None: nobody), move its deadline, or add to its
    details. Audited with before/after; a new assignee is told."""
    _require_manage(actor, request)
    _require_open(request)
    before = trail.snapshot(request, AUDITED_FIELDS)
    if assignee != "unchanged":
        _check_assignee(assignee)  # type: ignore[arg-type]
        request.assignee = assignee  # type: ignore[assignment]
    if due_at not in (None, ""):
        due = _moment(due_at, "due_at")
        if due is not None and due < request.received_at:
            raise _refuse("due_at", _("The deadline is before the request came in."), "before")
        request.due_at = due
    if details is not None:
        request.details = str(details).strip()[:5000]
    after = trail.snapshot(request, AUDITED_FIELDS)
    changes = trail.diff(before, after)
    if not changes:
        return request
    with transaction.atomic():
        request.save()
        trail.record(actor=actor, action="update", target=request, changes=changes)
        if "assignee" in changes:
            _notify_assigned(actor, request)
    return request


def _set_status(
    actor: User | None, request: SubjectRequest, status: str, note: str | None = None
) -> None:
    before = trail.snapshot(request, ("status", "outcome_note"))
    request.status = status
    if note is not None:
        request.outcome_note = note
    if status in (SubjectRequestStatus.COMPLETED, SubjectRequestStatus.REJECTED):
        request.closed_at = timezone.now()
    request.save()
    trail.record(
        actor=actor,
        action="privacy.status",
        target=request,
        changes=trail.diff(before, trail.snapshot(request, ("status", "outcome_note"))),
    )


def _started(actor: User, request: SubjectRequest) -> None:
    if request.status == SubjectRequestStatus.RECEIVED:
        _set_status(actor, request, SubjectRequestStatus.IN_PROGRESS)


def request_start(*, actor: User, request: SubjectRequest) -> SubjectRequest:
    """Received → in progress (the other actions do it on their own too)."""
    _require_manage(actor, request)
    _require_open(request)
    with transaction.atomic():
        _started(actor, request)
    return request


def request_complete(
    *, actor: User, request: SubjectRequest, outcome_note: str = ""
) -> SubjectRequest:
    """Close the request as done. An access request with confirmed matches needs its bundle
    first; an erasure request, its anonymization. Audited."""
    _require_manage(actor, request)
    _require_open(request)
    confirmed = request.matches.filter(state=MatchState.CONFIRMED).exists()
    if confirmed and request.kind == SubjectRequestKind.ACCESS:
        job = request.bundle_job
        if job is None or job.state != Job.State.SUCCEEDED:
            raise _refuse(
                "bundle",
                _("Generate the data bundle for the person before completing the request."),
                "no_bundle",
            )
    if confirmed and request.kind == SubjectRequestKind.ERASURE and request.erased_at is None:
        raise _refuse(
            "erasure",
            _("Anonymize the confirmed contacts before completing the request, or reject it."),
            "not_erased",
        )
    with transaction.atomic():
        _set_status(actor, request, SubjectRequestStatus.COMPLETED, str(outcome_note).strip())
    return request


def request_reject(*, actor: User, request: SubjectRequest, reason: str) -> SubjectRequest:
    """Close the request as refused, saying why (identity not proven, manifestly unfounded,
    a legal obligation to keep the data …). Audited."""
    _require_manage(actor, request)
    _require_open(request)
    reason = str(reason or "").strip()
    if not reason:
        raise _refuse("reason", _("Say why the request is rejected."), "required")
    with transaction.atomic():
        _set_status(actor, request, SubjectRequestStatus.REJECTED, reason)
    return request


# --- matches -------------------------------------------------------------------------------


def request_find(*, actor: User, request: SubjectRequest) -> list[SubjectMatch]:
    """Look for the person again: new matches are added to confirm, earlier decisions stay.
    Returns every match that is not rejected."""
    _require_manage(actor, request)
    found = find_contacts(
        actor,
        name=request.subject_name,
        phone=request.subject_phone,
        email=request.subject_email,
        id_number=request.subject_id_number,
    )
    with transaction.atomic():
        existing = {match.contact_id: match for match in request.matches.all()}
        added = 0
        for item in found:
            match = existing.get(item.contact.pk)
            if match is None:
                SubjectMatch.objects.create(
                    request=request, contact=item.contact, reasons=item.reasons
                )
                added += 1
            elif match.reasons != item.reasons:
                match.reasons = item.reasons
                match.save(update_fields=["reasons"])
        trail.record(
            actor=actor,
            action="privacy.find",
            target=request,
            extra={"found": len(found), "added": added},
        )
    return list(
        request.matches.exclude(state=MatchState.REJECTED).select_related(
            "contact", "contact__owner"
        )
    )


def match_decide(*, actor: User, request: SubjectRequest, contacts: list[int], state: str) -> int:
    """Say which matched contacts are (confirmed) or are not (rejected) the person. Returns
    how many changed. Audited with the contact ids."""
    _require_manage(actor, request)
    _require_open(request)
    if state not in MatchState.values:
        raise _refuse(
            "state", _("“%(value)s” is not a valid choice.") % {"value": state}, "invalid_choice"
        )
    ids = {int(pk) for pk in contacts}
    matches = list(request.matches.filter(contact_id__in=ids))
    if len(matches) != len(ids):
        raise _refuse("contacts", _("Choose contacts matched for this request."), "not_matched")
    if state != MatchState.CONFIRMED and any(m.anonymized_at for m in matches):
        raise _refuse("contacts", _("An anonymized contact stays confirmed."), "anonymized")
    changing = [match for match in matches if match.state != state]
    if not changing:
        return 0
    now = timezone.now()
    with transaction.atomic():
        SubjectMatch.objects.filter(pk__in=[m.pk for m in changing]).update(
            state=state, decided_by=actor, decided_at=now
        )
        _started(actor, request)
        trail.record(
            actor=actor,
            action="privacy.match",
            target=request,
            extra={"state": state, "contacts": sorted(m.contact_id for m in changing)},
        )
    return len(changing)


def confirmed_contacts(request: SubjectRequest) -> list[Contact]:
    return [
        match.contact
        for match in request.matches.filter(state=MatchState.CONFIRMED)
        .select_related("contact")
        .order_by("contact_id")
    ]


def related_counts(contact_ids: list[int]) -> dict[int, dict[str, Any]]:
    """What hangs off each contact (a fixed number of queries whatever the count)."""
    from rapport.audit.models import AuditEvent
    from rapport.customers.models import AccountContact

    counts: dict[int, dict[str, Any]] = {
        pk: {
            "interactions": 0,
            "tasks": 0,
            "participations": 0,
            "consents": 0,
            "attachments": 0,
            "audit_events": 0,
            "accounts": [],
        }
        for pk in contact_ids
    }
    if not contact_ids:
        return counts
    rows = (
        Interaction.objects.filter(contact_id__in=contact_ids)
        .values("contact_id")
        .annotate(
            tasks=Count("pk", filter=Q(kind="task")), others=Count("pk", filter=~Q(kind="task"))
        )
    )
    for row in rows:
        counts[row["contact_id"]]["tasks"] = row["tasks"]
        counts[row["contact_id"]]["interactions"] = row["others"]
    through = Interaction.participant_contacts.through
    for row in (
        through.objects.filter(contact_id__in=contact_ids)
        .values("contact_id")
        .annotate(n=Count("pk"))
    ):
        counts[row["contact_id"]]["participations"] = row["n"]
    for row in (
        Consent.objects.filter(contact_id__in=contact_ids)
        .values("contact_id")
        .annotate(n=Count("pk"))
    ):
        counts[row["contact_id"]]["consents"] = row["n"]
    for row in (
        Attachment.objects.filter(interaction__contact_id__in=contact_ids)
        .values("interaction__contact_id")
        .annotate(n=Count("pk"))
    ):
        counts[row["interaction__contact_id"]]["attachments"] = row["n"]
    for row in (
        AuditEvent.objects.filter(
            object_type=Contact.security_type, object_id__in=[str(pk) for pk in contact_ids]
        )
        .values("object_id")
        .annotate(n=Count("pk"))
    ):
        counts[int(row["object_id"])]["audit_events"] = row["n"]
    for link in (
        AccountContact.objects.filter(contact_id__in=contact_ids)
        .select_related("account")
        .order_by("account__name")
    ):
        counts[link.contact_id]["accounts"].append(
            {"id": link.account_id, "name": link.account.name, "role": link.get_role_display()}
        )
    return counts


# --- the access bundle ---------------------------------------------------------------------


def bundle_start(*, actor: User, request: SubjectRequest) -> Job:
    """A job writing the person's data bundle (a zip of JSON, a readable HTML page, the same
    page as a PDF, and the attachments) for the confirmed matches. Audited."""
    _require_manage(actor, request)
    _require_open(request)
    if request.erased_at is not None:
        raise _refuse(
            "bundle",
            _("The contacts were anonymized: there is nothing of the person left to export."),
            "erased",
        )
    if not request.matches.filter(state=MatchState.CONFIRMED).exists():
        raise _refuse(
            "contacts", _("Confirm at least one matched contact first."), "none_confirmed"
        )
    with transaction.atomic():
        job = jobs.job_create(
            actor=actor,
            kind=BUNDLE_KIND,
            title=_("Data bundle for request #%(id)s") % {"id": request.pk},
            total=request.matches.filter(state=MatchState.CONFIRMED).count(),
            params={"request": request.pk, "language": translation.get_language()},
        )
        request.bundle_job = job
        request.save(update_fields=["bundle_job", "updated_at"])
        _started(actor, request)
        trail.record(actor=actor, action="privacy.bundle", target=request, extra={"job": job.pk})
    return job


def bundle_path(job: Job) -> Path:
    # under exports/: left out of backups like every export, removed by retention
    folder = Path(settings.MEDIA_ROOT) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"privacy-{job.pk}.zip"


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _custom_labels() -> dict[str, str]:
    from rapport.core.customfields.models import CustomField

    return {
        f.key: f.display_label
        for f in CustomField.objects.filter(object_type=Contact.security_type)
    }


def subject_data(request: SubjectRequest, contacts: list[Contact]) -> dict[str, Any]:
    """Everything kept about the person, decrypted, as plain JSON-able values."""
    from rapport.audit.models import AuditEvent
    from rapport.core.tags.selectors import tags_of

    ids = [contact.pk for contact in contacts]
    labels = _custom_labels()
    related = related_counts(ids)
    tags = tags_of(contacts)
    interactions: dict[int, list[Interaction]] = defaultdict(list)
    for interaction in (
        Interaction.objects.filter(contact_id__in=ids)
        .select_related("account", "owner", "assignee")
        .prefetch_related("attachments")
        .order_by("occurred_at", "pk")
    ):
        interactions[interaction.contact_id].append(interaction)
    participations: dict[int, list[Interaction]] = defaultdict(list)
    through = Interaction.participant_contacts.through
    for row in through.objects.filter(contact_id__in=ids).select_related("interaction"):
        participations[row.contact_id].append(row.interaction)
    from rapport.service.models import Ticket

    tickets: dict[int, list[Ticket]] = defaultdict(list)
    for ticket in (
        Ticket.objects.filter(contact_id__in=ids)
        .prefetch_related("messages")
        .order_by("created_at", "id")
    ):
        tickets[ticket.contact_id].append(ticket)
    from rapport.service.services.surveys import survey_rows_for_contacts

    surveys = survey_rows_for_contacts(ids)
    from rapport.service.services.complaints import complaint_rows_for_contacts

    complaints = complaint_rows_for_contacts(ids)
    consents: dict[int, list[Consent]] = defaultdict(list)
    for consent in Consent.objects.filter(contact_id__in=ids).order_by("channel", "purpose"):
        consents[consent.contact_id].append(consent)
    events: dict[int, list[AuditEvent]] = defaultdict(list)
    for event in AuditEvent.objects.filter(
        object_type=Contact.security_type, object_id__in=[str(pk) for pk in ids]
    ).order_by("seq")[:AUDIT_LIMIT]:
        events[int(event.object_id)].append(event)
    people = []
    for contact in contacts:
        people.append(
            {
                "id": contact.pk,
                "name": contact.name,
                "title": contact.title,
                "phones": list(contact.phones or []),
                "emails": list(contact.emails or []),
                "id_number": contact.id_number,
                "custom_fields": [
                    {"key": key, "label": labels.get(key, key), "value": value}
                    for key, value in sorted((contact.custom or {}).items())
                    if value not in (None, "", [], {})
                ],
                "owner": str(contact.owner),
                "created_at": _iso(contact.created_at),
                "updated_at": _iso(contact.updated_at),
                "active": contact.is_active,
                "accounts": related[contact.pk]["accounts"],
                "tags": [tag.name for tag in tags.get(contact.pk, [])],
                "consents": [
                    {
                        "channel": consent.get_channel_display(),
                        "purpose": consent.get_purpose_display(),
                        "status": consent.get_status_display(),
                        "source": consent.get_source_display(),
                        "evidence": consent.evidence,
                        "at": _iso(consent.given_at),
                    }
                    for consent in consents[contact.pk]
                ],
                "interactions": [
                    {
                        "id": item.pk,
                        "kind": item.get_kind_display(),
                        "subject": item.subject,
                        "notes": item.body,
                        "at": _iso(item.occurred_at),
                        "direction": item.get_direction_display() if item.direction else "",
                        "outcome": item.get_outcome_display() if item.outcome else "",
                        "duration_minutes": item.duration_minutes,
                        "next_step": item.next_step,
                        "account": item.account.name if item.account else "",
                        "due_at": _iso(item.due_at),
                        "done_at": _iso(item.done_at),
                        "by": str(item.owner),
                        "attachments": [
                            {
                                "file": f"attachments/{a.pk}-{PurePath(a.name).name}",
                                "name": a.name,
                                "type": a.content_type,
                                "size": a.size,
                                "uploaded_at": _iso(a.uploaded_at),
                            }
                            for a in item.attachments.all()
                        ],
                    }
                    for item in interactions[contact.pk]
                ],
                "took_part_in": [
                    {
                        "id": item.pk,
                        "kind": item.get_kind_display(),
                        "subject": item.subject,
                        "at": _iso(item.occurred_at),
                    }
                    for item in participations[contact.pk]
                ],
                "tickets": [
                    {
                        "number": ticket.number,
                        "subject": ticket.subject,
                        "description": ticket.description,
                        "status": ticket.get_status_display(),
                        "at": _iso(ticket.created_at),
                        "messages": [
                            {
                                "kind": message.get_kind_display(),
                                "body": message.body,
                                "at": _iso(message.created_at),
                            }
                            for message in ticket.messages.all()
                        ],
                    }
                    for ticket in tickets[contact.pk]
                ],
                "surveys": surveys.get(contact.pk, []),
                "complaints": complaints.get(contact.pk, []),
                "processing_history": [
                    {
                        "at": _iso(event.at),
                        "action": event.action,
                        "what": history.action_label(event.action),
                        "by": event.actor_repr,
                        "channel": event.channel,
                        "fields": sorted(event.changes or {}),
                        "field_labels": [
                            labels.get(name.removeprefix("custom."), name)
                            if name.startswith("custom.")
                            else history.field_label(Contact, name)
                            for name in sorted(event.changes or {})
                        ],
                    }
                    for event in events[contact.pk]
                ],
            }
        )
    return {
        "format": "rapport.subject-access/1",
        "request": {
            "id": request.pk,
            "kind": request.kind,
            "received_at": _iso(request.received_at),
            "due_at": _iso(request.due_at),
        },
        "generated_at": _iso(timezone.now()),
        "controller": getattr(settings, "SITE_URL", ""),
        "note": str(AUDIT_NOTE),
        "contacts": people,
    }


def bundle_pdf(html: str) -> bytes:
    """The readable page as a PDF (WeasyPrint, Chinese through the Noto CJK fonts). Nothing
    outside the page is fetched: the page holds no links to load, and a value that looked
    like one is text."""
    from weasyprint import HTML, URLFetcher

    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()


def _write_bundle(job: Job, request: SubjectRequest, contacts: list[Contact], path: Path) -> dict:
    data = subject_data(request, contacts)
    html = render_to_string(
        "dataops/privacy_bundle.html",
        {"data": data, "request": request, "language": translation.get_language()},
    )
    partial = path.with_suffix(".part")
    files = 0
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            f"request-{request.pk}.json", json.dumps(data, ensure_ascii=False, indent=2)
        )
        archive.writestr(f"request-{request.pk}.html", html)
        try:
            archive.writestr(f"request-{request.pk}.pdf", bundle_pdf(html))
        except OSError as error:  # WeasyPrint without its Pango library: the HTML stands
            jobs.job_progress(job=job, error={"pdf": "unavailable", "message": str(error)[:300]})
        for attachment in Attachment.objects.filter(
            interaction__contact__in=[c.pk for c in contacts]
        ).order_by("pk"):
            try:
                with attachment.file.open("rb") as handle:
                    archive.writestr(
                        f"attachments/{attachment.pk}-{PurePath(attachment.name).name}",
                        handle.read(),
                    )
                files += 1
            except (OSError, ValueError):  # a file lost from storage: the JSON still lists it
                jobs.job_progress(
                    job=job, error={"attachment": attachment.pk, "message": "missing"}
                )
    os.replace(partial, path)
    return {"contacts": len(contacts), "attachments": files}


def bundle_execute(job: Job) -> Job:
    """Write the bundle (again, from the start: it is small); finish the job; audit the
    export on the request and on each contact."""
    request = SubjectRequest.objects.filter(pk=job.params.get("request")).first()
    if request is None:
        jobs.job_finish(job=job, state=Job.State.FAILED, result={"error": "missing request"})
        return job
    contacts = confirmed_contacts(request)
    jobs.job_start(job=job)
    path = bundle_path(job)
    try:
        with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
            written = _write_bundle(job, request, contacts, path)
    except Exception as error:
        jobs.job_progress(job=job, error={"message": str(error)[:500]})
        jobs.job_finish(job=job, state=Job.State.FAILED)
        raise
    with transaction.atomic():
        jobs.job_progress(job=job, processed=len(contacts), succeeded=len(contacts))
        jobs.job_finish(
            job=job, result={**written, "file": path.name, "bytes": path.stat().st_size}
        )
        for contact in contacts:
            trail.record(
                actor=job.created_by,
                action="export",
                target=contact,
                extra={"subject_request": request.pk, "job": job.pk, "format": "privacy"},
            )
    return job


def bundle_file(*, actor: User, request: SubjectRequest) -> Path:
    """The finished bundle, for whoever manages the request; the download is audited."""
    _require_manage(actor, request)
    job = request.bundle_job
    if job is None or job.kind != BUNDLE_KIND:
        raise NotFound()
    if job.state != Job.State.SUCCEEDED:
        raise _refuse("bundle", _("The bundle is not ready yet."), "not_finished")
    path = bundle_path(job)
    if not path.exists():
        raise _refuse(
            "bundle",
            _("The bundle file was removed (retention); generate it again."),
            "removed",
        )
    trail.record(
        actor=actor,
        action="privacy.bundle.download",
        target=request,
        extra={"job": job.pk, "bytes": path.stat().st_size},
    )
    return path


# --- erasure -------------------------------------------------------------------------------


@dataclass
class Erasure:
    anonymized: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def request_erase(*, actor: User, request: SubjectRequest) -> Erasure:
    """Anonymize every confirmed contact of an erasure request (see
    `customers.services.contact_anonymize`), drop their duplicate pairs and the raw
    import cells that held them. All or nothing; contacts anonymized already are left
    as they are (a second run changes nothing). Needs manage on the request and delete
    on each contact. Audited on the request with counts."""
    _require_manage(actor, request)
    _require_open(request)
    if request.kind != SubjectRequestKind.ERASURE:
        raise _refuse(
            "kind", _("Only an erasure request anonymizes the person's data."), "not_erasure"
        )
    contacts = confirmed_contacts(request)
    if not contacts:
        raise _refuse(
            "contacts", _("Confirm at least one matched contact first."), "none_confirmed"
        )
    erasure = Erasure()
    totals: dict[str, int] = defaultdict(int)
    now = timezone.now()
    with transaction.atomic():
        for contact in contacts:
            terms = identifying_terms(contact)
            result = customer_services.contact_anonymize(
                actor=actor,
                contact=contact,
                reason="subject_request",
                extra={"subject_request": request.pk},
            )
            if result is None:
                erasure.already.append(contact.pk)
                continue
            totals["tickets"] += service_services.tickets_redact(
                actor=actor, contact_id=contact.pk, terms=terms
            )
            from rapport.service.services.surveys import surveys_redact

            totals["surveys"] += surveys_redact(actor=actor, contact_id=contact.pk)
            from rapport.service.services.complaints import complaints_redact

            totals["complaints"] += complaints_redact(
                actor=actor, contact_id=contact.pk, terms=terms
            )
            erasure.anonymized.append(contact.pk)
            for name, count in result.counts().items():
                totals[name] += count
        if erasure.anonymized:
            pairs = DuplicatePair.objects.filter(object_type=Contact.security_type).filter(
                Q(first_id__in=erasure.anonymized) | Q(second_id__in=erasure.anonymized)
            )
            totals["duplicate_pairs"], _by_model = pairs.delete()
            totals["import_rows"] = ImportRow.objects.filter(
                run__object_type=Contact.security_type, record_id__in=erasure.anonymized
            ).update(cells=[], before={})
            SubjectMatch.objects.filter(request=request, contact_id__in=erasure.anonymized).update(
                anonymized_at=now
            )
            request.erased_at = now
            request.save(update_fields=["erased_at", "updated_at"])
            _started(actor, request)
            trail.record(
                actor=actor,
                action="privacy.erase",
                target=request,
                extra={"contacts": erasure.anonymized, **totals},
            )
        elif request.erased_at is None and erasure.already:
            request.erased_at = now
            request.save(update_fields=["erased_at", "updated_at"])
    erasure.counts = dict(totals)
    return erasure


# --- deadlines -----------------------------------------------------------------------------


def reminders_send(*, now: datetime | None = None) -> int:
    """Remind the assignee (else whoever recorded it) of each open request due within
    SUBJECT_REQUEST_REMIND_DAYS, and again once it is overdue; each message once per
    deadline. Returns how many were delivered."""
    from django.urls import reverse

    now = now or timezone.now()
    soon = now + timedelta(days=settings.SUBJECT_REQUEST_REMIND_DAYS)
    delivered = 0
    open_requests = SubjectRequest.objects.filter(
        status__in=[SubjectRequestStatus.RECEIVED, SubjectRequestStatus.IN_PROGRESS],
        due_at__lte=soon,
    ).select_related("assignee", "created_by")
    for request in open_requests.iterator(chunk_size=500):
        recipient = request.assignee or request.created_by
        overdue = request.due_at < now
        key = OVERDUE if overdue else DUE_SOON
        with transaction.atomic():
            sent = notify(
                recipient=recipient,
                kind="privacy.deadline",
                message_key=key,
                params={"id": request.pk, "kind": request.kind, "due": request.due_at.isoformat()},
                target=request,
                url=reverse("dataops:privacy_request_detail", args=[request.pk]),
                idempotency_key=f"{key}:{request.pk}:{request.due_at.isoformat()}",
            )
        delivered += sent is not None
    return delivered
