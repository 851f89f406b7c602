"""Role pages: list, settings, grant matrix and field rules."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from rapport.core import errors

from .. import forms, policy, services
from ..models import Action, FieldRule, Grant, Role
from ._common import ROLE, _admin_context, _call, _require


@login_required
def role_list(request):
    _require(request.user, ROLE, Action.VIEW)
    form = forms.RoleCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        role = _call(form, services.role_create, actor=request.user, **form.cleaned_data)
        if role:
            messages.success(request, _("Role “%(name)s” created.") % {"name": role})
            return redirect("identity:role_detail", pk=role.pk)
    return render(
        request,
        "identity/role_list.html",
        {
            **_admin_context(request, "roles"),
            "form": form,
            "roles": Role.objects.all(),
            "can_manage_roles": policy.has_grant(request.user, ROLE, Action.MANAGE),
        },
    )


def _condition_fields() -> dict[str, list[dict[str, Any]]]:
    """{object type: [{field, label, choices}]} for every type whose grants take conditions.

    Labels and choices come from the model field, found through the app registry (the
    security type "customers.account" is its app label and model name).
    """
    described: dict[str, list[dict[str, Any]]] = {}
    for object_type, entry in policy.registry().items():
        if not entry["conditions"]:
            continue
        try:
            model = apps.get_model(object_type)
        except (LookupError, ValueError):
            model = None
        fields = []
        for field in entry["conditions"]:
            label, choices = field, []
            if model is not None:
                try:
                    model_field = model._meta.get_field(field)
                except FieldDoesNotExist:
                    pass
                else:
                    label = capfirst(model_field.verbose_name)
                    choices = [(str(value), text) for value, text in model_field.flatchoices]
            if field in entry.get("condition_choices", {}):
                choices = list(entry["condition_choices"][field]())
            fields.append({"field": field, "label": label, "choices": choices})
        described[object_type] = fields
    return described


def _describe_conditions(conditions: dict, fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """[{field, label, values, text}] with choice values shown by their labels."""
    by_name = {entry["field"]: entry for entry in fields}
    described = []
    for field, values in sorted((conditions or {}).items()):  # same order on every database
        entry = by_name.get(field, {"label": field, "choices": []})
        labels = dict(entry["choices"])
        listed = values if isinstance(values, list) else [values]
        shown = ", ".join(str(labels.get(str(value), value)) for value in listed)
        described.append(
            {
                "field": field,
                "label": entry["label"],
                "values": shown,
                "text": _("%(field)s: %(values)s") % {"field": entry["label"], "values": shown},
            }
        )
    return described


def _grant_matrix(role: Role) -> tuple[list[str], list[dict]]:
    """Columns (every registered action) and one row per registered object type."""
    registry = policy.registry()
    condition_fields = _condition_fields()
    columns = [
        action for action in Action.values if any(action in t["actions"] for t in registry.values())
    ]
    current = {(g.object_type, g.action): g for g in Grant.objects.filter(role=role)}
    rules = {(r.object_type, r.field): r.rule for r in FieldRule.objects.filter(role=role)}
    rows = []
    for object_type, entry in registry.items():
        cells = []
        for action in columns:
            if action in entry["actions"]:
                grant = current.get((object_type, action))
                cells.append(
                    {
                        "action": action,
                        "label": Action(action).label,
                        "name": f"grant:{object_type}:{action}",
                        "scope": grant.scope if grant else "",
                        "conditions": _describe_conditions(
                            grant.conditions if grant else {},
                            condition_fields.get(object_type, []),
                        ),
                    }
                )
            else:
                cells.append(None)
        rows.append(
            {
                "object_type": object_type,
                "label": entry["label"],
                "cells": cells,
                # Standard fields, then the type's custom fields ("cf.<key>").
                "fields": [
                    {
                        **field,
                        "name": f"rule:{object_type}:{field['field']}",
                        "rule": rules.get((object_type, field["field"]), ""),
                    }
                    for field in policy.rule_fields(object_type)
                ],
            }
        )
    return columns, rows


def _grant_key(object_type: str, action: str) -> str:
    return f"{object_type}:{action}"


def _condition_form(role: Role, data=None) -> tuple[forms.GrantConditionForm, list[dict]]:
    """The conditions form over the role's grants that conditions can narrow, and those grants
    described with their current conditions."""
    registry = policy.registry()
    condition_fields = _condition_fields()
    grants = Grant.objects.filter(role=role, object_type__in=list(condition_fields)).order_by(
        "object_type", "action"
    )
    described = []
    for grant in grants:
        records = capfirst(registry[grant.object_type]["label"])
        action = Action(grant.action).label if grant.action in Action.values else grant.action
        described.append(
            {
                "key": _grant_key(grant.object_type, grant.action),
                "label": f"{records} · {action}",
                "scope": grant.get_scope_display(),
                "conditions": _describe_conditions(
                    grant.conditions, condition_fields[grant.object_type]
                ),
            }
        )
    field_choices: dict[str, str] = {}
    value_choices: dict[str, list[tuple[str, str]]] = {}
    for fields in condition_fields.values():
        for entry in fields:
            field_choices.setdefault(entry["field"], entry["label"])
            if entry["choices"]:
                value_choices.setdefault(entry["field"], entry["choices"])
    form = forms.GrantConditionForm(
        data,
        grants=[(grant["key"], grant["label"]) for grant in described],
        fields=list(field_choices.items()),
        value_choices=value_choices,
    )
    return form, described


def _add_condition_errors(form: forms.GrantConditionForm, error: ValidationError) -> None:
    """Put the service's "conditions" errors beside the form's field or values input."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, items in error.error_dict.items():
        for item in items:
            if name == "conditions":
                target = "field" if item.code == "unknown_field" else "values"
            else:
                target = name if name in form.fields else None
            form.add_error(target, item)


def _set_condition(request, role: Role, form: forms.GrantConditionForm) -> bool:
    """Merge the posted field's values into the grant's conditions; one audited write."""
    object_type, _sep, action = form.cleaned_data["grant"].rpartition(":")
    grant = Grant.objects.filter(role=role, object_type=object_type, action=action).first()
    if grant is None:  # removed since the page was drawn
        form.add_error("grant", _("This role no longer has this grant."))
        return False
    conditions = dict(grant.conditions or {})
    field, values = form.cleaned_data["field"], form.cleaned_data["values"]
    if values:
        conditions[field] = values
    else:
        conditions.pop(field, None)
    try:
        services.grant_set(
            actor=request.user,
            role=role,
            object_type=object_type,
            action=action,
            scope=grant.scope,
            conditions=conditions,
        )
    except ValidationError as error:
        _add_condition_errors(form, error)
        return False
    return True


def _posted_pairs(post, prefix: str) -> dict[tuple[str, str], str | None]:
    pairs: dict[tuple[str, str], str | None] = {}
    for key in post:
        if key.startswith(prefix):
            object_type, _sep, name = key[len(prefix) :].rpartition(":")
            pairs[(object_type, name)] = post.get(key) or None
    return pairs


@login_required
def role_detail(request, pk: int):
    _require(request.user, ROLE, Action.VIEW)
    role = get_object_or_404(Role, pk=pk)
    settings_form = forms.RoleSettingsForm(
        initial={
            "name": role.name,
            "description": role.description,
            "require_mfa": role.require_mfa,
        }
    )
    matrix_errors: list[str] = []
    rules_errors: list[str] = []
    condition_form: forms.GrantConditionForm | None = None
    section = request.POST.get("section") if request.method == "POST" else None
    try:
        if section == "settings":
            settings_form = forms.RoleSettingsForm(request.POST)
            if settings_form.is_valid() and _call(
                settings_form,
                services.role_update,
                actor=request.user,
                role=role,
                **settings_form.cleaned_data,
            ):
                messages.success(request, _("Saved."))
                return redirect("identity:role_detail", pk=role.pk)
        elif section == "matrix":
            try:
                services.role_set_matrix(
                    actor=request.user, role=role, matrix=_posted_pairs(request.POST, "grant:")
                )
            except ValidationError as error:
                matrix_errors = error.messages
            else:
                messages.success(request, _("Permissions saved."))
                return redirect("identity:role_detail", pk=role.pk)
        elif section == "conditions":
            _require(request.user, ROLE, Action.MANAGE)
            condition_form, _described = _condition_form(role, request.POST)
            if condition_form.is_valid() and _set_condition(request, role, condition_form):
                messages.success(request, _("Conditions saved."))
                return redirect("identity:role_detail", pk=role.pk)
        elif section == "fields":
            try:
                services.role_set_field_rules(
                    actor=request.user, role=role, rules=_posted_pairs(request.POST, "rule:")
                )
            except ValidationError as error:
                rules_errors = error.messages
            else:
                messages.success(request, _("Field rules saved."))
                return redirect("identity:role_detail", pk=role.pk)
    except errors.PermissionDenied as error:
        raise PermissionDenied from error
    columns, rows = _grant_matrix(role)
    blank_condition_form, conditionable_grants = _condition_form(role)
    condition_form = condition_form or blank_condition_form
    field_labels = dict(condition_form.fields["field"].choices)
    status = 400 if matrix_errors or rules_errors or condition_form.errors else 200
    return render(
        request,
        "identity/role_detail.html",
        {
            **_admin_context(request, "roles"),
            "role": role,
            "settings_form": settings_form,
            "columns": [(action, Action(action).label) for action in columns],
            "rows": rows,
            "scope_choices": forms.SCOPE_CHOICES,
            "rule_choices": forms.FIELD_RULE_CHOICES,
            "matrix_errors": matrix_errors,
            "rules_errors": rules_errors,
            "condition_form": condition_form,
            "conditioned_grants": [g for g in conditionable_grants if g["conditions"]],
            "can_add_conditions": bool(conditionable_grants),
            "value_choices": [
                (field_labels.get(field, field), choices)
                for field, choices in condition_form.value_choices.items()
            ],
            "has_field_rules": any(row["fields"] for row in rows),
            "can_manage_roles": policy.has_grant(request.user, ROLE, Action.MANAGE),
            "member_count": role.users.count(),
        },
        status=status,
    )
