"""Merging two records of one customer, and undoing it.

The survivor keeps its own values except where the user picks the other record's (`keep`:
{field: "other"}); blank fields of the survivor take the other's values; a contact's phones
and e-mails are the union of both. Everything hanging off the other record moves to the
survivor — interactions and tasks, the contacts at an account (or the accounts of a contact,
with their roles), child accounts, tags, consents (the newer answer per channel and purpose
wins) — and the other record is kept, deactivated, so that nothing is lost. Every change goes
through the same services as any edit (permissions, locks, validation, audit, events); one
`MergeRecord` remembers what the survivor was and what moved, so `merge_undo` puts it back.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import locks, trail
from rapport.core.errors import NotFound
from rapport.core.search import index as search_index
from rapport.core.tags.selectors import tags_of
from rapport.core.tags.services import records_tag, records_untag
from rapport.identity import policy
from rapport.identity.models import Action, User

from ..models import (
    Account,
    AccountContact,
    Consent,
    Contact,
    Interaction,
    MergeRecord,
)
from .records import (
    ACCOUNT_FIELDS,
    CONTACT_FIELDS,
    _set_active,
    account_update,
    contact_update,
)

# The fields whose value the user picks: the record's own fields, less those merged
# otherwise (custom fields: blanks filled; phones and e-mails: combined; accounts: links
# move) and those that are not the customer's data (owner, parent, state).
_NOT_PICKED = {"parent", "custom", "owner", "is_active", "phones", "emails", "accounts"}
ACCOUNT_MERGE_FIELDS = tuple(name for name in ACCOUNT_FIELDS if name not in _NOT_PICKED)
CONTACT_MERGE_FIELDS = tuple(name for name in CONTACT_FIELDS if name not in _NOT_PICKED)
# Values a record holds alone (unique): cleared on the other record before the survivor takes it.
UNIQUE_FIELDS = {"credit_code", "id_number"}
SURVIVOR, OTHER = "survivor", "other"


def merge_fields(model) -> tuple[str, ...]:
    return ACCOUNT_MERGE_FIELDS if model is Account else CONTACT_MERGE_FIELDS


def _refuse(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _check(actor: User, survivor, other) -> None:
    if type(survivor) is not type(other) or type(survivor) not in (Account, Contact):
        raise _refuse("other", _("Only two accounts or two contacts can be merged."), "type")
    if survivor.pk == other.pk:
        raise _refuse("other", _("Choose another record to merge with."), "same")
    for record in (survivor, other):
        if not policy.can(actor, Action.VIEW, record):
            raise NotFound()
        policy.require(actor, Action.CHANGE, record)
    policy.require(actor, Action.DELETE, other)  # it is deactivated
    if not other.is_active:
        raise _refuse("other", _("That record is inactive (merged already?)."), "inactive")
    if not survivor.is_active:
        raise _refuse("survivor", _("The record to keep is inactive."), "inactive")
    locks.ensure_all_unlocked([survivor, other])


def _blank(value: Any) -> bool:
    return value in (None, "", [], {})


def merged_values(survivor, other, keep: dict[str, str] | None = None) -> dict[str, Any]:
    """The survivor's changes: the other's value where chosen, or where the survivor's is
    blank; a contact's phones and e-mails are the union. Refuses unknown fields."""
    keep = dict(keep or {})
    fields = merge_fields(type(survivor))
    unknown = sorted(set(keep) - set(fields))
    if unknown:
        raise _refuse(unknown[0], _("This field cannot be chosen in a merge."), "unknown_field")
    bad = sorted(name for name, side in keep.items() if side not in (SURVIVOR, OTHER))
    if bad:
        raise _refuse(bad[0], _("Choose “survivor” or “other”."), "invalid_choice")
    values: dict[str, Any] = {}
    for name in fields:
        mine, theirs = getattr(survivor, name), getattr(other, name)
        side = keep.get(name, OTHER if _blank(mine) and not _blank(theirs) else SURVIVOR)
        if side == OTHER and theirs != mine:
            values[name] = theirs
    if isinstance(survivor, Contact):
        for name in ("phones", "emails"):
            mine_list = list(getattr(survivor, name) or [])
            union = list(dict.fromkeys([*mine_list, *(getattr(other, name) or [])]))
            if union != mine_list:
                values[name] = union
    custom = dict(survivor.custom or {})
    filled = {
        key: value
        for key, value in (other.custom or {}).items()
        if _blank(custom.get(key)) and not _blank(value)
    }
    if filled:
        values["custom"] = filled
    return values


def _refresh_after_commit(object_type: str, ids: list[int]) -> None:
    if ids:
        transaction.on_commit(lambda: search_index.refresh(object_type, ids))


def _move_links(survivor, other, moved: dict[str, Any]) -> None:
    """The contacts at an account / the accounts of a contact, with their roles."""
    mine = "account" if isinstance(survivor, Account) else "contact"
    theirs = "contact" if mine == "account" else "account"
    held = set(
        AccountContact.objects.filter(**{mine: survivor}).values_list(f"{theirs}_id", flat=True)
    )
    links = list(AccountContact.objects.filter(**{mine: other}))
    moving = [link.pk for link in links if getattr(link, f"{theirs}_id") not in held]
    AccountContact.objects.filter(pk__in=moving).update(**{f"{mine}_id": survivor.pk})
    moved["links"] = moving


def _move_consents(survivor: Contact, other: Contact, moved: dict[str, Any]) -> None:
    """The answer in force per channel and purpose is the newer of the two."""
    mine = {(c.channel, c.purpose): c for c in Consent.objects.filter(contact=survivor)}
    moved["consents"], moved["consents_replaced"] = [], []
    for consent in Consent.objects.filter(contact=other):
        current = mine.get((consent.channel, consent.purpose))
        if current is not None:
            if current.given_at >= consent.given_at:
                continue
            moved["consents_replaced"].append(
                {
                    "channel": current.channel,
                    "purpose": current.purpose,
                    "status": current.status,
                    "source": current.source,
                    "evidence": current.evidence,
                    "given_at": current.given_at.isoformat(),
                    "recorded_by": current.recorded_by_id,
                }
            )
            current.delete()
        Consent.objects.filter(pk=consent.pk).update(contact=survivor)
        moved["consents"].append(consent.pk)


def records_merge(
    *, actor: User, survivor: Account | Contact, other: Account | Contact, keep=None
) -> MergeRecord:
    """Merge `other` into `survivor` (see the module docstring). All or nothing."""
    _check(actor, survivor, other)
    values = merged_values(survivor, other, keep)
    model = type(survivor)
    object_type = model.security_type
    update = account_update if model is Account else contact_update
    with transaction.atomic():
        moved: dict[str, Any] = {}
        loser_before = {name: getattr(other, name) for name in UNIQUE_FIELDS if name in values}
        if loser_before:  # a unique identifier changes hands: the other record lets go first
            update(
                actor=actor,
                **{"account" if model is Account else "contact": other},
                audit_extra={"merging_into": survivor.pk},
                **dict.fromkeys(loser_before, ""),
            )
        survivor_before = {name: getattr(survivor, name) for name in values if name != "custom"}
        if "custom" in values:
            survivor_before["custom"] = dict.fromkeys(values["custom"])
        if values:
            update(
                actor=actor,
                **{"account" if model is Account else "contact": survivor},
                audit_extra={"merged_from": other.pk},
                **values,
            )
        field = "account" if model is Account else "contact"
        interactions = list(
            Interaction.objects.filter(**{field: other}).values_list("pk", flat=True)
        )
        Interaction.objects.filter(pk__in=interactions).update(**{field: survivor})
        moved["interactions"] = interactions
        if model is Contact:
            through = Interaction.participant_contacts.through
            already = set(
                through.objects.filter(contact_id=survivor.pk).values_list(
                    "interaction_id", flat=True
                )
            )
            rows = list(
                through.objects.filter(contact_id=other.pk)
                .exclude(interaction_id__in=already)
                .values_list("pk", flat=True)
            )
            through.objects.filter(pk__in=rows).update(contact_id=survivor.pk)
            moved["participations"] = rows
            _move_consents(survivor, other, moved)
        else:
            children = list(
                Account.objects.filter(parent=other)
                .exclude(pk=survivor.pk)
                .values_list("pk", flat=True)
            )
            Account.objects.filter(pk__in=children).update(parent=survivor)
            moved["children"] = children
        _move_links(survivor, other, moved)
        theirs = tags_of([other]).get(other.pk, [])
        have = {tag.pk for tag in tags_of([survivor]).get(survivor.pk, [])}
        adding = [tag for tag in theirs if tag.pk not in have]
        if adding:
            records_tag(actor=actor, records=[survivor], tags=adding)
        moved["tags"] = [tag.pk for tag in adding]
        _set_active(actor=actor, record=other, active=False, fields=())
        merge = MergeRecord.objects.create(
            object_type=object_type,
            survivor_id=survivor.pk,
            loser_id=other.pk,
            merged_by=actor,
            survivor_before=_jsonable(survivor_before),
            loser_before=loser_before,
            moved=moved,
        )
        counts = {key: len(value) for key, value in moved.items()}
        trail.record(
            actor=actor,
            action="merge",
            target=survivor,
            extra={"merge": merge.pk, "merged": other.pk, "fields": sorted(values), **counts},
        )
        trail.record(
            actor=actor,
            action="merged_into",
            target=other,
            extra={"merge": merge.pk, "survivor": survivor.pk},
        )
        _refresh_after_commit(Interaction.security_type, interactions)
        _refresh_after_commit(object_type, [survivor.pk, other.pk])
    return merge


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {name: (value.pk if hasattr(value, "pk") else value) for name, value in values.items()}


def merge_undo(*, actor: User, merge: MergeRecord) -> MergeRecord:
    """Put a merge back: the survivor's fields as they were, what moved back where it came
    from (what has since been changed to point elsewhere is left alone), the other record
    active again with its identifiers. The merger or anyone who may change both may."""
    model = Account if merge.object_type == Account.security_type else Contact
    survivor = model.objects.filter(pk=merge.survivor_id).first()
    other = model.objects.filter(pk=merge.loser_id).first()
    if survivor is None or other is None:
        raise NotFound()
    for record in (survivor, other):
        if not policy.can(actor, Action.VIEW, record):
            raise NotFound()
        policy.require(actor, Action.CHANGE, record)
    if merge.undone_at is not None:
        raise _refuse("merge", _("This merge has been undone already."), "undone")
    if other.is_active:
        raise _refuse("merge", _("The merged record is active again already."), "active")
    locks.ensure_unlocked(survivor)
    field = "account" if model is Account else "contact"
    update = account_update if model is Account else contact_update
    moved = merge.moved or {}
    with transaction.atomic():
        _set_active(actor=actor, record=other, active=True, fields=())
        before = dict(merge.survivor_before or {})
        custom = before.pop("custom", None)
        if custom:
            before["custom"] = custom
        if before:
            update(
                actor=actor,
                **{field: survivor},
                audit_extra={"merge_undone": merge.pk},
                **before,
            )
        if merge.loser_before:
            update(actor=actor, **{field: other}, **merge.loser_before)
        interactions = list(
            Interaction.objects.filter(
                pk__in=moved.get("interactions", []), **{field: survivor}
            ).values_list("pk", flat=True)
        )
        Interaction.objects.filter(pk__in=interactions).update(**{field: other})
        if model is Contact:
            through = Interaction.participant_contacts.through
            through.objects.filter(
                pk__in=moved.get("participations", []), contact_id=survivor.pk
            ).update(contact_id=other.pk)
            Consent.objects.filter(pk__in=moved.get("consents", []), contact=survivor).update(
                contact=other
            )
            for data in moved.get("consents_replaced", []):
                Consent.objects.get_or_create(
                    contact=survivor,
                    channel=data["channel"],
                    purpose=data["purpose"],
                    defaults={
                        "status": data["status"],
                        "source": data["source"],
                        "evidence": data["evidence"],
                        "given_at": data["given_at"],
                        "recorded_by_id": data["recorded_by"],
                    },
                )
        else:
            Account.objects.filter(pk__in=moved.get("children", []), parent=survivor).update(
                parent=other
            )
        AccountContact.objects.filter(pk__in=moved.get("links", []), **{field: survivor}).update(
            **{field: other}
        )
        if moved.get("tags"):
            from rapport.core.tags.models import Tag

            records_untag(
                actor=actor, records=[survivor], tags=list(Tag.objects.filter(pk__in=moved["tags"]))
            )
        merge.undone_by = actor
        merge.undone_at = timezone.now()
        merge.save(update_fields=["undone_by", "undone_at"])
        trail.record(
            actor=actor,
            action="merge_undo",
            target=survivor,
            extra={"merge": merge.pk, "merged": other.pk},
        )
        _refresh_after_commit(Interaction.security_type, interactions)
        _refresh_after_commit(merge.object_type, [survivor.pk, other.pk])
    return merge
