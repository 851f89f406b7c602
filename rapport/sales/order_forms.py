"""Forms of the order, invoice and contract pages. They shape input (ids from the pickers,
the lines posted as parallel lists — the quote editor's); the services validate and say
what is wrong, beside the field or the line."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rapport.core.forms import MultipleFileField, TablerForm
from rapport.customers.forms import lookup_label, lookup_widget, parse_record_id
from rapport.customers.models import Account, Contact
from rapport.identity.models import Action, User

from .models import Opportunity, Order, PaymentMethod, Warehouse

MAX_PICKER = 300


def _record(user: User, model, text: str):
    """The record picked (by its id in the picker's label), or the text (refused by the
    service beside the field)."""
    if not (text or "").strip():
        return None
    pk = parse_record_id(text)
    found = model.objects.restrict(user, Action.VIEW).filter(pk=pk).first() if pk else None
    return found if found is not None else text


class OrderForm(TablerForm):
    account = forms.CharField(
        label=_("Account"), required=False, widget=lookup_widget("order-account-options")
    )
    contact = forms.CharField(
        label=_("Contact"),
        required=False,
        widget=lookup_widget("order-contact-options", "customers:contact_lookup"),
    )
    opportunity = forms.ChoiceField(label=_("Opportunity"), required=False)
    warehouse = forms.ChoiceField(label=_("Ships from"), required=False)
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False)
    discount_percent = forms.CharField(label=_("Overall discount (%)"), required=False)
    order_date = forms.DateField(
        label=_("Order date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    customer_reference = forms.CharField(
        label=_("Customer's PO number"), max_length=60, required=False
    )
    shipping_address = forms.CharField(label=_("Shipping address"), max_length=300, required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, user: User, order: Order | None = None, **kwargs):
        self.user = user
        initial = dict(kwargs.pop("initial", {}) or {})
        if order is not None:
            initial.update(
                account=lookup_label(order.account),
                contact=lookup_label(order.contact) if order.contact else "",
                opportunity=str(order.opportunity_id or ""),
                warehouse=str(order.warehouse_id or ""),
                currency=order.currency,
                discount_percent=str(order.discount_percent.normalize()),
                order_date=order.order_date,
                customer_reference=order.customer_reference,
                shipping_address=order.shipping_address,
                notes=order.notes,
            )
        super().__init__(*args, initial=initial, **kwargs)
        opportunities = (
            Opportunity.objects.restrict(user, Action.VIEW)
            .select_related("account")
            .order_by("-id")[:MAX_PICKER]
        )
        self.fields["opportunity"].choices = [
            ("", "—"),
            *[(str(o.pk), f"{o.name} · {o.account.name}") for o in opportunities],
        ]
        self.fields["warehouse"].choices = [
            ("", "—"),
            *[(str(w.pk), str(w)) for w in Warehouse.objects.filter(is_active=True)],
        ]

    def service_values(self, *, creating: bool) -> dict[str, Any]:
        data = self.cleaned_data
        opportunity = None
        if data.get("opportunity"):
            opportunity = (
                Opportunity.objects.restrict(self.user, Action.VIEW)
                .filter(pk=data["opportunity"])
                .first()
            ) or data["opportunity"]
        warehouse = None
        if data.get("warehouse"):
            warehouse = Warehouse.objects.filter(pk=data["warehouse"]).first()
        values: dict[str, Any] = {
            "account": _record(self.user, Account, data.get("account") or "") or "",
            "contact": _record(self.user, Contact, data.get("contact") or ""),
            "opportunity": opportunity,
            "warehouse": warehouse,
            "discount_percent": data.get("discount_percent") or "0",
            "customer_reference": data.get("customer_reference") or "",
            "shipping_address": data.get("shipping_address") or "",
            "notes": data.get("notes") or "",
        }
        if data.get("currency") or not creating:
            values["currency"] = data.get("currency") or ""
        if data.get("order_date") or not creating:
            values["order_date"] = data.get("order_date")
        return values


class CancelForm(TablerForm):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class PaymentForm(TablerForm):
    amount = forms.CharField(label=_("Amount"))
    currency = forms.CharField(label=_("Currency"), max_length=3)
    received_on = forms.DateField(
        label=_("Received on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)


class CreditNoteForm(TablerForm):
    amount = forms.CharField(label=_("Amount"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class ContractForm(TablerForm):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    account = forms.CharField(
        label=_("Account"), required=False, widget=lookup_widget("contract-account-options")
    )
    value = forms.CharField(label=_("Value"), required=False)
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False)
    signed_on = forms.DateField(
        label=_("Signed on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    start_date = forms.DateField(
        label=_("Start date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end_date = forms.DateField(
        label=_("End date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    auto_renew = forms.BooleanField(label=_("Renews automatically"), required=False)
    renewal_notice_days = forms.IntegerField(
        label=_("Remind before the end (days)"), required=False, initial=30
    )
    terms = forms.CharField(
        label=_("Terms"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, user: User, contract=None, **kwargs):
        self.user = user
        initial = dict(kwargs.pop("initial", {}) or {})
        if contract is not None:
            initial.update(
                title=contract.title,
                account=lookup_label(contract.account),
                value=str(contract.value),
                currency=contract.currency,
                signed_on=contract.signed_on,
                start_date=contract.start_date,
                end_date=contract.end_date,
                auto_renew=contract.auto_renew,
                renewal_notice_days=contract.renewal_notice_days,
                terms=contract.terms,
            )
        super().__init__(*args, initial=initial, **kwargs)

    def service_values(self, *, creating: bool) -> dict[str, Any]:
        data = self.cleaned_data
        values: dict[str, Any] = {
            "title": data.get("title") or "",
            "account": _record(self.user, Account, data.get("account") or "") or "",
            "value": data.get("value") or "0",
            "signed_on": data.get("signed_on"),
            "start_date": data.get("start_date"),
            "end_date": data.get("end_date"),
            "auto_renew": bool(data.get("auto_renew")),
            "renewal_notice_days": data.get("renewal_notice_days")
            if data.get("renewal_notice_days") is not None
            else 30,
            "terms": data.get("terms") or "",
        }
        if data.get("currency") or not creating:
            values["currency"] = data.get("currency") or ""
        return values


class ContractFilesForm(TablerForm):
    files = MultipleFileField(label=_("Files"), required=False)


class RenewForm(TablerForm):
    start_date = forms.DateField(
        label=_("Start date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end_date = forms.DateField(
        label=_("End date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    value = forms.CharField(label=_("Value"), required=False)
