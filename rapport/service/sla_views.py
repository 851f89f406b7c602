"""The SLA policies page (administration): the policies in the order they are tried, new and
edit. Every write goes through `rapport.service.services.sla_policies` (grant checked
again, audited)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from rapport.core.forms import TablerForm
from rapport.customers import options as account_options
from rapport.identity.models import Action
from rapport.identity.views._common import _admin_context, _call, _require

from .models import BusinessCalendar, SlaPolicy, TicketCategory, TicketKind, TicketPriority
from .services import sla_policies as sla_services

SLA = SlaPolicy.security_type


def _label(choices, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


class SlaPolicyForm(TablerForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    name_en = forms.CharField(label=gettext_lazy("English name"), max_length=200, required=False)
    position = forms.IntegerField(
        label=pgettext_lazy("position in a list", "Order"),
        required=False,
        initial=0,
        help_text=gettext_lazy("Policies are tried in this order; the first that matches applies."),
    )
    priorities = forms.MultipleChoiceField(
        label=gettext_lazy("Priorities"),
        required=False,
        choices=TicketPriority.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: any."),
    )
    kinds = forms.MultipleChoiceField(
        label=gettext_lazy("Types"),
        required=False,
        choices=TicketKind.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: any."),
    )
    tiers = forms.MultipleChoiceField(
        label=gettext_lazy("Customer tiers"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: any."),
    )
    categories = forms.MultipleChoiceField(
        label=gettext_lazy("Categories"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: any. A category covers its sub-categories."),
    )
    calendar = forms.ChoiceField(label=gettext_lazy("Business calendar"), required=False)
    first_response_minutes = forms.CharField(
        label=gettext_lazy("First response within (working minutes)"), max_length=10
    )
    resolution_minutes = forms.CharField(
        label=gettext_lazy("Resolution within (working minutes)"), max_length=10
    )
    warn_percent = forms.CharField(
        label=gettext_lazy("Warn at (per cent of the target)"),
        max_length=3,
        initial="80",
        required=False,
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args, sla_policy: SlaPolicy | None = None, **kwargs):
        initial = dict(kwargs.pop("initial", {}) or {})
        if sla_policy is not None:
            initial.update(
                {
                    name: getattr(sla_policy, name)
                    for name in (
                        "name",
                        "name_en",
                        "position",
                        "priorities",
                        "kinds",
                        "tiers",
                        "first_response_minutes",
                        "resolution_minutes",
                        "warn_percent",
                        "is_active",
                    )
                }
            )
            initial["categories"] = [str(pk) for pk in sla_policy.categories]
            initial["calendar"] = str(sla_policy.calendar_id or "")
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["tiers"].choices = [
            (option.code, option.display_label) for option in account_options.options("tier")
        ]
        self.fields["categories"].choices = [
            (str(category.pk), category.display_name)
            for category in TicketCategory.objects.filter(is_active=True, parent__isnull=True)
        ]
        self.fields["calendar"].choices = [("", _("The default calendar"))] + [
            (str(calendar.pk), calendar.display_name)
            for calendar in BusinessCalendar.objects.filter(is_active=True)
        ]
        if sla_policy is None:
            del self.fields["is_active"]
        self.style_widgets()

    @property
    def condition_fields(self):
        return [self[name] for name in ("priorities", "kinds", "tiers", "categories")]

    def service_values(self) -> dict:
        values = {
            name: self.cleaned_data[name]
            for name in (
                "name",
                "name_en",
                "priorities",
                "kinds",
                "tiers",
                "first_response_minutes",
                "resolution_minutes",
                "warn_percent",
            )
        }
        values["position"] = self.cleaned_data.get("position") or 0
        values["warn_percent"] = self.cleaned_data["warn_percent"] or 80
        values["categories"] = [int(pk) for pk in self.cleaned_data["categories"]]
        calendar_id = self.cleaned_data.get("calendar")
        values["calendar"] = (
            BusinessCalendar.objects.filter(pk=calendar_id).first() if calendar_id else None
        )
        if "is_active" in self.cleaned_data:
            values["is_active"] = self.cleaned_data["is_active"]
        return values


@login_required
def sla_policy_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, SLA, Action.MANAGE)
    policies = list(SlaPolicy.objects.select_related("calendar").order_by("position", "id"))
    category_ids = {pk for policy in policies for pk in policy.categories}
    categories = {
        category.pk: category.display_name
        for category in TicketCategory.objects.filter(pk__in=category_ids)
    }
    for policy in policies:  # the conditions in words, not codes
        policy.applies = [
            (label, ", ".join(name(value) for value in values))
            for label, values, name in (
                (_("Priorities"), policy.priorities, lambda v: _label(TicketPriority, v)),
                (_("Types"), policy.kinds, lambda v: _label(TicketKind, v)),
                (_("Customer tiers"), policy.tiers, lambda v: account_options.label("tier", v)),
                (_("Categories"), policy.categories, lambda v: categories.get(v, f"#{v}")),
            )
            if values
        ]
    return render(
        request,
        "service/sla/sla_list.html",
        {**_admin_context(request, "sla_policies"), "policies": policies},
    )


@login_required
def sla_policy_create(request: HttpRequest) -> HttpResponse:
    _require(request.user, SLA, Action.MANAGE)
    form = SlaPolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = _call(
            form, sla_services.sla_policy_create, actor=request.user, **form.service_values()
        )
        if created:
            messages.success(request, _("“%(name)s” added.") % {"name": created.display_name})
            return redirect("service:sla_policy_list")
    return render(
        request,
        "service/sla/sla_form.html",
        {**_admin_context(request, "sla_policies"), "form": form, "sla_policy": None},
    )


@login_required
def sla_policy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, SLA, Action.MANAGE)
    sla_policy = get_object_or_404(SlaPolicy, pk=pk)
    form = SlaPolicyForm(request.POST or None, sla_policy=sla_policy)
    saved = (
        request.method == "POST"
        and form.is_valid()
        and _call(
            form,
            sla_services.sla_policy_update,
            actor=request.user,
            sla_policy=sla_policy,
            **form.service_values(),
        )
    )
    if saved:
        messages.success(request, _("Saved."))
        return redirect("service:sla_policy_list")
    return render(
        request,
        "service/sla/sla_form.html",
        {**_admin_context(request, "sla_policies"), "form": form, "sla_policy": sla_policy},
    )
