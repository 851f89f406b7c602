"""Custom fields administration: list per record type, add, change, retire.

Every write goes through `rapport.core.customfields.services`, which checks the `manage`
grant on `core.customfield` again and audits the change.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core.customfields import registry
from rapport.core.customfields import services as field_services
from rapport.core.customfields.models import CustomField

from .. import forms, policy
from ..models import Action
from ._common import CUSTOM_FIELD, _admin_context, _call, _message_call, _require


def _object_types() -> list[tuple[str, str]]:
    labels = policy.registry()
    return [
        (object_type, capfirst(str(labels.get(object_type, {}).get("label", object_type))))
        for object_type in registry.models_with_custom_fields()
    ]


@login_required
def custom_field_list(request):
    _require(request.user, CUSTOM_FIELD, Action.MANAGE)
    types = _object_types()
    form = forms.CustomFieldForm(request.POST or None, object_types=types)
    if request.method == "POST" and form.is_valid():
        field = _call(
            form, field_services.custom_field_create, actor=request.user, **form.service_values()
        )
        if field:
            messages.success(
                request, _("The field “%(label)s” was added.") % {"label": field.display_label}
            )
            return redirect("identity:custom_field_list")
    every = list(CustomField.objects.order_by("position", "id"))
    groups = [
        {
            "object_type": object_type,
            "label": label,
            "fields": [field for field in every if field.object_type == object_type],
        }
        for object_type, label in types
    ]
    return render(
        request,
        "identity/custom_field_list.html",
        {**_admin_context(request, "custom_fields"), "form": form, "groups": groups},
        status=400 if form.is_bound else 200,
    )


@login_required
def custom_field_edit(request, pk: int):
    _require(request.user, CUSTOM_FIELD, Action.MANAGE)
    field = get_object_or_404(CustomField, pk=pk)
    form = forms.CustomFieldForm(request.POST or None, field=field, object_types=_object_types())
    if request.method == "POST" and form.is_valid():
        if _call(
            form,
            field_services.custom_field_update,
            actor=request.user,
            field=field,
            **form.service_values(),
        ):
            messages.success(request, _("Saved."))
            return redirect("identity:custom_field_list")
        field.refresh_from_db()
    return render(
        request,
        "identity/custom_field_edit.html",
        {**_admin_context(request, "custom_fields"), "field": field, "form": form},
        status=400 if form.is_bound else 200,
    )


@login_required
@require_POST
def custom_field_set_active(request, pk: int):
    _require(request.user, CUSTOM_FIELD, Action.MANAGE)
    field = get_object_or_404(CustomField, pk=pk)
    active = request.POST.get("active") == "1"
    _result, done = _message_call(
        request,
        field_services.custom_field_set_active,
        actor=request.user,
        field=field,
        active=active,
    )
    if done:
        messages.success(
            request,
            (
                _("“%(label)s” is active again.")
                if active
                else _("“%(label)s” was retired; its values are kept.")
            )
            % {"label": field.display_label},
        )
    return redirect("identity:custom_field_list")
