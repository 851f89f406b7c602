"""Forms of the approval pages: the process designer (a process and its ordered steps), the
decision, submitting a record, delegation while away, and the monitor's filters.

Forms parse; `rapport.automation.approvals` validates and writes. The people, roles and teams
offered in the step pickers are read once per page and handed to every step form (a
ModelChoiceField per row would query once per row).
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from rapport.core.forms import TablerForm

from .models import ApprovalMode, ApproverKind

STEP_FIELDS = (
    "number",
    "name",
    "name_en",
    "approver_kind",
    "user",
    "role",
    "manager_levels",
    "team",
    "mode",
    "remind_after_hours",
    "escalate_after_hours",
    "escalate_to",
)
# Service errors name a step as "steps[2].user" / "steps.2.user" (the index in the list sent).
_STEP_ERROR = re.compile(r"^steps[\[.](\d+)\]?(?:\.(\w+))?$")


class ProcessForm(TablerForm):
    """The process itself; its record type is chosen before the form (the condition's fields
    depend on it) and its steps come from `StepFormSet`."""

    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(label=_("English name"), max_length=200, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    # Filter-language text, written by the filter builder (the same one lists use); the
    # builder looks for a text box named "filter". Empty: every record of the type.
    filter = forms.CharField(
        label=_("Condition"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(
            attrs={"rows": 2, "spellcheck": "false", "autocomplete": "off", "dir": "ltr"}
        ),
    )
    lock_record = forms.BooleanField(
        label=_("Lock the record while the request is pending"), required=False, initial=True
    )

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "name_en": data["name_en"],
            "description": data["description"],
            "condition": data["filter"].strip(),
            "lock_record": data["lock_record"],
        }

    def add_service_error(self, error: Exception) -> None:
        # The service speaks of the condition; the form's box is the builder's "filter".
        if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                target = "filter" if name.split(".")[0] == "condition" else name
                self.add_error(target if target in self.fields else None, errors)
            return
        super().add_service_error(error)


def _int_or_none(value: str) -> int | None:
    return int(value) if value not in (None, "") else None


class StepForm(TablerForm):
    number = forms.IntegerField(
        label=_("Step number"),
        min_value=1,
        max_value=99,
        initial=1,
        help_text=_("Steps with the same number run side by side."),
    )
    name = forms.CharField(label=_("Step name"), max_length=200)
    name_en = forms.CharField(label=_("English step name"), max_length=200, required=False)
    approver_kind = forms.ChoiceField(label=_("Approved by"), choices=ApproverKind.choices)
    user = forms.ChoiceField(label=_("Person"), required=False)
    role = forms.ChoiceField(label=_("Role"), required=False)
    manager_levels = forms.IntegerField(
        label=_("Levels up"),
        min_value=1,
        max_value=10,
        initial=1,
        required=False,
        help_text=_("1: the submitter's manager; 2: that manager's manager …"),
    )
    team = forms.ChoiceField(label=_("Team"), required=False)
    mode = forms.ChoiceField(
        label=_("Who must approve"), choices=ApprovalMode.choices, initial="any"
    )
    remind_after_hours = forms.IntegerField(
        label=_("Remind after (hours)"), min_value=1, max_value=24 * 90, required=False
    )
    escalate_after_hours = forms.IntegerField(
        label=_("Escalate after (hours)"), min_value=1, max_value=24 * 90, required=False
    )
    escalate_to = forms.ChoiceField(label=_("Escalate to"), required=False)

    def __init__(self, *args, choices: dict[str, list[tuple[str, str]]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        blank = [("", "—")]
        self.fields["user"].choices = blank + choices["users"]
        self.fields["escalate_to"].choices = blank + choices["users"]
        self.fields["role"].choices = blank + choices["roles"]
        self.fields["team"].choices = blank + choices["teams"]

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "number": data["number"],
            "name": data["name"],
            "name_en": data["name_en"],
            "approver_kind": data["approver_kind"],
            "user": _int_or_none(data["user"]),
            "role": _int_or_none(data["role"]),
            "manager_levels": data["manager_levels"] or 1,
            "team": _int_or_none(data["team"]),
            "mode": data["mode"],
            "remind_after_hours": data["remind_after_hours"],
            "escalate_after_hours": data["escalate_after_hours"],
            "escalate_to": _int_or_none(data["escalate_to"]),
        }


class _BaseStepFormSet(forms.BaseFormSet):
    def __init__(self, *args, choices: dict[str, list[tuple[str, str]]], **kwargs) -> None:
        self.choices = choices
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "choices": self.choices}

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            choices=self.choices,
        )
        self.add_fields(form, None)
        return form

    def kept_forms(self) -> list[StepForm]:
        """The steps to save, in the order shown (removed and untouched extra rows left out)."""
        initial = self.initial_form_count()
        return [
            form
            for index, form in enumerate(self.forms)
            if (index < initial or form.has_changed())
            and not (self.can_delete and self._should_delete_form(form))
            and hasattr(form, "cleaned_data")
        ]

    def service_steps(self) -> list[dict[str, Any]]:
        return [form.service_values() for form in self.kept_forms()]

    def add_service_error(self, error: ValidationError) -> list[str]:
        """Put a service's step errors beside their step and field; returns the messages that
        belong to no step (shown with the form)."""
        kept = self.kept_forms()
        rest: list[str] = []
        items = error.error_dict.items() if hasattr(error, "error_dict") else []
        for key, errors in items:
            match = _STEP_ERROR.match(key)
            if key == "steps" or match is None:
                if key.startswith("steps"):
                    rest.extend(message for item in errors for message in item.messages)
                continue
            index, field = int(match.group(1)), match.group(2)
            if index >= len(kept):
                rest.extend(message for item in errors for message in item.messages)
                continue
            form = kept[index]
            form.add_error(field if field in form.fields else None, errors)
        return rest


StepFormSet = formset_factory(
    StepForm, formset=_BaseStepFormSet, extra=0, can_delete=True, max_num=30, absolute_max=30
)


class DecisionForm(TablerForm):
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when you reject."),
    )
    decision = forms.ChoiceField(
        choices=(("approve", _("Approve")), ("reject", _("Reject"))), widget=forms.HiddenInput
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") == "reject" and not (data.get("comment") or "").strip():
            self.add_error("comment", _("Say why you reject the request."))
        return data

    @property
    def approve(self) -> bool:
        return self.cleaned_data["decision"] == "approve"


class SubmitForm(TablerForm):
    process = forms.TypedChoiceField(
        label=_("Process"), coerce=int, required=False, empty_value=None
    )
    comment = forms.CharField(
        label=_("Comment for the approvers"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, processes, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["process"].choices = [("", _("The first that applies"))] + [
            (process.pk, process.display_name) for process in processes
        ]


class DelegationForm(TablerForm):
    delegate = forms.TypedChoiceField(label=_("Hand my approvals to"), coerce=int)
    starts_on = forms.DateField(
        label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    ends_on = forms.DateField(
        label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, people: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["delegate"].choices = [("", "—"), *people]


class MonitorFilterForm(TablerForm):
    """The monitor's filters (GET). Invalid values are ignored."""

    object_type = forms.ChoiceField(label=_("Record type"), required=False)
    department = forms.TypedChoiceField(
        label=_("Department"), coerce=int, required=False, empty_value=None
    )
    team = forms.TypedChoiceField(label=_("Team"), coerce=int, required=False, empty_value=None)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

    def __init__(self, *args, types, departments, teams, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [("", _("All types")), *types]
        self.fields["department"].choices = [("", _("All departments")), *departments]
        self.fields["team"].choices = [("", _("All teams")), *teams]

    def value(self, name: str) -> Any:
        if not self.is_bound:
            return None
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        return self.cleaned_data.get(name) if name not in self.errors else None
