"""One grant logic for "which records may this user see" and "may they do X to this record".

A model is secured by declaring `security_type` ("customers.account"), using
`RestrictedManager`, and naming the user field that scope keys on (`scope_owner_field`,
"owner" by default) and, for records that sit in a team's queue, the team field
(`scope_team_field`). Scopes: own, team (members of the user's teams), department (the user's
department and everything below it), all. Conditions narrow a grant by attributes. Record
shares open single records to a user or team. A user's access is the union of their grants.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from rapport.core.customfields import rules as custom_field_rules
from rapport.core.errors import NotFound, PermissionDenied

from .models import SCOPE_RANK, Action, FieldRule, Grant, RecordShare, Scope, Team, User

# object type -> (model label, actions that make sense, fields that can carry field rules)
_registry: dict[str, dict[str, Any]] = {}


def register(
    object_type: str, *, label, actions, fields=(), conditions=(), condition_choices=None
) -> None:
    """`condition_choices` maps a condition field whose values are configured (not model
    choices) to a callable returning its current [(value, label)]."""
    _registry[object_type] = {
        "label": label,
        "actions": list(actions),
        "fields": list(fields),
        "conditions": list(conditions),
        "condition_choices": dict(condition_choices or {}),
    }


def registry() -> dict[str, dict[str, Any]]:
    return dict(_registry)


register(
    "identity.user",
    label=User._meta.verbose_name_plural,
    actions=[Action.VIEW, Action.ADD, Action.CHANGE, Action.MANAGE],
)
register(
    "identity.role",
    label=_("roles"),
    actions=[Action.VIEW, Action.MANAGE],
)
# The tag tree: everyone signed in reads it; `manage` creates, renames, moves and retires
# tags. Putting tags on a record is a change to that record and needs no grant here.
# Custom fields: `manage` adds, changes and retires them; everyone uses them on the records
# they may see and change.
register(
    "core.customfield",
    label=_("custom fields"),
    actions=[Action.MANAGE],
)
register(
    "core.tag",
    label=_("tags"),
    actions=[Action.MANAGE],
)


@dataclass(frozen=True)
class GrantRule:
    scope: str
    conditions: dict


def _grants(user) -> dict[tuple[str, str], list[GrantRule]]:
    """All of the user's grants, loaded once per user object (one query)."""
    cached = getattr(user, "_rapport_grants", None)
    if cached is not None:
        return cached
    grants: dict[tuple[str, str], list[GrantRule]] = defaultdict(list)
    rows = Grant.objects.filter(role__users=user).values_list(
        "object_type", "action", "scope", "conditions"
    )
    for object_type, action, scope, conditions in rows:
        grants[(object_type, action)].append(GrantRule(scope, conditions or {}))
    user._rapport_grants = dict(grants)
    return user._rapport_grants


def forget(user) -> None:
    """Drop the cached grants (after a role change in the same request)."""
    for attr in (
        "_rapport_grants",
        "_rapport_team_ids",
        "_rapport_field_rules",
        "_rapport_members",
        "_rapport_shared",
    ):
        if hasattr(user, attr):
            delattr(user, attr)


def _team_ids(user) -> list[int]:
    cached = getattr(user, "_rapport_team_ids", None)
    if cached is None:
        cached = list(
            Team.objects.filter(Q(members=user) | Q(lead=user))
            .values_list("pk", flat=True)
            .distinct()
        )
        user._rapport_team_ids = cached
    return cached


def _ids(user, key: tuple, query) -> list[int]:
    """A list of ids read once per user object (like the grants): the people and teams a
    team or department scope covers. Written into the condition as a literal list, so the
    database can combine it with the owner indexes (a subquery in an OR cannot be, and a
    department's board then reads every open deal of the pipeline — bench/README.md)."""
    cached = getattr(user, "_rapport_members", None)
    if cached is None:
        cached = user._rapport_members = {}
    if key not in cached:
        cached[key] = sorted(set(query.values_list("pk", flat=True)))
    return cached[key]


# At most this many shared records are written into a condition as a list; more stay a
# subquery (a list that long would cost more to send than the index saves).
SHARED_AS_LIST = 500


def _is_usable(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def _scope_q(user, owner_field: str, scope: str, team_field: str | None = None) -> Q:
    """Records the scope covers: by their owner, and — for a model that also belongs to a
    team (`scope_team_field`, e.g. a ticket in a team's queue) — by that team: its members
    (team scope) or the teams of the user's department tree (department scope)."""
    if scope == Scope.ALL:
        return Q()
    own = Q(**{owner_field: user.pk})
    if scope == Scope.OWN:
        return own
    if scope == Scope.TEAM:
        team_ids = _team_ids(user)
        if not team_ids:
            return own
        members = _ids(
            user,
            ("team", tuple(team_ids)),
            User.objects.filter(Q(teams__in=team_ids) | Q(led_teams__in=team_ids)),
        )
        covered = own | Q(**{f"{owner_field}__in": members})
        if team_field:
            covered |= Q(**{f"{team_field}__in": team_ids})
        return covered
    if scope == Scope.DEPARTMENT:
        if user.department_id is None:
            return own
        path = user.department.path
        members = _ids(
            user, ("department", path), User.objects.filter(department__path__startswith=path)
        )
        covered = own | Q(**{f"{owner_field}__in": members})
        if team_field:
            teams = _ids(
                user, ("teams", path), Team.objects.filter(department__path__startswith=path)
            )
            covered |= Q(**{f"{team_field}__in": teams})
        return covered
    raise ValueError(f"unknown scope {scope!r}")


def _conditions_q(conditions: dict) -> Q:
    condition = Q()
    for field, values in conditions.items():
        allowed = values if isinstance(values, list) else [values]
        condition &= Q(**{f"{field}__in": allowed})
    return condition


def _owner_field(model) -> str:
    return getattr(model, "scope_owner_field", "owner")


def restriction_q(user, model, action: str) -> Q | None:
    """The WHERE condition for `user` doing `action` on `model`, or None for "nothing"."""
    if not _is_usable(user):
        return None
    if user.is_superuser:
        return Q()
    object_type = model.security_type
    owner_field = _owner_field(model)
    team_field = getattr(model, "scope_team_field", None)
    condition: Q | None = None
    for rule in _grants(user).get((object_type, action), []):
        part = _scope_q(user, owner_field, rule.scope, team_field) & _conditions_q(rule.conditions)
        if not part:  # an unconditional "all": nothing narrower can add to it
            return Q()
        condition = part if condition is None else condition | part
    share_levels = {Action.VIEW: ["view", "change"], Action.CHANGE: ["change"]}.get(action)
    if share_levels and getattr(model, "shareable", False):
        content_type = ContentType.objects.get_for_model(model)
        grantee = Q(user=user)
        team_ids = _team_ids(user)
        if team_ids:
            grantee |= Q(team__in=team_ids)
        shared = RecordShare.objects.filter(
            grantee, content_type=content_type, level__in=share_levels
        ).values("object_id")
        # none adds nothing; a few are a list; many stay a subquery
        ids = _shared_ids(user, content_type.pk, tuple(share_levels), shared)
        if ids:
            share_q = Q(pk__in=ids if len(ids) <= SHARED_AS_LIST else shared)
            condition = share_q if condition is None else condition | share_q
    return condition


# Bumped whenever a share is written or removed in this process: the shared ids cached on a
# user object are read again after any change (a user object lives for one request).
_share_generation = [0]


def _shares_changed(**kwargs) -> None:
    _share_generation[0] += 1


post_save.connect(_shares_changed, sender=RecordShare, weak=False)
post_delete.connect(_shares_changed, sender=RecordShare, weak=False)


def _shared_ids(user, content_type_id: int, levels: tuple, shared) -> list:
    cached = getattr(user, "_rapport_shared", None)
    if cached is None or cached[0] != _share_generation[0]:
        cached = user._rapport_shared = (_share_generation[0], {})
    key = (content_type_id, levels)
    if key not in cached[1]:
        cached[1][key] = list(shared.values_list("object_id", flat=True)[: SHARED_AS_LIST + 1])
    return cached[1][key]


def has_grant(user, object_type: str, action: str) -> bool:
    """Whether any of the user's grants allows `action` on `object_type` at all."""
    if not _is_usable(user):
        return False
    return user.is_superuser or bool(_grants(user).get((object_type, action)))


def best_scope(user, object_type: str, action: str) -> str | None:
    if not _is_usable(user):
        return None
    if user.is_superuser:
        return Scope.ALL
    rules = _grants(user).get((object_type, action), [])
    if not rules:
        return None
    return max((rule.scope for rule in rules), key=lambda scope: SCOPE_RANK[scope])


def can(user, action: str, target) -> bool:
    """May `user` do `action` on `target` (a record, or a model class for add/import/export)?"""
    if isinstance(target, type) and issubclass(target, models.Model):
        return has_grant(user, target.security_type, action)
    model = type(target)
    if target.pk is None:
        return can_create(user, model, _values_of(target))
    return model._default_manager.restrict(user, action).filter(pk=target.pk).exists()


def _values_of(record) -> dict[str, Any]:
    return {field.attname: getattr(record, field.attname) for field in record._meta.concrete_fields}


def can_create(user, model, values: dict[str, Any]) -> bool:
    """May `user` add a record of `model` with these values (owner, conditioned fields)?"""
    if not _is_usable(user):
        return False
    if user.is_superuser:
        return True
    owner_field = _owner_field(model)
    owner_id = values.get(f"{owner_field}_id", values.get(owner_field))
    for rule in _grants(user).get((model.security_type, Action.ADD), []):
        if any(
            values.get(field, values.get(f"{field}_id"))
            not in (allowed if isinstance(allowed, list) else [allowed])
            for field, allowed in rule.conditions.items()
        ):
            continue
        if owner_id in (None, user.pk) or rule.scope == Scope.ALL:
            return True
        if (
            rule.scope in (Scope.TEAM, Scope.DEPARTMENT)
            and User.objects.filter(_scope_q(user, "pk", rule.scope), pk=owner_id).exists()
        ):
            return True
    return False


def require(user, action: str, target) -> None:
    if not can(user, action, target):
        raise PermissionDenied()


def get_for(user, action: str, model, pk) -> Any:
    """Fetch-and-authorize: the record if `user` may `action` it; NotFound if they may not see it."""
    try:
        return model._default_manager.restrict(user, action).get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        pass
    if (
        action != Action.VIEW
        and model._default_manager.restrict(user, Action.VIEW).filter(pk=pk).exists()
    ):
        raise PermissionDenied()
    raise NotFound()


# --- field rules ---------------------------------------------------------------------------

_RULE_RANK = {"": 0, FieldRule.Rule.READONLY: 1, FieldRule.Rule.MASKED: 2, FieldRule.Rule.HIDDEN: 3}


def field_rules(user, object_type: str) -> dict[str, str]:
    """{field: rule} in force for the user: the least restrictive across their viewing roles.

    A custom field's rule is stored under its filter-language name, "cf.<key>"; it answers
    under "custom.<key>" too, the name forms, service errors and the audit trail use, so
    every place that shows a custom value finds its rule by either name."""
    if not _is_usable(user) or user.is_superuser:
        return {}
    cache = getattr(user, "_rapport_field_rules", None)
    if cache is None:
        cache = {}
        user._rapport_field_rules = cache
    if object_type in cache:
        return cache[object_type]
    viewing_roles = set(
        Grant.objects.filter(
            role__users=user, object_type=object_type, action=Action.VIEW
        ).values_list("role_id", flat=True)
    )
    per_role: dict[int, dict[str, str]] = {role_id: {} for role_id in viewing_roles}
    for role_id, field, rule in FieldRule.objects.filter(
        role_id__in=viewing_roles, object_type=object_type
    ).values_list("role_id", "field", "rule"):
        per_role[role_id][field] = rule
    effective: dict[str, str] = {}
    if per_role:
        fields = {field for rules in per_role.values() for field in rules}
        for field in fields:
            rule = min(
                (rules.get(field, "") for rules in per_role.values()), key=_RULE_RANK.__getitem__
            )
            if rule:
                effective[field] = rule
    for field, rule in list(effective.items()):
        key = custom_field_rules.key_of(field)
        if key is not None:
            effective[f"custom.{key}"] = rule
    cache[object_type] = effective
    return effective


def mask_value(value: Any) -> Any:
    """138****5678 for phones, z***@example.com for e-mails, first and last character otherwise."""
    if value in (None, ""):
        return value
    if isinstance(value, list):
        return [mask_value(item) for item in value]
    text = str(value)
    if "@" in text:
        local, _, domain = text.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = [c for c in text if c.isdigit()]
    if len(digits) >= 7:
        tail = text[-4:]
        head = text[:-8] if len(text) > 8 else text[:3]
        return f"{head}****{tail}"
    if len(text) <= 2:
        return "*" * len(text)
    return f"{text[0]}{'*' * (len(text) - 2)}{text[-1]}"


def apply_field_rules(user, object_type: str, values: dict[str, Any]) -> dict[str, Any]:
    """A copy of `values` with hidden fields removed and masked fields masked. A `custom`
    dict (a record's custom values by key, as the API shows them) has the rules of its
    fields ("cf.<key>") applied the same way."""
    rules = field_rules(user, object_type)
    if not rules:
        return values
    return _apply(rules, values)


def _apply(rules: dict[str, str], values: dict[str, Any]) -> dict[str, Any]:
    shown = {}
    for field, value in values.items():
        if field == "custom" and isinstance(value, dict):
            named = _apply(
                rules, {custom_field_rules.rule_name(key): item for key, item in value.items()}
            )
            shown[field] = {custom_field_rules.key_of(name): item for name, item in named.items()}
            continue
        rule = rules.get(field, "")
        if rule == FieldRule.Rule.HIDDEN:
            continue
        shown[field] = mask_value(value) if rule == FieldRule.Rule.MASKED else value
    return shown


def writable_fields(user, object_type: str, fields) -> list[str]:
    rules = field_rules(user, object_type)
    return [field for field in fields if not rules.get(field)]


def rule_fields(object_type: str) -> list[dict[str, Any]]:
    """The fields of `object_type` a role's field rules can name, as the editors offer them:
    the registered standard fields, then the active custom fields ("cf.<key>"). Each is
    {field, label (in the reader's language), label_zh, label_en, custom}."""
    from django.apps import apps
    from django.core.exceptions import FieldDoesNotExist
    from django.utils import translation
    from django.utils.text import capfirst

    from rapport.core.customfields import registry as custom_field_registry
    from rapport.core.customfields.values import definitions

    entry = _registry.get(object_type, {})
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        model = None
    offered = []
    for name in entry.get("fields", []):
        label: Any = name
        if model is not None:
            with contextlib.suppress(FieldDoesNotExist):
                label = capfirst(model._meta.get_field(name).verbose_name)
        with translation.override("zh-hans"):
            label_zh = str(label)
        with translation.override("en"):
            label_en = str(label)
        offered.append(
            {
                "field": name,
                "label": str(label),
                "label_zh": label_zh,
                "label_en": label_en,
                "custom": False,
            }
        )
    if custom_field_registry.model_for(object_type) is not None:
        for custom in definitions(object_type):
            offered.append(
                {
                    "field": custom_field_rules.rule_name(custom.key),
                    "label": custom.display_label,
                    "label_zh": custom.label,
                    "label_en": custom.label_en,
                    "custom": True,
                }
            )
    return offered


def can_carry_rule(object_type: str, field: str) -> bool:
    """Whether a field rule may name `field` of `object_type`: a registered standard field,
    or a custom field of that type (a retired one too: its rule applies again if it returns)."""
    if object_type not in _registry:
        return False
    if field in _registry[object_type]["fields"]:
        return True
    key = custom_field_rules.key_of(field)
    if key is None:
        return False
    from rapport.core.customfields.models import CustomField

    return CustomField.objects.filter(object_type=object_type, key=key).exists()


# Core's custom fields (their filters, writes of their values) read field rules through this
# door: core cannot import this module.
custom_field_rules.register(field_rules)
