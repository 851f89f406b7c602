"""Forms of the tiers and lifecycle stages page. They shape input; the services validate."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from rapport.core.forms import TablerForm

from .models import AccountOption, OptionColour


class OptionForm(TablerForm):
    """Create (with a code) or edit (labels, colour, position, default) an option."""

    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        required=False,
        help_text=_("Letters, digits, “-” and “_”; it never changes and is what filters use."),
    )
    label = forms.CharField(
        label=_("Label"),
        max_length=100,
        required=False,
        help_text=_("As your company says it, e.g. 重点客户."),
    )
    label_en = forms.CharField(
        label=_("English label"),
        max_length=100,
        required=False,
        help_text=_("Optional; shown to people who use Rapport in English."),
    )
    # A plain text field behind the swatches: the service names a colour it does not know.
    colour = forms.CharField(
        label=_("Colour"),
        required=False,
        initial=OptionColour.BLUE,
        widget=forms.RadioSelect(choices=OptionColour.choices),
    )
    position = forms.CharField(label=_("Position"), required=False, max_length=10)
    is_default = forms.BooleanField(label=_("Default for new accounts"), required=False)

    def __init__(self, *args, option: AccountOption | None = None, **kwargs):
        self.option = option
        if option is not None:
            initial = {
                "label": option.label,
                "label_en": option.label_en,
                "colour": option.colour,
                "position": option.position,
                "is_default": option.is_default,
            }
            kwargs["initial"] = {**initial, **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        if option is not None:
            del self.fields["code"]
        else:
            del self.fields["position"]
        self.fields["colour"].widget.attrs["class"] = "form-colorinput-input"

    def service_values(self) -> dict:
        values = dict(self.cleaned_data)
        if "position" in values:
            values["position"] = values["position"].strip() or self.option.position
        return values
