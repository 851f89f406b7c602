"""Ending sign-in sessions: one's own, or (administrators) anyone's."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from rapport.core import trail
from rapport.core.errors import NotFound

from ..models import User
from ._common import _require_manage_users


def sessions_of(user: User) -> list:
    """The user's live sessions, newest activity first, in three queries whatever their number.

    allauth.usersessions tracks sessions; a tracked row whose session expired or now belongs to
    someone else is dropped on the way (sessions live in the database: SESSION_ENGINE default).
    """
    from allauth.usersessions.models import UserSession
    from django.contrib.sessions.models import Session

    tracked = list(UserSession.objects.filter(user=user).order_by("-last_seen_at", "-pk"))
    stores = Session.objects.filter(
        session_key__in=[session.session_key for session in tracked],
        expire_date__gt=timezone.now(),
    )
    live = {
        store.session_key
        for store in stores
        if str(store.get_decoded().get("_auth_user_id")) == str(user.pk)
    }
    stale = [session.pk for session in tracked if session.session_key not in live]
    if stale:
        UserSession.objects.filter(pk__in=stale).delete()
    return [session for session in tracked if session.session_key in live]


def session_end(*, actor: User, user: User, session_id: int) -> None:
    """End one session of `user`: their own, or anyone's for an administrator."""
    if actor.pk != user.pk:
        _require_manage_users(actor)
    session = next((item for item in sessions_of(user) if item.pk == session_id), None)
    if session is None:
        raise NotFound()
    with transaction.atomic():
        trail.record(
            actor=actor,
            action="session.end",
            target=user,
            extra={"session": session.pk, "ip": session.ip, "user_agent": session.user_agent[:200]},
        )
        session.end()


def sessions_end_all(*, actor: User, user: User, keep_session_key: str | None = None) -> int:
    """End every session of `user` (but `keep_session_key`, the caller's own, if given)."""
    if actor.pk != user.pk:
        _require_manage_users(actor)
    with transaction.atomic():
        ended = 0
        for session in sessions_of(user):
            if keep_session_key and session.session_key == keep_session_key:
                continue
            session.end()
            ended += 1
        trail.record(actor=actor, action="session.end_all", target=user, extra={"ended": ended})
    return ended
