"""Named reads of accounts and contacts. Each takes a queryset already restricted to a user.

The plain substring search here is a stop-gap: the search index (Chinese + pinyin) in `core`
replaces `accounts_matching` / `contacts_matching` in a later issue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from rapport.audit.models import AuditEvent
from rapport.identity.models import Action, User

from .models import Account, Contact

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
        "tier": account.get_tier_display(),
        "lifecycle_stage": account.get_lifecycle_stage_display(),
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
    }


def with_owner(records: QuerySet) -> QuerySet:
    """Join the owner for display, leaving out columns no list needs (the password hash)."""
    return records.select_related("owner").defer("owner__password", "owner__last_login")


def accounts_matching(accounts: QuerySet, text: str) -> QuerySet:
    """Accounts whose name, short name or credit code contains `text` (any case)."""
    text = (text or "").strip()
    if not text:
        return accounts
    return accounts.filter(
        Q(name__icontains=text) | Q(short_name__icontains=text) | Q(credit_code__icontains=text)
    )


def contacts_matching(contacts: QuerySet, text: str) -> QuerySet:
    """Contacts whose name, job title, a phone or an e-mail contains `text` (any case)."""
    text = (text or "").strip()
    if not text:
        return contacts
    return contacts.filter(
        Q(name__icontains=text)
        | Q(title__icontains=text)
        | Q(phones__icontains=text)
        | Q(emails__icontains=text)
    )


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
