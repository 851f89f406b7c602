"""Writes of the data operations app: review decisions on possible duplicates."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from rapport.core import trail
from rapport.core.errors import NotFound
from rapport.identity import policy
from rapport.identity.models import Action

from .models import DuplicatePair, PairState
from .selectors import records_of


def pair_dismiss(*, actor, pair: DuplicatePair) -> DuplicatePair:
    """ "Not duplicates": the pair leaves the review list and stays out of it when later
    scans find it again. Needs change on both records; audited."""
    first, second = records_of(actor, pair)
    if first is None or second is None:
        raise NotFound()
    policy.require(actor, Action.CHANGE, first)
    policy.require(actor, Action.CHANGE, second)
    with transaction.atomic():
        pair.state = PairState.DISMISSED
        pair.decided_by = actor
        pair.decided_at = timezone.now()
        pair.save(update_fields=["state", "decided_by", "decided_at"])
        trail.record(
            actor=actor,
            action="duplicate.dismiss",
            object_type="dataops.duplicate_pair",
            object_id=pair.pk,
            object_repr=f"{first} ~ {second}",
            extra={"type": pair.object_type, "records": [first.pk, second.pk]},
        )
    return pair
