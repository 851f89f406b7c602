"""Every write to users: create, update, roles, password, deactivate, offboard, unlock."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.core.errors import DomainError
from rapport.core.models import OwnedModel

from .. import policy
from ..models import ApiToken, Department, PasswordHistory, Role, Team, User
from ._common import _require_manage_roles, _require_manage_users

USER_FIELDS = (
    "username",
    "email",
    "display_name",
    "phone",
    "title",
    "department",
    "manager",
    "language",
    "timezone",
    "is_active",
)


def _validate_user_fields(
    *, user: User | None, username: str, email: str, language: str, tz: str
) -> None:
    errors: dict[str, ValidationError] = {}
    if not username or not username.strip():
        errors["username"] = ValidationError(_("Enter a username."), code="required")
    else:
        try:
            User.username_validator(username)
        except ValidationError as error:
            errors["username"] = error
        duplicates = User.objects.filter(username__iexact=username)
        if user is not None:
            duplicates = duplicates.exclude(pk=user.pk)
        if "username" not in errors and duplicates.exists():
            errors["username"] = ValidationError(
                _("The username “%(username)s” is already taken.") % {"username": username},
                code="duplicate",
            )
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = ValidationError(_("Enter a valid e-mail address."), code="invalid")
        else:
            duplicates = User.objects.filter(email__iexact=email)
            if user is not None:
                duplicates = duplicates.exclude(pk=user.pk)
            if duplicates.exists():
                errors["email"] = ValidationError(
                    _("This e-mail address is already in use."), code="duplicate"
                )
    if language not in dict(settings.LANGUAGES):
        errors["language"] = ValidationError(_("Unknown language."), code="invalid_choice")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = ValidationError(
            _("Unknown time zone “%(tz)s”.") % {"tz": tz}, code="invalid_choice"
        )
    if errors:
        raise ValidationError(errors)


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.error_list}) from error


def _set_password(user: User, password: str) -> None:
    user.set_password(password)
    user.save(update_fields=["password"])
    PasswordHistory.objects.create(user=user, password=user.password)


def user_create(
    *,
    actor: User | None,
    username: str,
    email: str = "",
    password: str | None = None,
    display_name: str = "",
    department: Department | None = None,
    manager: User | None = None,
    roles: list[Role] | None = None,
    title: str = "",
    phone: str = "",
    language: str = settings.LANGUAGE_CODE,
    timezone_name: str = settings.DEFAULT_USER_TIMEZONE,
    is_superuser: bool = False,
) -> User:
    """Create an active user. `actor=None` only for the system (installation, demo data)."""
    if actor is not None:
        _require_manage_users(actor)
    return _user_create(
        actor=actor,
        username=username,
        email=email,
        password=password,
        display_name=display_name,
        department=department,
        manager=manager,
        roles=roles,
        title=title,
        phone=phone,
        language=language,
        timezone_name=timezone_name,
        is_superuser=is_superuser,
    )


def _user_create(
    *,
    actor: User | None,
    username: str,
    email: str = "",
    password: str | None = None,
    display_name: str = "",
    department: Department | None = None,
    manager: User | None = None,
    roles: list[Role] | None = None,
    title: str = "",
    phone: str = "",
    language: str = settings.LANGUAGE_CODE,
    timezone_name: str = settings.DEFAULT_USER_TIMEZONE,
    is_superuser: bool = False,
) -> User:
    """`user_create` once the actor's right to create users is established (by their grant,
    or by an approval that ended)."""
    username = (username or "").strip()
    email = (email or "").strip().lower()
    _validate_user_fields(
        user=None, username=username, email=email, language=language, tz=timezone_name
    )
    with transaction.atomic():
        user = User(
            username=username,
            email=email,
            display_name=display_name.strip(),
            department=department,
            manager=manager,
            title=title,
            phone=phone,
            language=language,
            timezone=timezone_name,
            is_superuser=is_superuser,
            is_staff=is_superuser,
        )
        if password:
            _validate_password(password, user)
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        if password:
            PasswordHistory.objects.create(user=user, password=user.password)
        if roles:
            user.roles.set(roles)
        trail.record(
            actor=actor,
            action="user.create",
            target=user,
            changes=trail.diff({}, trail.snapshot(user, (*USER_FIELDS, "roles"))),
        )
        events.emit("record.created", {"type": "identity.user", "id": user.pk})
    return user


def user_update(*, actor: User, user: User, **values: Any) -> User:
    """Change profile fields. A user may change their own language, time zone and name."""
    self_service = {"display_name", "language", "timezone", "phone"}
    if not (actor.pk == user.pk and set(values) <= self_service):
        _require_manage_users(actor)
    allowed = set(USER_FIELDS) - {"is_active"}
    unknown = set(values) - allowed
    if unknown:
        raise DomainError(
            _("Unknown field: %(field)s") % {"field": ", ".join(sorted(unknown))},
            code="unknown_field",
        )
    before = trail.snapshot(user, USER_FIELDS)
    for name, value in values.items():
        setattr(
            user, name, value.strip() if isinstance(value, str) and name != "timezone" else value
        )
    user.email = (user.email or "").lower()
    _validate_user_fields(
        user=user,
        username=user.username,
        email=user.email,
        language=user.language,
        tz=user.timezone,
    )
    with transaction.atomic():
        user.save()
        changes = trail.diff(before, trail.snapshot(user, USER_FIELDS))
        if changes:
            trail.record(actor=actor, action="user.update", target=user, changes=changes)
            events.emit(
                "record.updated", {"type": "identity.user", "id": user.pk, "fields": list(changes)}
            )
    return user


def user_set_roles(*, actor: User, user: User, roles: list[Role]) -> User:
    _require_manage_roles(actor)
    with transaction.atomic():
        before = sorted(user.roles.values_list("code", flat=True))
        user.roles.set(roles)
        after = sorted(role.code for role in roles)
        if before != after:
            trail.record(
                actor=actor,
                action="permission.user_roles",
                target=user,
                changes={"roles": [before, after]},
            )
    policy.forget(user)
    return user


def user_set_password(*, actor: User, user: User, password: str) -> User:
    if actor.pk != user.pk:
        _require_manage_users(actor)
    _validate_password(password, user)
    with transaction.atomic():
        _set_password(user, password)
        trail.record(actor=actor, action="user.password_change", target=user)
    return user


def _end_sessions(user: User) -> int:
    from allauth.usersessions.models import UserSession

    ended = 0
    for session in UserSession.objects.filter(user=user):
        session.end()
        ended += 1
    return ended


def _revoke_tokens(user: User) -> int:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def user_deactivate(*, actor: User, user: User, reason: str = "") -> User:
    """Deactivate (never delete): sign out every session and revoke every API token at once."""
    _require_manage_users(actor)
    if user.pk == actor.pk:
        raise DomainError(
            _("You cannot deactivate yourself."), code="self_deactivate", field="user"
        )
    with transaction.atomic():
        user.is_active = False
        user.deactivated_at = timezone.now()
        user.save(update_fields=["is_active", "deactivated_at"])
        sessions = _end_sessions(user)
        tokens = _revoke_tokens(user)
        trail.record(
            actor=actor,
            action="user.deactivate",
            target=user,
            changes={"is_active": [True, False]},
            extra={"reason": reason, "sessions_ended": sessions, "tokens_revoked": tokens},
        )
    return user


def user_reactivate(*, actor: User, user: User) -> User:
    _require_manage_users(actor)
    with transaction.atomic():
        user.is_active = True
        user.deactivated_at = None
        user.save(update_fields=["is_active", "deactivated_at"])
        trail.record(
            actor=actor, action="user.reactivate", target=user, changes={"is_active": [False, True]}
        )
    return user


def owned_models() -> list[type[OwnedModel]]:
    return [model for model in apps.get_models() if issubclass(model, OwnedModel)]


def user_offboard(*, actor: User, user: User, successor: User, reason: str = "") -> dict[str, int]:
    """One audited step: deactivate, end sessions, revoke tokens, hand every owned record over."""
    _require_manage_users(actor)
    if successor.pk == user.pk:
        raise DomainError(
            _("Choose a colleague other than the person leaving."),
            code="same_user",
            field="successor",
        )
    if not successor.is_active:
        raise DomainError(
            _("The colleague receiving the records is not active."),
            code="inactive",
            field="successor",
        )
    moved: dict[str, int] = {}
    with transaction.atomic():
        for model in owned_models():
            records = model._base_manager.filter(owner=user)
            ids = list(records.values_list("pk", flat=True)[:10000])
            count = records.update(owner=successor, updated_at=timezone.now())
            if count:
                moved[model._meta.label_lower] = count
                trail.record(
                    actor=actor,
                    action="record.reassign",
                    object_type=model._meta.label_lower,
                    object_repr=f"{count}",
                    changes={"owner": [user.pk, successor.pk]},
                    extra={"ids": ids[:1000], "count": count, "reason": "offboarding"},
                )
        Team.objects.filter(lead=user).update(lead=successor)
        user.successor = successor
        user.is_active = False
        user.deactivated_at = timezone.now()
        user.save(update_fields=["successor", "is_active", "deactivated_at"])
        sessions = _end_sessions(user)
        tokens = _revoke_tokens(user)
        trail.record(
            actor=actor,
            action="user.offboard",
            target=user,
            changes={"is_active": [True, False], "successor": [None, successor.pk]},
            extra={
                "moved": moved,
                "sessions_ended": sessions,
                "tokens_revoked": tokens,
                "reason": reason,
            },
        )
    return moved


def user_unlock(*, actor: User, user: User) -> None:
    """Lift a lockout after repeated failed logins."""
    from axes.utils import reset

    _require_manage_users(actor)
    with transaction.atomic():
        count = sum(reset(username=login) for login in _login_names(user))
        trail.record(
            actor=actor, action="user.unlock", target=user, extra={"attempts_cleared": count}
        )


def user_is_locked(user: User) -> bool:
    from axes.models import AccessAttempt

    return AccessAttempt.objects.filter(
        username__in=_login_names(user), failures_since_start__gte=settings.AXES_FAILURE_LIMIT
    ).exists()


def _login_names(user: User) -> list[str]:
    """The names django-axes counts failures under: the lower-cased username and e-mail."""
    return [name for name in (user.username.lower(), (user.email or "").lower()) if name]
