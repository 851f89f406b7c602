"""Forms of the complaint pages. They shape input (ids, dates); the services validate and
say what is wrong, beside the field."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from rapport.core.forms import TablerForm
from rapport.identity.models import User

from .models import Complaint, ComplaintCause

OWNER_LIMIT = 500


def cause_choices(complaint: Complaint | None = None) -> list[tuple[str, str]]:
    """The active causes, and the complaint's own even when retired."""
    causes = ComplaintCause.objects.filter(is_active=True)
    choices = [(str(cause.pk), cause.display_name) for cause in causes]
    if (
        complaint is not None
        and complaint.cause_id
        and complaint.cause_id not in {cause.pk for cause in causes}
    ):
        choices.append((str(complaint.cause_id), complaint.cause.display_name))
    return [("", "—"), *choices]


def owner_choices(complaint: Complaint | None = None) -> list[tuple[str, str]]:
    people = list(User.objects.filter(is_active=True).order_by("username")[:OWNER_LIMIT])
    if (
        complaint is not None
        and complaint.action_owner_id
        and complaint.action_owner_id not in {person.pk for person in people}
    ):
        people.append(complaint.action_owner)
    return [("", "—"), *((str(person.pk), str(person)) for person in people)]


class ComplaintForm(TablerForm):
    product = forms.CharField(
        label=_("Product or service"),
        max_length=200,
        required=False,
        help_text=_("What the complaint is about."),
    )
    cause = forms.ChoiceField(label=_("Root cause"), required=False)
    findings = forms.CharField(
        label=_("What the investigation found"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    corrective_action = forms.CharField(
        label=_("Corrective action"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    action_owner = forms.ChoiceField(label=_("Action owner"), required=False)
    action_due = forms.DateField(
        label=_("Action due"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    confirmation_note = forms.CharField(
        label=_("How the customer confirmed"),
        max_length=500,
        required=False,
        help_text=_("A call, an e-mail, a visit … needed to mark the complaint confirmed."),
    )

    def __init__(self, *args, complaint: Complaint, **kwargs):
        self.complaint = complaint
        initial = dict(kwargs.pop("initial", {}) or {})
        initial.update(
            product=complaint.product,
            cause=str(complaint.cause_id or ""),
            findings=complaint.findings,
            corrective_action=complaint.corrective_action,
            action_owner=str(complaint.action_owner_id or ""),
            action_due=complaint.action_due,
            confirmation_note=complaint.confirmation_note,
        )
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["cause"].choices = cause_choices(complaint)
        self.fields["action_owner"].choices = owner_choices(complaint)

    def service_values(self) -> dict:
        data = self.cleaned_data
        cause_id = data.get("cause")
        owner_id = data.get("action_owner")
        return {
            "product": data.get("product", ""),
            "cause": ComplaintCause.objects.filter(pk=cause_id).first() if cause_id else None,
            "findings": data.get("findings", ""),
            "corrective_action": data.get("corrective_action", ""),
            "action_owner": User.objects.filter(pk=owner_id).first() if owner_id else None,
            "action_due": data.get("action_due"),
            "confirmation_note": data.get("confirmation_note", ""),
        }


class CauseForm(TablerForm):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    name_en = forms.CharField(label=_("English name"), max_length=200, required=False)
    position = forms.IntegerField(label=_("Position"), required=False, min_value=0)

    def __init__(self, *args, cause: ComplaintCause | None = None, **kwargs):
        initial = dict(kwargs.pop("initial", {}) or {})
        if cause is not None:
            initial.update(name=cause.name, name_en=cause.name_en, position=cause.position)
        super().__init__(*args, initial=initial, **kwargs)

    def service_values(self) -> dict:
        return {
            "name": self.cleaned_data["name"],
            "name_en": self.cleaned_data["name_en"],
            "position": self.cleaned_data.get("position") or 0,
        }
