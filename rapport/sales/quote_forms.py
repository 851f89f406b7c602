"""Forms of the quote pages. They shape input (ids from the pickers, the lines posted as
parallel lists); the services validate and say what is wrong, beside the field or the line."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rapport.core.forms import TablerForm
from rapport.customers.forms import lookup_label, lookup_widget, parse_record_id
from rapport.customers.models import Account, Contact
from rapport.identity.models import Action, User

from .models import Opportunity, PriceList, Quote

LINE_INPUTS = (
    "product",
    "description",
    "quantity",
    "unit_price",
    "discount_percent",
    "tax_percent",
)
MAX_PICKER = 300


class QuoteForm(TablerForm):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    account = forms.CharField(
        label=_("Account"), required=False, widget=lookup_widget("quote-account-options")
    )
    contact = forms.CharField(
        label=_("Contact"),
        required=False,
        widget=lookup_widget("quote-contact-options", "customers:contact_lookup"),
    )
    opportunity = forms.ChoiceField(label=_("Opportunity"), required=False)
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False)
    price_list = forms.ChoiceField(
        label=_("Price list"),
        required=False,
        help_text=_("Blank: the best price list for the customer, line by line."),
    )
    language = forms.ChoiceField(
        label=_("Language of the document"),
        choices=[("zh-hans", "简体中文"), ("en", "English")],
        initial="zh-hans",
    )
    discount_percent = forms.CharField(label=_("Overall discount (%)"), required=False)
    valid_until = forms.DateField(
        label=_("Valid until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Blank: the default validity from the sales settings."),
    )
    terms = forms.CharField(
        label=_("Terms"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Blank on a new quote: the terms from the sales settings."),
    )
    notes = forms.CharField(
        label=_("Internal notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, user: User, quote: Quote | None = None, **kwargs):
        self.user = user
        self.quote = quote
        initial = dict(kwargs.pop("initial", {}) or {})
        if quote is not None:
            initial.update(
                title=quote.title,
                account=lookup_label(quote.account),
                contact=lookup_label(quote.contact) if quote.contact else "",
                opportunity=str(quote.opportunity_id or ""),
                price_list=str(quote.price_list_id or ""),
                currency=quote.currency,
                language=quote.language,
                discount_percent=str(quote.discount_percent.normalize()),
                valid_until=quote.valid_until,
                terms=quote.terms,
                notes=quote.notes,
            )
        super().__init__(*args, initial=initial, **kwargs)
        opportunities = (
            Opportunity.objects.restrict(user, Action.VIEW)
            .filter(status="open")
            .select_related("account")
            .order_by("-id")[:MAX_PICKER]
        )
        self.fields["opportunity"].choices = [
            ("", "—"),
            *[(str(o.pk), f"{o.name} · {o.account.name}") for o in opportunities],
        ]
        self.fields["price_list"].choices = [
            ("", _("Automatic")),
            *[
                (str(price_list.pk), f"{price_list.display_name} · {price_list.currency}")
                for price_list in PriceList.objects.filter(is_active=True).order_by("name")[
                    :MAX_PICKER
                ]
            ],
        ]
        if quote is not None and quote.opportunity_id:
            choices = list(self.fields["opportunity"].choices)
            if str(quote.opportunity_id) not in {value for value, _label in choices}:
                choices.append((str(quote.opportunity_id), str(quote.opportunity)))
                self.fields["opportunity"].choices = choices

    def _record(self, model, name: str):
        text = self.cleaned_data.get(name) or ""
        if not text.strip():
            return None
        pk = parse_record_id(text)
        found = (
            model.objects.restrict(self.user, Action.VIEW).filter(pk=pk).first()
            if pk is not None
            else None
        )
        return found if found is not None else text

    def service_values(self, *, creating: bool) -> dict[str, Any]:
        data = self.cleaned_data
        opportunity = None
        if data.get("opportunity"):
            opportunity = (
                Opportunity.objects.restrict(self.user, Action.VIEW)
                .filter(pk=data["opportunity"])
                .first()
            ) or data["opportunity"]
        values: dict[str, Any] = {
            "title": data["title"],
            "account": self._record(Account, "account"),
            "contact": self._record(Contact, "contact"),
            "opportunity": opportunity,
            "price_list": PriceList.objects.filter(pk=data["price_list"]).first()
            if data.get("price_list")
            else None,
            "language": data["language"],
            "discount_percent": data.get("discount_percent") or "0",
            "notes": data["notes"],
        }
        if data.get("currency") or not creating:
            values["currency"] = data.get("currency") or ""
        if data.get("valid_until") or not creating:
            values["valid_until"] = data.get("valid_until")
        if data.get("terms") or not creating:
            values["terms"] = data.get("terms") or ""
        if creating and values["account"] is None:
            values["account"] = ""  # refused by the service, beside the field
        return values


def posted_lines(data) -> list[dict[str, Any]]:
    """The lines of the line editor: parallel lists `line-<input>`; empty rows skipped."""
    columns = {name: data.getlist(f"line-{name}") for name in LINE_INPUTS}
    count = max((len(values) for values in columns.values()), default=0)
    lines = []
    for index in range(count):
        line = {
            name: (values[index] if index < len(values) else "") for name, values in columns.items()
        }
        if not any(str(value).strip() for value in line.values()):
            continue
        line = {name: value for name, value in line.items() if str(value).strip() != ""}
        if "product" in line:  # the picker posts "id · SKU name"; anything else is refused
            found = parse_record_id(str(line["product"]))
            line["product"] = str(found) if found is not None else line["product"]
        lines.append(line)
    return lines


class DeclineForm(TablerForm):
    reason = forms.CharField(label=_("Why the customer declined"), max_length=300, required=False)


class SendForm(TablerForm):
    message = forms.CharField(
        label=_("Message to the customer"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
