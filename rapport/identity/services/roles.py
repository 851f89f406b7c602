"""Every write to roles, their grants and field rules, and the built-in roles."""

from __future__ import annotations

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from rapport.core import trail

from .. import policy
from ..builtin import BUILTIN_FIELD_RULES, BUILTIN_GRANTS, ROLE_NAMES
from ..models import FieldRule, Grant, Role, Scope, User
from ._common import _require_manage_roles


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
            else:
                problems = _condition_value_errors(object_type, conditions)
                if problems:
                    errors["conditions"] = ValidationError(problems)
    if errors:
        raise ValidationError(errors)


def _field_choices(object_type: str, field: str) -> list[str]:
    """The stored values a model field allows, or [] when any value will do.

    The model is looked up through the app registry by its security type ("customers.account"
    is app label and model name), so identity needs no import of the apps above it.
    """
    configured = policy.registry().get(object_type, {}).get("condition_choices", {})
    if field in configured:
        return [str(value) for value, _label in configured[field]()]
    try:
        model = apps.get_model(object_type)
        model_field = model._meta.get_field(field)
    except (LookupError, ValueError, FieldDoesNotExist):
        return []
    return [str(value) for value, _label in (getattr(model_field, "flatchoices", None) or [])]


def _condition_value_errors(object_type: str, conditions: dict) -> list[ValidationError]:
    problems: list[ValidationError] = []
    for field, values in conditions.items():
        listed = values if isinstance(values, list) else [values]
        if not listed or any(not isinstance(value, str) or not value.strip() for value in listed):
            problems.append(
                ValidationError(
                    _("Give %(field)s one or more values as text.") % {"field": field},
                    code="invalid_value",
                )
            )
            continue
        allowed = _field_choices(object_type, field)
        unknown = [value for value in listed if allowed and value not in allowed]
        if unknown:
            problems.append(
                ValidationError(
                    _("%(field)s cannot be “%(values)s”; choose from: %(choices)s.")
                    % {"field": field, "values": ", ".join(unknown), "choices": ", ".join(allowed)},
                    code="invalid_value",
                )
            )
    return problems


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
    """Set (or with rule None remove) the rule a role puts on one field: a standard field the
    object type registers or one of its custom fields ("cf.<key>"). Audited."""
    _require_manage_roles(actor)
    stale = (
        rule is None
        and FieldRule.objects.filter(role=role, object_type=object_type, field=field).exists()
    )
    if not stale and not policy.can_carry_rule(object_type, field):
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
    unchanged = FieldRule.objects.filter(
        role=role, object_type=object_type, field=field, rule=rule
    ).exists()
    if rule is not None and not unchanged and _required_without_default(object_type, field):
        # The members could not fill it in, so they could add no record of this type.
        raise ValidationError(
            {
                "rule": ValidationError(
                    _(
                        "This custom field is required and has no default value: give it a "
                        "default before making it hidden, masked or read-only."
                    ),
                    code="required_field",
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


def _required_without_default(object_type: str, field: str) -> bool:
    from rapport.core.customfields.models import CustomField
    from rapport.core.customfields.rules import key_of

    key = key_of(field)
    return (
        key is not None
        and CustomField.objects.filter(
            object_type=object_type, key=key, required=True, default__isnull=True
        ).exists()
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
