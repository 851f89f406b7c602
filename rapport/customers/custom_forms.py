"""Custom fields in the HTML forms: one form field per active definition, named
"custom.<key>" (the name the services' errors use), in the reader's language.

Field rules apply as to standard fields: a field hidden from the user is left out, a masked
one shows its value masked and a read-only one its value, neither editable. Only values the
user may change are sent to the service, so an edit keeps the values they cannot see."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from rapport.core.customfields.models import CustomField, FieldType
from rapport.core.customfields.rules import rule_name
from rapport.core.customfields.values import definitions, display
from rapport.identity import policy
from rapport.identity.models import Action, FieldRule, User


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


class _ShownTextInput(forms.TextInput):
    """A text box that shows a fixed text whatever the form's value (a masked value: the
    real one never reaches the page)."""

    def __init__(self, shown: str, attrs=None) -> None:
        super().__init__(attrs)
        self.shown = shown

    def format_value(self, value):
        return self.shown or None


def _masked_field(field: CustomField, object_type: str, current: dict | None) -> forms.Field:
    (row,) = display(object_type, current, [field])
    shown = policy.mask_value(row["value"])
    text = ", ".join(str(item) for item in shown) if isinstance(shown, list) else str(shown or "")
    return forms.CharField(label=field.display_label, required=False, widget=_ShownTextInput(text))


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
    """Add the active custom fields of `object_type` the user may see to `form` (field rules
    applied); returns their names."""
    names = []
    rules = policy.field_rules(user, object_type)
    fields = [
        field
        for field in definitions(object_type)
        if rules.get(rule_name(field.key)) != FieldRule.Rule.HIDDEN
    ]
    form.custom_definitions = {f"custom.{f.key}": f for f in fields}
    for field in fields:
        name = f"custom.{field.key}"
        rule = rules.get(rule_name(field.key))
        if rule == FieldRule.Rule.MASKED:
            form.fields[name] = _masked_field(field, object_type, current)
        else:
            form.fields[name] = _form_field(field, user)
            value = (current or {}).get(field.key)
            if value is not None and name not in form.initial:
                form.initial[name] = _initial(field, value)
        if rule:  # masked or read-only: shown, never sent
            form.fields[name].disabled = True
            form.fields[name].help_text = _("You may not change this field.")
        elif field.required:
            form.fields[name].widget.attrs["aria-required"] = "true"
            form.fields[name].label_suffix = ""
            form.fields[name].label = f"{field.display_label}"
        names.append(name)
    return names


def custom_values(form: forms.Form, *, only_changed: bool) -> dict[str, Any] | None:
    """{key: value} from the custom fields of a valid form the user may change (only the
    changed ones on edit); None when there is nothing to send."""
    values: dict[str, Any] = {}
    for name, field in getattr(form, "custom_definitions", {}).items():
        if name not in form.cleaned_data or name not in form.fields or form.fields[name].disabled:
            continue
        if only_changed and name not in form.changed_data:
            continue
        value = form.cleaned_data[name]
        if hasattr(value, "pk"):
            value = value.pk
        values[field.key] = value
    return values if values or not only_changed else None
