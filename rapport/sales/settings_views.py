"""The sales settings page in the administration: the company's letterhead on quotes and
invoices, and the sales defaults (currency, validity, approval threshold, invoice terms,
back-orders, quote terms in Chinese and English). Written by
`services.quotes.settings_update` (the `manage` grant on sales settings)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.forms import TablerForm
from rapport.identity.views._common import _admin_context, _call

from .config import get_settings
from .services import quotes as quote_services

TEXT_FIELDS = (
    "company_name",
    "company_name_en",
    "address",
    "address_en",
    "phone",
    "email",
    "website",
    "tax_number",
    "bank_name",
    "bank_account",
    "default_currency",
    "quote_valid_days",
    "discount_approval_percent",
    "invoice_due_days",
    "quote_terms",
    "quote_terms_en",
)


class SalesSettingsForm(TablerForm):
    company_name = forms.CharField(label=gettext_lazy("Company name"), required=False)
    company_name_en = forms.CharField(label=gettext_lazy("English company name"), required=False)
    address = forms.CharField(label=gettext_lazy("Address"), required=False)
    address_en = forms.CharField(label=gettext_lazy("English address"), required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), required=False)
    email = forms.CharField(label=gettext_lazy("E-mail"), required=False)
    website = forms.CharField(label=gettext_lazy("Website"), required=False)
    tax_number = forms.CharField(
        label=gettext_lazy("Taxpayer identification number"), required=False
    )
    bank_name = forms.CharField(label=gettext_lazy("Bank"), required=False)
    bank_account = forms.CharField(label=gettext_lazy("Bank account"), required=False)
    logo = forms.FileField(
        label=gettext_lazy("Logo"),
        required=False,
        help_text=gettext_lazy("PNG or JPEG, up to 1 MB."),
    )
    remove_logo = forms.BooleanField(label=gettext_lazy("Remove the logo"), required=False)
    default_currency = forms.CharField(label=gettext_lazy("Default currency"), required=False)
    quote_valid_days = forms.CharField(
        label=gettext_lazy("Quotes valid for (days)"), required=False
    )
    discount_approval_percent = forms.CharField(
        label=gettext_lazy("Discounts above this need approval (%)"),
        required=False,
        help_text=gettext_lazy(
            "A quote whose discount in all is above this waits for the approval process "
            "“Discount above the threshold” (the rep's manager)."
        ),
    )
    invoice_due_days = forms.CharField(
        label=gettext_lazy("Invoices due after (days)"), required=False
    )
    allow_backorders = forms.BooleanField(
        label=gettext_lazy("Allow orders beyond the stock (back-orders)"), required=False
    )
    quote_terms = forms.CharField(
        label=gettext_lazy("Quote terms (Chinese)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    quote_terms_en = forms.CharField(
        label=gettext_lazy("Quote terms (English)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


@login_required
def sales_settings(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not quote_services.can_manage_settings(user):
        raise PermissionDenied(_("You do not have permission to do this."))
    current = get_settings()
    initial = {name: getattr(current, name) for name in TEXT_FIELDS}
    initial["allow_backorders"] = current.allow_backorders
    form = SalesSettingsForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in TEXT_FIELDS}
        values["allow_backorders"] = form.cleaned_data["allow_backorders"]
        if form.cleaned_data.get("logo"):
            values["logo"] = form.cleaned_data["logo"]
        elif form.cleaned_data.get("remove_logo"):
            values["logo"] = None
        saved = _call(form, quote_services.settings_update, actor=user, **values)
        if saved is not None:
            messages.success(request, _("Sales settings saved."))
            return redirect("sales:sales_settings")
    return render(
        request,
        "sales/settings/settings.html",
        {**_admin_context(request, "sales_settings"), "form": form, "current": current},
    )
