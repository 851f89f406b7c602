"""Account requests: a manager asks for an account; an administrator decides, or, when an
approval process for new accounts applies (`core.guards`), that process does: the request is
locked while the approval is pending, and the account is created (or the request rejected)
on the approval's authority when it ends."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import guards, locks, trail
from rapport.core.errors import DomainError, PermissionDenied

from .. import policy
from ..models import AccountRequest, Action, Department, Role, User
from ._common import _require_manage_users
from .users import _user_create, _validate_user_fields


def account_request_create(
    *,
    actor: User,
    username: str,
    email: str,
    display_name: str,
    department: Department | None = None,
    roles: list[Role] | None = None,
    reason: str = "",
) -> AccountRequest:
    """A manager asks for an account for a new colleague; an administrator decides."""
    if not (
        policy.has_grant(actor, "identity.user", Action.ADD)
        or actor.managed_departments.exists()
        or actor.led_teams.exists()
    ):
        raise PermissionDenied()
    username = (username or "").strip()
    email = (email or "").strip().lower()
    _validate_user_fields(
        user=None,
        username=username,
        email=email,
        language=settings.LANGUAGE_CODE,
        tz=settings.DEFAULT_USER_TIMEZONE,
    )
    errors = {}
    if not email:
        errors["email"] = ValidationError(_("Enter an e-mail address."), code="required")
    if not display_name.strip():
        errors["display_name"] = ValidationError(_("Enter the person's name."), code="required")
    if AccountRequest.objects.filter(
        username__iexact=username, state=AccountRequest.State.PENDING
    ).exists():
        errors["username"] = ValidationError(
            _("A request for this username is already pending."), code="duplicate"
        )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        request = AccountRequest.objects.create(
            requested_by=actor,
            username=username,
            email=email,
            display_name=display_name.strip(),
            department=department,
            reason=reason,
        )
        if roles:
            request.roles.set(roles)
        trail.record(
            actor=actor,
            action="account_request.create",
            target=request,
            extra={"roles": [r.code for r in roles or []]},
        )
        guards.submit(request, actor=actor)
    return request


def account_request_decide(
    *, actor: User, request: AccountRequest, approve: bool, note: str = ""
) -> AccountRequest:
    """Approve (creating the user, who sets a password by reset link) or reject a request.

    An administrator decides, unless the request is waiting for an approval process (then
    nobody does, until it ends). The approval engine calls this once the process has ended,
    with its system actor: the ended approval is the authority for that one decision."""
    by_approval = guards.outcome(request) == (guards.APPROVED if approve else guards.REJECTED)
    if not by_approval:
        _require_manage_users(actor)
    locks.ensure_unlocked(request)
    if request.state != AccountRequest.State.PENDING:
        raise DomainError(_("This request has already been decided."), code="already_decided")
    with transaction.atomic():
        if approve:
            user = _user_create(
                actor=actor,
                username=request.username,
                email=request.email,
                display_name=request.display_name,
                department=request.department,
                manager=request.requested_by,
                roles=list(request.roles.all()),
            )
            request.created_user = user
            request.state = AccountRequest.State.APPROVED
        else:
            request.state = AccountRequest.State.REJECTED
        request.decided_by = actor
        request.decided_at = timezone.now()
        request.decision_note = note
        request.save()
        trail.record(
            actor=actor,
            action="account_request.approve" if approve else "account_request.reject",
            target=request,
            changes={"state": ["pending", request.state]},
            extra={"by_approval": True} if by_approval else None,
        )
    return request
