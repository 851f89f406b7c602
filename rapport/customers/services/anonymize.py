"""Erasing a person while keeping the aggregates (PIPL art. 47, GDPR art. 17), and the
retention clean-ups of interactions and consents.

`contact_anonymize` keeps the contact's row, so that counts, dates, kinds and outcomes of
everything that hangs off it stay true for reports, and removes what identifies the person:

- the contact: name → "已匿名 #id" (in the site's language), job title, phones, e-mails,
  ID number and custom field values cleared, the blind-index rows deleted, deactivated and
  marked `anonymized_at` (duplicate scans, exports and matching leave it out; the record
  lock keeps anyone, the history tab's "restore" included, from writing data back);
- its interactions and tasks: kind, time, direction, outcome, duration, due/done dates,
  account and owner stay; subject, notes, next step and custom values are cleared
  (`redacted_at`), their attachments are deleted (rows now, files once committed);
- other interactions that name the person (where they took part, or at their accounts):
  the name, phones, e-mails and ID number are masked in the free text;
- consents stay as evidence of what the person agreed to (channel, purpose, status,
  source, time) without their evidence text; merge history loses the values it kept;
  notifications about the contact or its interactions lose their parameters;
- the contact's search document is removed.

Audit events are not touched: they are append-only and hash-chained, kept under the legal
obligation to account for processing (their personal fields are sealed with the field key);
names in older entries go when audit retention purges them. The anonymization itself is
one audit event naming the fields and counts, never the values.

Everything happens in one transaction: a failure stores nothing.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from rapport.core import events, locks, trail
from rapport.core.errors import NotFound, PermissionDenied
from rapport.core.notifications.models import Notification
from rapport.core.search import index as search_index
from rapport.identity import policy
from rapport.identity.models import Action, User

from ..models import (
    Attachment,
    Consent,
    Contact,
    ContactIdentifier,
    Interaction,
    MergeRecord,
)

PLACEHOLDER_NAME = _("Anonymized #%(id)s")
REDACTED_SUBJECT = _("(redacted)")
MASK = "***"
BATCH = 500
# Shorter terms (a one-character name) would mask half of every text.
MIN_TERM = 2


@dataclass
class Anonymized:
    """What one anonymization changed (counts only: never the values)."""

    contact_id: int
    fields: list[str]
    identifiers: int = 0
    interactions: int = 0
    attachments: int = 0
    mentions: int = 0
    consents: int = 0

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k not in ("contact_id", "fields")}


def site_text(message, **params) -> str:
    """A stored placeholder is written in the site's language, whoever triggers it."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(message) % params if params else str(message)


def anonymized_name(contact_id: int) -> str:
    return site_text(PLACEHOLDER_NAME, id=contact_id)


def locked_reason(record) -> str | None:
    """The record lock of an anonymized contact (registered with `core.locks`)."""
    if isinstance(record, Contact) and record.anonymized_at is not None:
        return str(_("This contact was anonymized; its data cannot be changed."))
    return None


def locked_reasons(records: Sequence) -> dict:
    return {record.pk: reason for record in records if (reason := locked_reason(record))}


def _check(actor: User | None, contact: Contact) -> None:
    """A person (not the retention schedule) needs to see the contact and hold delete on it."""
    if actor is None:
        return
    if not Contact.objects.restrict(actor, Action.VIEW).filter(pk=contact.pk).exists():
        raise NotFound()
    if not Contact.objects.restrict(actor, Action.DELETE).filter(pk=contact.pk).exists():
        raise PermissionDenied()


def identifying_terms(contact: Contact) -> list[str]:
    """What identifies the person in free text (for other modules masking it on an
    erasure: take them before `contact_anonymize` blanks the contact)."""
    return _terms(contact)


def mask_terms(text: str, terms: list[str]) -> str:
    """`text` with each of `terms` (as `identifying_terms` gives them) masked."""
    if not terms or not text:
        return text
    return _masked(text, re.compile("|".join(re.escape(term) for term in terms), re.IGNORECASE))


def _terms(contact: Contact) -> list[str]:
    """What identifies the person in free text: name, phones (international and national
    form), e-mails, ID number."""
    terms: list[str] = []
    if len(contact.name or "") >= MIN_TERM:
        terms.append(contact.name)
    for phone in contact.phones or []:
        terms.append(phone)
        if phone.startswith("+86"):
            terms.append(phone[3:])
    terms.extend(contact.emails or [])
    if contact.id_number:
        terms.append(contact.id_number)
    unique = list(dict.fromkeys(term for term in terms if len(term) >= MIN_TERM))
    return sorted(unique, key=len, reverse=True)  # longest first: "+86138…" before "138…"


def _masked(text: str, pattern: re.Pattern[str] | None) -> str:
    return pattern.sub(MASK, text) if pattern is not None and text else text


def _delete_files(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        with contextlib.suppress(OSError):  # already gone: nothing left to erase
            default_storage.delete(name)


def _drop_attachments(interaction_ids: Sequence[int]) -> int:
    """Delete the attachments of these interactions; their files go once committed."""
    removed = 0
    for start in range(0, len(interaction_ids), BATCH):
        chunk = interaction_ids[start : start + BATCH]
        attachments = Attachment.objects.filter(interaction_id__in=chunk)
        names = [name for name in attachments.values_list("file", flat=True) if name]
        count, _by_model = attachments.delete()
        removed += count
        if names:
            transaction.on_commit(partial(_delete_files, names))
    return removed


def _redact(interaction_ids: Sequence[int], now) -> int:
    subject = site_text(REDACTED_SUBJECT)
    changed = 0
    for start in range(0, len(interaction_ids), BATCH):
        chunk = interaction_ids[start : start + BATCH]
        changed += Interaction.objects.filter(pk__in=chunk).update(
            subject=subject, body="", next_step="", custom={}, redacted_at=now, updated_at=now
        )
    return changed


def _mask_mentions(contact: Contact, terms: list[str], own: set[int]) -> int:
    """Mask the person's name and identifiers in the text of interactions that are not
    theirs: those they took part in, and those at their accounts."""
    if not terms:
        return 0
    pattern = re.compile("|".join(re.escape(term) for term in terms), re.IGNORECASE)
    mentions = Q()
    for term in terms:
        mentions |= Q(subject__icontains=term) | Q(body__icontains=term)
        mentions |= Q(next_step__icontains=term)
    through = Interaction.participant_contacts.through
    took_part = through.objects.filter(contact_id=contact.pk).values("interaction_id")
    at_accounts = Contact.accounts.through.objects.filter(contact_id=contact.pk).values(
        "account_id"
    )
    candidates = (
        Interaction.objects.filter(Q(pk__in=took_part) | Q(account_id__in=at_accounts))
        .filter(mentions)
        .exclude(pk__in=own)
        .only("pk", "subject", "body", "next_step")
    )
    masked = 0
    for interaction in candidates.iterator(chunk_size=BATCH):
        values = {
            name: _masked(getattr(interaction, name), pattern)
            for name in ("subject", "body", "next_step")
        }
        changed = {
            name: value for name, value in values.items() if value != getattr(interaction, name)
        }
        if changed:
            Interaction.objects.filter(pk=interaction.pk).update(**changed)
            masked += 1
    return masked


def contact_anonymize(
    *, actor: User | None, contact: Contact, reason: str = "", extra: dict | None = None
) -> Anonymized | None:
    """Anonymize `contact` as the module docstring says, in one transaction. `actor` needs
    delete over the contact (None: the retention schedule). Returns what changed, or None
    when the contact was anonymized already (then nothing changes). Audited as
    `anonymize` with field names and counts; `reason` and `extra` (a request number, a
    retention policy) go into the event."""
    _check(actor, contact)
    if contact.anonymized_at is not None:
        return None
    locks.ensure_unlocked(contact)
    with transaction.atomic():
        current = Contact.objects.select_for_update().filter(pk=contact.pk).first()
        if current is None:
            raise NotFound()
        if current.anonymized_at is not None:
            return None
        now = timezone.now()
        terms = _terms(current)
        blanks = {
            "name": anonymized_name(current.pk),
            "title": "",
            "phones": [],
            "emails": [],
            "id_number": "",
            "custom": {},
        }
        fields = [name for name, blank in blanks.items() if getattr(current, name) != blank]
        for name, blank in blanks.items():
            setattr(current, name, blank)
        current.is_active = False
        current.anonymized_at = now
        current.save()
        result = Anonymized(contact_id=current.pk, fields=fields)
        result.identifiers, _by_model = ContactIdentifier.objects.filter(contact=current).delete()
        own = list(Interaction.objects.filter(contact=current).values_list("pk", flat=True))
        result.attachments = _drop_attachments(own)
        result.interactions = _redact(own, now)
        result.mentions = _mask_mentions(current, terms, set(own))
        result.consents = (
            Consent.objects.filter(contact=current).exclude(evidence="").update(evidence="")
        )
        MergeRecord.objects.filter(
            object_type=Contact.security_type, survivor_id=current.pk
        ).update(survivor_before={})
        MergeRecord.objects.filter(object_type=Contact.security_type, loser_id=current.pk).update(
            loser_before={}
        )
        Notification.objects.filter(
            Q(object_type=Contact.security_type, object_id=str(current.pk))
            | Q(object_type=Interaction.security_type, object_id__in=[str(pk) for pk in own])
        ).update(params={})
        trail.record(
            actor=actor,
            action="anonymize",
            target=current,
            extra={
                "reason": reason,
                "fields": fields,
                **result.counts(),
                **(extra or {}),
            },
        )
        events.emit(
            "record.updated",
            {"type": Contact.security_type, "id": current.pk, "fields": [*fields, "is_active"]},
        )
        # after the event's own refresh of the document: the contact leaves the index
        transaction.on_commit(partial(search_index.remove, Contact.security_type, [current.pk]))
    for name in (*blanks, "is_active", "anonymized_at", "updated_at"):
        setattr(contact, name, getattr(current, name))
    return result


# --- retention -----------------------------------------------------------------------------


def _require_all(actor: User | None, model, ids: Sequence[int], action: str) -> None:
    if actor is None or not ids:
        return
    allowed = model.objects.restrict(actor, action).filter(pk__in=ids).count()
    if allowed != len(set(ids)):
        raise PermissionDenied()


def interactions_redact(
    *, actor: User | None, interactions: Iterable[int], reason: str = "retention"
) -> int:
    """Clear the free text (subject, notes, next step, custom values) and the attachments of
    these interactions, keeping kind, time, outcome and links. Needs delete over each (None:
    the retention schedule). One audit event for the batch, naming the interactions."""
    ids = sorted({int(pk) for pk in interactions})
    _require_all(actor, Interaction, ids, Action.DELETE)
    ids = list(
        Interaction.objects.filter(pk__in=ids, redacted_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    if not ids:
        return 0
    with transaction.atomic():
        attachments = _drop_attachments(ids)
        count = _redact(ids, timezone.now())
        Notification.objects.filter(
            object_type=Interaction.security_type, object_id__in=[str(pk) for pk in ids]
        ).update(params={})
        trail.record(
            actor=actor,
            action="redact",
            object_type=Interaction.security_type,
            object_repr=str(Interaction._meta.verbose_name_plural),
            extra={"reason": reason, "count": count, "attachments": attachments, "ids": ids},
        )
    return count


def interactions_purge(
    *, actor: User | None, interactions: Iterable[int], reason: str = "retention"
) -> int:
    """Delete these interactions and their attachments for good (follow-ups lose their
    link). Needs delete over each (None: the retention schedule). One audit event for the
    batch, naming the interactions."""
    ids = sorted({int(pk) for pk in interactions})
    _require_all(actor, Interaction, ids, Action.DELETE)
    if not ids:
        return 0
    with transaction.atomic():
        attachments = _drop_attachments(ids)
        Notification.objects.filter(
            object_type=Interaction.security_type, object_id__in=[str(pk) for pk in ids]
        ).delete()
        count, _by_model = Interaction.objects.filter(pk__in=ids).delete()
        deleted = _by_model.get(Interaction._meta.label, 0)
        trail.record(
            actor=actor,
            action="purge",
            object_type=Interaction.security_type,
            object_repr=str(Interaction._meta.verbose_name_plural),
            extra={"reason": reason, "count": deleted, "attachments": attachments, "ids": ids},
        )
    return deleted


def consents_strip_evidence(
    *, actor: User | None, consents: Iterable[int], reason: str = "retention"
) -> int:
    """Keep these consents as evidence of the answer (channel, purpose, status, source,
    time) without their evidence text. Needs change over each consent's contact (None: the
    retention schedule). One audit event for the batch."""
    ids = sorted({int(pk) for pk in consents})
    if not ids:
        return 0
    if actor is not None:
        contact_ids = list(
            Consent.objects.filter(pk__in=ids).values_list("contact_id", flat=True).distinct()
        )
        _require_all(actor, Contact, contact_ids, Action.CHANGE)
    with transaction.atomic():
        count = Consent.objects.filter(pk__in=ids).exclude(evidence="").update(evidence="")
        trail.record(
            actor=actor,
            action="consent.strip",
            object_type="customers.consent",
            object_repr=str(Consent._meta.verbose_name_plural),
            extra={"reason": reason, "count": count, "ids": ids},
        )
    return count


def can_anonymize(user: User, contact: Contact) -> bool:
    return policy.can(user, Action.DELETE, contact)
