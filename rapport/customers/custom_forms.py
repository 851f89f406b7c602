"""Custom fields in the HTML forms: one form field per active definition, named
"custom.<key>" (the name the services' errors use), in the reader's language."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from rapport.core.customfields.models import CustomField, FieldType
from rapport.core.customfields.values import definitions
from rapport.identity.models import Action, User


class DateInput(forms.DateInput):
    """The browser's own date picker (also on phones)."""

    input_type = "date"


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's own date-and-time picker (also on phones)."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def _form_field(field: CustomField, user: User) -> forms.Field:
    common = {
        "label": field.display_label,
        "required": False,  # the service enforces "required" and names the field
        "help_text": field.display_help,
    }
    rules = field.validation or {}
    kind = field.type
    if kind == FieldType.LONG_TEXT:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **common)
    if kind == FieldType.NUMBER:
        return forms.IntegerField(min_value=rules.get("min"), max_value=rules.get("max"), **common)
    if kind == FieldType.DECIMAL:
        return forms.DecimalField(**common)
    if kind == FieldType.DATE:
        return forms.DateField(widget=DateInput(), **common)
    if kind == FieldType.DATETIME:
        return forms.DateTimeField(widget=DateTimeLocalInput(), **common)
    if kind in (FieldType.CHOICE, FieldType.MULTI_CHOICE):
        choices = [(c["value"], field.choice_label(c["value"])) for c in field.choices or []]
        if kind == FieldType.CHOICE:
            return forms.ChoiceField(choices=[("", "—"), *choices], **common)
        return forms.MultipleChoiceField(
            choices=choices, widget=forms.CheckboxSelectMultiple, **common
        )
    if kind == FieldType.BOOLEAN:
        return forms.TypedChoiceField(
            choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))],
            coerce=lambda value: value == "true",
            empty_value=None,
            **common,
        )
    if kind == FieldType.USER:
        visible = User.objects.restrict(user, Action.VIEW).filter(is_active=True).values("pk")
        return forms.ModelChoiceField(
            queryset=User.objects.filter(Q(pk__in=visible) | Q(pk=user.pk)).order_by("username"),
            empty_label="—",
            **common,
        )
    if kind == FieldType.EMAIL:
        return forms.CharField(max_length=254, widget=forms.EmailInput(), **common)
    if kind == FieldType.URL:
        return forms.CharField(max_length=500, widget=forms.URLInput(), **common)
    if kind == FieldType.PHONE:
        return forms.CharField(
            max_length=40, widget=forms.TextInput(attrs={"type": "tel"}), **common
        )
    return forms.CharField(max_length=(rules.get("max_length") or 255), **common)


def _initial(field: CustomField, value: Any) -> Any:
    if value is None:
        return None
    if field.type == FieldType.BOOLEAN:
        return "true" if value else "false"
    if field.type == FieldType.DATETIME:
        return parse_datetime(str(value))
    return value


def add_custom_fields(
    form: forms.Form, object_type: str, user: User, current: dict | None
) -> list[str]:
    """Add the active custom fields of `object_type` to `form`; returns their names."""
    names = []
    fields = definitions(object_type)
    form.custom_definitions = {f"custom.{f.key}": f for f in fields}
    for field in fields:
        name = f"custom.{field.key}"
        form.fields[name] = _form_field(field, user)
        if field.required:
            form.fields[name].widget.attrs["aria-required"] = "true"
            form.fields[name].label_suffix = ""
            form.fields[name].label = f"{field.display_label}"
        value = (current or {}).get(field.key)
        if value is not None and name not in form.initial:
            form.initial[name] = _initial(field, value)
        names.append(name)
    return names


def custom_values(form: forms.Form, *, only_changed: bool) -> dict[str, Any] | None:
    """{key: value} from the custom fields of a valid form (only the changed ones on edit);
    None when there is nothing to send."""
    values: dict[str, Any] = {}
    for name, field in getattr(form, "custom_definitions", {}).items():
        if name not in form.cleaned_data:
            continue
        if only_changed and name not in form.changed_data:
            continue
        value = form.cleaned_data[name]
        if hasattr(value, "pk"):
            value = value.pk
        values[field.key] = value
    return values if values or not only_changed else None
