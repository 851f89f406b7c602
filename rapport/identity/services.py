"""Every write to users, departments, teams, roles, grants, shares, tokens and requests."""

from __future__ import annotations

import hashlib
import secrets
import zoneinfo
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.core.errors import DomainError, PermissionDenied
from rapport.core.models import OwnedModel

from . import policy
from .builtin import BUILTIN_FIELD_RULES, BUILTIN_GRANTS, ROLE_NAMES
from .models import (
    AccountRequest,
    Action,
    ApiToken,
    Department,
    FieldRule,
    Grant,
    PasswordHistory,
    RecordShare,
    Role,
    Scope,
    Team,
    User,
)

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


def _require_manage_users(actor) -> None:
    if not policy.has_grant(actor, "identity.user", Action.MANAGE):
        raise PermissionDenied()


def _require_manage_roles(actor) -> None:
    if not policy.has_grant(actor, "identity.role", Action.MANAGE):
        raise PermissionDenied()


# --- users ---------------------------------------------------------------------------------


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


# --- departments and teams -----------------------------------------------------------------


def _department_path(department: Department) -> str:
    parent_path = department.parent.path if department.parent_id else "/"
    return f"{parent_path}{department.pk}/"


def department_create(
    *,
    actor: User | None,
    name: str,
    code: str,
    parent: Department | None = None,
    manager: User | None = None,
) -> Department:
    if actor is not None:
        _require_manage_users(actor)
    errors = {}
    if not name.strip():
        errors["name"] = ValidationError(_("Enter a name."), code="required")
    if not code.strip():
        errors["code"] = ValidationError(_("Enter a code."), code="required")
    elif Department.objects.filter(code=code).exists():
        errors["code"] = ValidationError(
            _("This code is already used by another department."), code="duplicate"
        )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        department = Department.objects.create(
            name=name.strip(), code=code.strip(), parent=parent, manager=manager
        )
        department.path = _department_path(department)
        department.save(update_fields=["path"])
        trail.record(
            actor=actor,
            action="department.create",
            target=department,
            changes={"name": [None, department.name], "parent": [None, parent and parent.pk]},
        )
    return department


def department_update(
    *,
    actor: User,
    department: Department,
    name: str | None = None,
    parent: Department | None | bool = False,
    manager: User | None | bool = False,
) -> Department:
    """Rename or move a department; moving rewrites the paths of its whole subtree."""
    _require_manage_users(actor)
    before = trail.snapshot(department, ("name", "parent", "manager"))
    if name is not None:
        if not name.strip():
            raise ValidationError({"name": ValidationError(_("Enter a name."), code="required")})
        department.name = name.strip()
    if manager is not False:
        department.manager = manager
    with transaction.atomic():
        if parent is not False:
            if parent is not None and parent.path.startswith(department.path):
                raise ValidationError(
                    {
                        "parent": ValidationError(
                            _("A department cannot be moved under itself."), code="cycle"
                        )
                    }
                )
            old_path = department.path
            department.parent = parent
            department.path = _department_path(department)
            for child in Department.objects.filter(path__startswith=old_path).exclude(
                pk=department.pk
            ):
                child.path = department.path + child.path[len(old_path) :]
                child.save(update_fields=["path"])
        department.save()
        changes = trail.diff(before, trail.snapshot(department, ("name", "parent", "manager")))
        if changes:
            trail.record(
                actor=actor, action="department.update", target=department, changes=changes
            )
    return department


def team_create(
    *,
    actor: User | None,
    name: str,
    department: Department | None = None,
    lead: User | None = None,
    members: list[User] | None = None,
) -> Team:
    if actor is not None:
        _require_manage_users(actor)
    if not name.strip():
        raise ValidationError({"name": ValidationError(_("Enter a name."), code="required")})
    if Team.objects.filter(name=name.strip()).exists():
        raise ValidationError(
            {"name": ValidationError(_("A team with this name already exists."), code="duplicate")}
        )
    with transaction.atomic():
        team = Team.objects.create(name=name.strip(), department=department, lead=lead)
        if members:
            team.members.set(members)
        trail.record(
            actor=actor,
            action="team.create",
            target=team,
            changes={"members": [[], sorted(m.pk for m in members or [])]},
        )
    return team


def team_set_members(*, actor: User, team: Team, members: list[User]) -> Team:
    _require_manage_users(actor)
    with transaction.atomic():
        before = sorted(team.members.values_list("pk", flat=True))
        team.members.set(members)
        after = sorted(m.pk for m in members)
        if before != after:
            trail.record(
                actor=actor,
                action="permission.team_members",
                target=team,
                changes={"members": [before, after]},
            )
    return team


# --- roles, grants, field rules, shares ----------------------------------------------------


def _validate_grant(object_type: str, action: str, scope: str, conditions: dict | None) -> None:
    registry = policy.registry()
    errors: dict[str, ValidationError] = {}
    if object_type not in registry:
        errors["object_type"] = ValidationError(
            _("Unknown object type “%(type)s”.") % {"type": object_type}, code="unknown_object_type"
        )
    elif action not in registry[object_type]["actions"]:
        errors["action"] = ValidationError(
            _("Unknown action “%(action)s” for %(type)s.")
            % {"action": action, "type": object_type},
            code="unknown_action",
        )
    if scope not in Scope.values:
        errors["scope"] = ValidationError(
            _("Unknown scope “%(scope)s”.") % {"scope": scope}, code="unknown_scope"
        )
    if conditions:
        if not isinstance(conditions, dict):
            errors["conditions"] = ValidationError(
                _("Conditions must be an object."), code="invalid"
            )
        elif object_type in registry:
            allowed = registry[object_type]["conditions"]
            bad = [field for field in conditions if field not in allowed]
            if bad:
                errors["conditions"] = ValidationError(
                    _("These fields cannot be used in conditions: %(fields)s")
                    % {"fields": ", ".join(bad)},
                    code="unknown_field",
                )
    if errors:
        raise ValidationError(errors)


def role_create(
    *, actor: User, code: str, name: str, description: str = "", require_mfa: bool = False
) -> Role:
    _require_manage_roles(actor)
    errors = {}
    if not code or not code.replace("_", "").replace("-", "").isalnum():
        errors["code"] = ValidationError(_("Use letters, digits, - and _ only."), code="invalid")
    elif Role.objects.filter(code=code).exists():
        errors["code"] = ValidationError(
            _("A role with this code already exists."), code="duplicate"
        )
    if not name.strip():
        errors["name"] = ValidationError(_("Enter a name."), code="required")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        role = Role.objects.create(
            code=code, name=name.strip(), description=description, require_mfa=require_mfa
        )
        trail.record(
            actor=actor,
            action="permission.role_create",
            target=role,
            changes={"code": [None, code], "name": [None, role.name]},
        )
    return role


def role_update(
    *,
    actor: User,
    role: Role,
    name: str | None = None,
    description: str | None = None,
    require_mfa: bool | None = None,
) -> Role:
    _require_manage_roles(actor)
    before = trail.snapshot(role, ("name", "description", "require_mfa"))
    if name is not None:
        if not name.strip():
            raise ValidationError({"name": ValidationError(_("Enter a name."), code="required")})
        role.name = name.strip()
    if description is not None:
        role.description = description
    if require_mfa is not None:
        role.require_mfa = require_mfa
    with transaction.atomic():
        role.save()
        changes = trail.diff(before, trail.snapshot(role, ("name", "description", "require_mfa")))
        if changes:
            trail.record(actor=actor, action="permission.role_update", target=role, changes=changes)
    return role


def grant_set(
    *,
    actor: User,
    role: Role,
    object_type: str,
    action: str,
    scope: str | None,
    conditions: dict | None = None,
) -> Grant | None:
    """Set (or with scope=None remove) the role's grant for one object type and action."""
    _require_manage_roles(actor)
    if scope is not None:
        _validate_grant(object_type, action, scope, conditions)
    elif object_type not in policy.registry():
        _validate_grant(object_type, action, Scope.OWN, None)
    with transaction.atomic():
        existing = Grant.objects.filter(role=role, object_type=object_type, action=action).first()
        before = [existing.scope, existing.conditions] if existing else None
        if scope is None:
            if existing:
                existing.delete()
            grant = None
        else:
            grant, _created = Grant.objects.update_or_create(
                role=role,
                object_type=object_type,
                action=action,
                defaults={"scope": scope, "conditions": conditions or {}},
            )
        after = [scope, conditions or {}] if scope else None
        if before != after:
            trail.record(
                actor=actor,
                action="permission.grant",
                target=role,
                changes={f"{object_type}.{action}": [before, after]},
            )
    return grant


def role_set_matrix(*, actor: User, role: Role, matrix: dict[tuple[str, str], str | None]) -> Role:
    """Apply a whole grant matrix {(object_type, action): scope or None} in one transaction."""
    _require_manage_roles(actor)
    with transaction.atomic():
        for (object_type, action), scope in matrix.items():
            existing = Grant.objects.filter(
                role=role, object_type=object_type, action=action
            ).first()
            conditions = existing.conditions if existing else None
            grant_set(
                actor=actor,
                role=role,
                object_type=object_type,
                action=action,
                scope=scope or None,
                conditions=conditions,
            )
    return role


def field_rule_set(
    *, actor: User, role: Role, object_type: str, field: str, rule: str | None
) -> None:
    _require_manage_roles(actor)
    registry = policy.registry()
    if object_type not in registry or field not in registry[object_type]["fields"]:
        raise ValidationError(
            {"field": ValidationError(_("This field cannot carry a field rule."), code="invalid")}
        )
    if rule is not None and rule not in FieldRule.Rule.values:
        raise ValidationError(
            {
                "rule": ValidationError(
                    _("Unknown field rule “%(rule)s”.") % {"rule": rule}, code="invalid"
                )
            }
        )
    with transaction.atomic():
        existing = FieldRule.objects.filter(role=role, object_type=object_type, field=field).first()
        before = existing.rule if existing else None
        if rule is None:
            FieldRule.objects.filter(role=role, object_type=object_type, field=field).delete()
        else:
            FieldRule.objects.update_or_create(
                role=role, object_type=object_type, field=field, defaults={"rule": rule}
            )
        if before != rule:
            trail.record(
                actor=actor,
                action="permission.field_rule",
                target=role,
                changes={f"{object_type}.{field}": [before, rule]},
            )


def role_set_field_rules(
    *, actor: User, role: Role, rules: dict[tuple[str, str], str | None]
) -> Role:
    """Apply {(object_type, field): rule or None} in one transaction: all stored or none."""
    _require_manage_roles(actor)
    with transaction.atomic():
        for (object_type, field), rule in rules.items():
            field_rule_set(
                actor=actor, role=role, object_type=object_type, field=field, rule=rule or None
            )
    policy.forget(actor)
    return role


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


def roles_sync_builtin() -> list[Role]:
    """Create the built-in roles with their grants and field rules; idempotent (system action)."""
    roles = []
    with transaction.atomic():
        for code, grants in BUILTIN_GRANTS.items():
            role, created = Role.objects.get_or_create(
                code=code, defaults={"name": str(ROLE_NAMES[code]), "is_builtin": True}
            )
            if not role.is_builtin:
                role.is_builtin = True
                role.save(update_fields=["is_builtin"])
            if created:
                for object_type, action, scope in grants:
                    Grant.objects.get_or_create(
                        role=role, object_type=object_type, action=action, defaults={"scope": scope}
                    )
                for object_type, field, rule in BUILTIN_FIELD_RULES.get(code, []):
                    FieldRule.objects.get_or_create(
                        role=role, object_type=object_type, field=field, defaults={"rule": rule}
                    )
                trail.record(
                    actor=None,
                    action="permission.role_create",
                    target=role,
                    extra={"builtin": True, "grants": len(grants)},
                )
            roles.append(role)
    return roles


# --- API tokens ----------------------------------------------------------------------------

TOKEN_PREFIX = "rpt_"  # noqa: S105 (a visible prefix, not a secret)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(
    *, actor: User, user: User | None = None, name: str, days: int | None = None
) -> tuple[ApiToken, str]:
    """Issue a personal token; returns (token, secret). The secret is never stored."""
    user = user or actor
    if user.pk != actor.pk:
        _require_manage_users(actor)
    days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
    errors = {}
    if not name or not name.strip():
        errors["name"] = ValidationError(_("Name the token."), code="required")
    if not isinstance(days, int) or not 1 <= days <= 366:
        errors["days"] = ValidationError(
            _("A token lives between 1 and 366 days."), code="out_of_range"
        )
    if errors:
        raise ValidationError(errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name.strip(),
            prefix=secret[:12],
            key_hash=hash_token(secret),
            expires_at=timezone.now() + timedelta(days=days),
        )
        trail.record(
            actor=actor, action="token.create", target=token, extra={"user": user.pk, "days": days}
        )
    return token, secret


def token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    if token.user_id != actor.pk:
        _require_manage_users(actor)
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            trail.record(
                actor=actor, action="token.revoke", target=token, extra={"user": token.user_id}
            )
    return token


# --- account requests ----------------------------------------------------------------------


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
    return request


def account_request_decide(
    *, actor: User, request: AccountRequest, approve: bool, note: str = ""
) -> AccountRequest:
    """Approve (creating the user, who sets a password by reset link) or reject a request."""
    _require_manage_users(actor)
    if request.state != AccountRequest.State.PENDING:
        raise DomainError(_("This request has already been decided."), code="already_decided")
    with transaction.atomic():
        if approve:
            user = user_create(
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
        )
    return request
