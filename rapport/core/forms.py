"""The base of every HTML form: Tabler classes, invalid-field marks, service errors by field."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from .errors import DomainError

_CHECKS = (forms.CheckboxSelectMultiple, forms.RadioSelect, forms.CheckboxInput)
_SELECTS = (forms.Select, forms.SelectMultiple)


class TablerForm(forms.Form):
    """Templates render any field with one include; services' errors land beside their field."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style_widgets()

    def style_widgets(self) -> None:
        """Give each widget its Tabler class (idempotent: call again after changing fields)."""
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, _CHECKS):
                css = "form-check-input"
            elif isinstance(widget, _SELECTS):
                css = "form-select"
            else:
                css = "form-control"
            classes = widget.attrs.get("class", "").split()
            if css not in classes:
                widget.attrs["class"] = " ".join([*classes, css])

    def add_error(self, field, error) -> None:
        super().add_error(field, error)
        names = [field] if field else []
        if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            names = list(error.error_dict)
        for name in names:
            if name in self.fields:
                widget = self.fields[name].widget
                classes = widget.attrs.get("class", "").split()
                if "is-invalid" not in classes:
                    widget.attrs["class"] = " ".join([*classes, "is-invalid"])

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name in self.errors:
            if name in self.fields:
                classes = self.fields[name].widget.attrs.get("class", "").split()
                if "is-invalid" not in classes:
                    self.fields[name].widget.attrs["class"] = " ".join([*classes, "is-invalid"])
        return valid

    def add_service_error(self, error: Exception) -> None:
        """Show a service's ValidationError / DomainError beside the field it names."""
        if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        elif isinstance(error, DomainError):
            self.add_error(error.field if error.field in self.fields else None, str(error.message))
        elif isinstance(error, ValidationError):
            self.add_error(None, error)
        else:
            raise error


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the service checks their kind and size."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []
