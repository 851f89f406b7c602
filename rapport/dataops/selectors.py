"""Reads of the data operations app, every one restricted to what the reader may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from rapport.customers.models import Account, Contact
from rapport.identity.models import Action

from .models import DuplicatePair, PairState

MODELS = {Account.security_type: Account, Contact.security_type: Contact}


def reason_text(reason: dict[str, Any]) -> str:
    code, score = reason.get("code"), reason.get("score")
    texts = {
        "credit_code": _("same unified social credit code"),
        "id_number": _("same ID number"),
        "email": _("same e-mail"),
        "phone": _("same phone"),
    }
    if code in texts:
        return texts[code]
    if code == "name_account":
        return _("similar name (%(score)d%%) at the same account") % {"score": score or 100}
    return _("similar name (%(score)d%%)") % {"score": score or 0}


def pairs_for(user, object_type: str) -> QuerySet[DuplicatePair]:
    """Open pairs of `object_type` whose two records `user` may see and are both active,
    best first."""
    model = MODELS[object_type]
    visible = model.objects.restrict(user, Action.VIEW).filter(is_active=True).values("pk")
    return DuplicatePair.objects.filter(
        object_type=object_type,
        state=PairState.OPEN,
        first_id__in=visible,
        second_id__in=visible,
    ).order_by("-score", "id")


def with_records(user, pairs: list[DuplicatePair]) -> list[DuplicatePair]:
    """Attach `.first` and `.second` (the records) and `.reason_texts`, in one query per type."""
    by_type: dict[str, set[int]] = {}
    for pair in pairs:
        by_type.setdefault(pair.object_type, set()).update((pair.first_id, pair.second_id))
    records = {
        object_type: MODELS[object_type]
        .objects.restrict(user, Action.VIEW)
        .only("pk", "name", "owner_id", "is_active")
        .in_bulk(list(ids))
        for object_type, ids in by_type.items()
    }
    for pair in pairs:
        found = records.get(pair.object_type, {})
        pair.first = found.get(pair.first_id)
        pair.second = found.get(pair.second_id)
        pair.reason_texts = [reason_text(reason) for reason in pair.reasons or []]
    return pairs


def records_of(user, pair: DuplicatePair) -> tuple[Any, Any]:
    model = MODELS.get(pair.object_type)
    if model is None:
        return None, None
    found = model.objects.restrict(user, Action.VIEW).in_bulk([pair.first_id, pair.second_id])
    return found.get(pair.first_id), found.get(pair.second_id)
