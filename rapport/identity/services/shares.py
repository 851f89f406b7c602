"""Sharing one record with a user or a team, and taking the share back."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from rapport.core import trail

from .. import policy
from ..models import Action, RecordShare, Team, User


def record_share(
    *,
    actor: User,
    record,
    user: User | None = None,
    team: Team | None = None,
    level: str = RecordShare.Level.VIEW,
) -> RecordShare:
    """Share one record with a user or a team. The sharer must be able to change the record."""
    policy.require(actor, Action.CHANGE, record)
    if (user is None) == (team is None):
        raise ValidationError(
            {"user": ValidationError(_("Share with either a user or a team."), code="invalid")}
        )
    if level not in RecordShare.Level.values:
        raise ValidationError(
            {"level": ValidationError(_("Unknown share level."), code="invalid_choice")}
        )
    with transaction.atomic():
        share, _created = RecordShare.objects.update_or_create(
            content_type=ContentType.objects.get_for_model(record),
            object_id=record.pk,
            user=user,
            team=team,
            defaults={"level": level, "granted_by": actor},
        )
        trail.record(
            actor=actor,
            action="permission.share",
            target=record,
            extra={"user": user and user.pk, "team": team and team.pk, "level": level},
        )
    return share


def record_unshare(*, actor: User, share: RecordShare) -> None:
    record = share.content_type.get_object_for_this_type(pk=share.object_id)
    policy.require(actor, Action.CHANGE, record)
    with transaction.atomic():
        trail.record(
            actor=actor,
            action="permission.unshare",
            target=record,
            extra={"user": share.user_id, "team": share.team_id, "level": share.level},
        )
        share.delete()
