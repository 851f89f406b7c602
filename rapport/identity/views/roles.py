"""Role pages: list, settings, grant matrix and field rules."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
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


def _grant_matrix(role: Role) -> tuple[list[str], list[dict]]:
    """Columns (every registered action) and one row per registered object type."""
    registry = policy.registry()
    columns = [
        action for action in Action.values if any(action in t["actions"] for t in registry.values())
    ]
    current = {(g.object_type, g.action): g.scope for g in Grant.objects.filter(role=role)}
    rules = {(r.object_type, r.field): r.rule for r in FieldRule.objects.filter(role=role)}
    rows = []
    for object_type, entry in registry.items():
        cells = []
        for action in columns:
            if action in entry["actions"]:
                cells.append(
                    {
                        "action": action,
                        "label": Action(action).label,
                        "name": f"grant:{object_type}:{action}",
                        "scope": current.get((object_type, action), ""),
                    }
                )
            else:
                cells.append(None)
        rows.append(
            {
                "object_type": object_type,
                "label": entry["label"],
                "cells": cells,
                "fields": [
                    {
                        "field": field,
                        "name": f"rule:{object_type}:{field}",
                        "rule": rules.get((object_type, field), ""),
                    }
                    for field in entry["fields"]
                ],
            }
        )
    return columns, rows


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
    status = 400 if matrix_errors or rules_errors else 200
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
            "has_field_rules": any(row["fields"] for row in rows),
            "can_manage_roles": policy.has_grant(request.user, ROLE, Action.MANAGE),
            "member_count": role.users.count(),
        },
        status=status,
    )
