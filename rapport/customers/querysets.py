"""Named reads of accounts and contacts. Each takes a queryset already restricted to a user.

`accounts_matching` / `contacts_matching` go through the search index in `core` (Chinese
words, pinyin and initials, English prefixes, phones and e-mails by blind index).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet

from rapport.audit.models import AuditEvent
from rapport.core import search
from rapport.identity import policy
from rapport.identity.models import Action, FieldRule, User

from .models import Account, Contact, ContactIdentifier

CUSTOMER_MODELS: dict[str, type[Account] | type[Contact]] = {
    Account.security_type: Account,
    Contact.security_type: Contact,
}


def account_display_values(account: Account) -> dict[str, Any]:
    """The account's fields as people read them (choices by label), before field rules."""
    return {
        "short_name": account.short_name,
        "credit_code": account.credit_code,
        "industry": account.get_industry_display(),
        "tier": account.tier_label,
        "lifecycle_stage": account.lifecycle_stage_label,
        "province": account.province,
        "city": account.city,
        "address": account.address,
        "phone": account.phone,
        "website": account.website,
    }


def contact_display_values(contact: Contact) -> dict[str, Any]:
    """The contact's fields as people read them, before field rules."""
    return {
        "title": contact.title,
        "phones": list(contact.phones or []),
        "emails": list(contact.emails or []),
        "id_number": contact.id_number,
    }


def with_owner(records: QuerySet) -> QuerySet:
    """Join the owner for display, leaving out columns no list needs (the password hash)."""
    return records.select_related("owner").defer("owner__password", "owner__last_login")


# A fragment of a unified social credit code: its alphabet, and at least one digit.
CREDIT_CODE_FRAGMENT = re.compile(r"(?=.*\d)[0-9A-HJ-NP-RTUWXY]{4,18}")


def accounts_matching(accounts: QuerySet, text: str, user: User | None = None) -> QuerySet:
    """Accounts matching `text` in the search index (name, short name, credit code, city,
    province; pinyin; phone exactly), or whose credit code starts with it. Given `user`, a
    field hidden from them cannot be searched (that would confirm its value)."""
    text = (text or "").strip()
    if not text:
        return accounts
    code = text.upper().replace(" ", "")
    hidden = (
        user is not None
        and policy.field_rules(user, Account.security_type).get("credit_code")
        == FieldRule.Rule.HIDDEN
    )
    also = (
        Q(credit_code__startswith=code)
        if CREDIT_CODE_FRAGMENT.fullmatch(code) and not hidden
        else None
    )
    return search.filter_queryset(accounts, text, also=also, user=user)


def contacts_matching(contacts: QuerySet, text: str, user: User | None = None) -> QuerySet:
    """Contacts matching `text` in the search index (name, job title, accounts' names;
    pinyin; a phone or an e-mail exactly). Given `user`, a phone or e-mail hidden from them
    cannot be searched."""
    text = (text or "").strip()
    if not text:
        return contacts
    return search.filter_queryset(contacts, text, user=user)


@dataclass
class RecentRecord:
    """A customer record the user touched, with what they last did to it and when."""

    record: Account | Contact
    object_type: str
    action: str
    at: datetime


def recent_records(
    user: User, *, actions: Iterable[str], limit: int = 10, scan: int = 200
) -> list[RecentRecord]:
    """The user's latest `limit` distinct accounts/contacts with one of `actions`, newest first.

    Reads the user's own audit events (at most `scan` of them), then fetches the records in
    one query per type through `restrict`, so a record the user can no longer see is dropped.
    """
    events = (
        AuditEvent.objects.filter(
            actor=user, action__in=list(actions), object_type__in=list(CUSTOMER_MODELS)
        )
        .order_by("-at", "-seq")
        .values("object_type", "object_id", "action", "at")[:scan]
    )
    latest: dict[tuple[str, int], dict[str, Any]] = {}
    for event in events:
        if not event["object_id"].isdigit():
            continue
        latest.setdefault((event["object_type"], int(event["object_id"])), event)
    records: dict[tuple[str, int], Account | Contact] = {}
    for object_type, model in CUSTOMER_MODELS.items():
        ids = [pk for kind, pk in latest if kind == object_type]
        if not ids:
            continue
        for record in (
            model.objects.restrict(user, Action.VIEW)
            .filter(pk__in=ids)
            .only("id", "name", "is_active")
        ):
            records[(object_type, record.pk)] = record
    recent = [
        RecentRecord(
            record=records[key], object_type=key[0], action=event["action"], at=event["at"]
        )
        for key, event in latest.items()
        if key in records
    ]
    return recent[:limit]


# --- the 360 page ----------------------------------------------------------------------------

STALE_AFTER_DAYS = 90
TIMELINE_PAGE = 20
OPEN_TASKS_SHOWN = 10
# What timeline and task rows (pages, API, CLI) show of the people and customers they join:
# a user's name (`str(user)`: display name, full name or username) and the customer's name.
# Nothing else of them is read (not the password hash, nor a contact's encrypted fields).
INTERACTION_JOINS = ("owner", "contact", "account", "assignee", "done_by")
USER_SHOWN = ("username", "display_name", "first_name", "last_name")


def interactions_for(user: User, visible: QuerySet | None = None) -> QuerySet:
    """Interactions the user may see, with what every timeline row shows, in a fixed number of
    queries whatever the page size: owner, contact, account, assignee and done_by joined (only
    the names shown: `USER_SHOWN`, the customers' names), participants prefetched (only
    contacts the user may see), attachments prefetched.

    `visible` narrows the start to a cheaper restricted set when the caller has one
    (`Interaction.objects.of_customer(...)`, `.assigned_to(user)`); by default it is
    `restrict(user, "view")`."""
    from .models import Attachment, Interaction

    visible_contacts = Contact.objects.restrict(user, Action.VIEW).only("pk", "name")
    if visible is None:
        visible = Interaction.objects.restrict(user, Action.VIEW)
    return (
        visible.select_related(*INTERACTION_JOINS)
        .only(
            *(field.name for field in Interaction._meta.concrete_fields),
            *(
                f"{person}__{field}"
                for person in ("owner", "assignee", "done_by")
                for field in USER_SHOWN
            ),
            "account__name",
            "contact__name",
        )
        .prefetch_related(
            Prefetch(
                "participant_contacts", queryset=visible_contacts, to_attr="visible_participants"
            ),
            Prefetch(
                "participant_users", queryset=User.objects.only("pk", "username", "display_name")
            ),
            Prefetch(
                "attachments",
                queryset=Attachment.objects.filter(is_active=True).only(
                    "pk", "interaction_id", "name", "size", "content_type"
                ),
                to_attr="active_attachments",
            ),
        )
    )


def timeline(interactions: QuerySet) -> QuerySet:
    """What happened, newest first: every active interaction, and tasks once they are done."""
    return interactions.filter(is_active=True).exclude(kind="task", done_at__isnull=True)


def open_tasks(interactions: QuerySet) -> QuerySet:
    return interactions.filter(kind="task", is_active=True, done_at__isnull=True).order_by(
        F("due_at").asc(nulls_last=True), "id"
    )


@dataclass
class FieldChange:
    """Who last changed a field of a record, and when (read from the audit stream)."""

    who: str
    at: datetime


def last_changes(record: Account | Contact, fields: Iterable[str]) -> dict[str, FieldChange]:
    """For each field, the latest audit event that changed it (creation counts), one query per
    field on the (object_type, object_id, seq) index."""
    found: dict[str, FieldChange] = {}
    for field in fields:
        event = (
            AuditEvent.objects.filter(
                object_type=record.security_type,
                object_id=str(record.pk),
                changes__has_key=field,
            )
            .select_related("actor")
            .only("at", "actor_repr", "actor__username", "actor__display_name")
            .order_by("-seq")
            .first()
        )
        if event is not None:
            who = str(event.actor) if event.actor_id and event.actor else event.actor_repr
            found[field] = FieldChange(who=who, at=event.at)
    return found


@dataclass
class QualityHint:
    code: str
    message: str


def quality_hints(
    record: Account | Contact,
    *,
    last_interaction_at: datetime | None,
    contact_count: int | None = None,
    now: datetime | None = None,
) -> list[QualityHint]:
    """What is missing or stale on a customer record, as people would put it."""
    from django.utils import timezone
    from django.utils.translation import gettext as _

    now = now or timezone.now()
    hints: list[QualityHint] = []
    if isinstance(record, Account):
        if not record.phone:
            hints.append(QualityHint("missing_phone", _("No phone number.")))
        if not record.credit_code:
            hints.append(QualityHint("missing_credit_code", _("No unified social credit code.")))
        if not record.industry:
            hints.append(QualityHint("missing_industry", _("No industry.")))
        if contact_count == 0:
            hints.append(QualityHint("no_contacts", _("No contacts yet.")))
    else:
        if not record.phones:
            hints.append(QualityHint("missing_phone", _("No phone number.")))
        if not record.emails:
            hints.append(QualityHint("missing_email", _("No e-mail address.")))
    if last_interaction_at is None:
        hints.append(QualityHint("no_interactions", _("No interaction logged yet.")))
    elif (now - last_interaction_at).days >= STALE_AFTER_DAYS:
        hints.append(
            QualityHint(
                "stale",
                _("No interaction for %(days)d days.") % {"days": (now - last_interaction_at).days},
            )
        )
    return hints


# --- consent -----------------------------------------------------------------------------------


def contactable(contacts: QuerySet, *, channel: str, purpose: str) -> QuerySet:
    """The contacts that may be reached over `channel` for `purpose`: for marketing and
    research only those who granted it; for service everyone who has not withdrawn it.
    Everything that contacts people (campaigns, surveys, automated messages) filters
    through this."""
    from .models import OPT_IN_PURPOSES, Consent, ConsentStatus

    answers = Consent.objects.filter(contact=OuterRef("pk"), channel=channel, purpose=purpose)
    if purpose in OPT_IN_PURPOSES:
        return contacts.filter(Exists(answers.filter(status=ConsentStatus.GRANTED)))
    return contacts.exclude(Exists(answers.filter(status=ConsentStatus.WITHDRAWN)))


def consent_allows(contact: Contact, *, channel: str, purpose: str) -> bool:
    """Whether one contact may be reached over `channel` for `purpose` (see `contactable`)."""
    return contactable(
        Contact.objects.filter(pk=contact.pk), channel=channel, purpose=purpose
    ).exists()


@dataclass
class ConsentCell:
    channel: str
    purpose: str
    purpose_label: str
    consent: Any  # the Consent row, or None when the person was never asked
    allowed: bool


def consent_matrix(contact: Contact) -> list[dict[str, Any]]:
    """The contact's answers as rows per channel, one cell per purpose (one query)."""
    from .models import OPT_IN_PURPOSES, ConsentChannel, ConsentPurpose, ConsentStatus

    answers = {(c.channel, c.purpose): c for c in contact.consents.select_related("recorded_by")}
    rows = []
    for channel in ConsentChannel:
        cells = []
        for purpose in ConsentPurpose:
            consent = answers.get((channel.value, purpose.value))
            status = consent.status if consent else None
            allowed = (
                status == ConsentStatus.GRANTED
                if purpose in OPT_IN_PURPOSES
                else status != ConsentStatus.WITHDRAWN
            )
            cells.append(
                ConsentCell(channel.value, purpose.value, str(purpose.label), consent, allowed)
            )
        rows.append({"channel": channel.value, "label": channel.label, "cells": cells})
    return rows


def contacts_with_identifier(contacts: QuerySet, *, kind: str, value: str) -> QuerySet:
    """Contacts holding exactly this phone, e-mail or ID number, found through the blind
    index (the values themselves are encrypted). Raises ValidationError for a malformed one."""
    from .validators import (
        identifier_blind,
        normalize_email,
        normalize_id_number,
        normalize_phone,
    )

    normalize = {
        "phone": normalize_phone,
        "email": normalize_email,
        "id_number": normalize_id_number,
    }[kind]
    normalized = normalize(value)
    if not normalized:
        return contacts
    return contacts.filter(
        pk__in=ContactIdentifier.objects.filter(
            kind=kind, blind=identifier_blind(kind, normalized)
        ).values("contact_id")
    )


def contacts_sharing_identifiers(user: User, contact: Contact, limit: int = 5) -> list[Contact]:
    """Other contacts the user may see with the same phone, e-mail or ID number (a duplicate
    hint on the 360 page; two queries)."""
    mine = ContactIdentifier.objects.filter(contact=contact).values_list("kind", "blind")
    condition = Q()
    for kind, blind in mine:
        condition |= Q(kind=kind, blind=blind)
    if not condition:
        return []
    others = (
        ContactIdentifier.objects.filter(condition).exclude(contact=contact).values("contact_id")
    )
    return list(
        Contact.objects.restrict(user, Action.VIEW)
        .filter(pk__in=others)
        .only("pk", "name")
        .order_by("name", "id")[:limit]
    )
