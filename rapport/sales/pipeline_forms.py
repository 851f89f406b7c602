"""Forms of the pipeline administration: they shape input; the services validate and say
what is wrong, beside the field."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from rapport.core.forms import TablerForm

from .services.pipeline import requirable_fields


class PipelineForm(TablerForm):
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    name_en = forms.CharField(label=_("English name"), max_length=100, required=False)
    is_default = forms.BooleanField(label=_("Default pipeline"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class StageForm(TablerForm):
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    name_en = forms.CharField(label=_("English name"), max_length=100, required=False)
    probability = forms.IntegerField(label=_("Probability (%)"), required=False, initial=10)
    is_won = forms.BooleanField(label=_("Won stage"), required=False)
    is_lost = forms.BooleanField(label=_("Lost stage"), required=False)
    required_fields = forms.MultipleChoiceField(
        label=_("Fields required to enter"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("An opportunity enters this stage only with these filled in."),
    )
    stale_after_days = forms.IntegerField(
        label=_("Stalled after (days)"),
        required=False,
        help_text=_("Cards longer than this in the stage are flagged on the board."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["required_fields"].choices = requirable_fields()
        self.fields["required_fields"].widget.attrs["class"] = "form-check-input"

    def service_values(self, *, creating: bool) -> dict:
        values = dict(self.cleaned_data)
        if values.get("probability") is None:
            if creating:
                values["probability"] = 10
            else:
                values.pop("probability")
        if creating:
            values.pop("is_active", None)
        return values


class LostReasonForm(TablerForm):
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    name_en = forms.CharField(label=_("English name"), max_length=100, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
