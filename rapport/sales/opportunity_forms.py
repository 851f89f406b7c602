"""Forms of the opportunity pages. They shape input (ids from the pickers, choices); the
services validate and say what is wrong, beside the field."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from rapport.core.forms import TablerForm
from rapport.customers.forms import lookup_label, lookup_widget, parse_record_id
from rapport.customers.models import Account, Contact
from rapport.identity.models import Action, User

from .models import ForecastCategory, LostReason, Opportunity, Pipeline, Product, Stage
from .services.pipeline import OPEN_FORECAST

LINE_ROWS = 5
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _record(user: User, model, text: str):
    """The record picked in a lookup box, among those the user may see; text that names
    none goes to the service as a value it will refuse."""
    if not (text or "").strip():
        return None
    pk = parse_record_id(text)
    found = (
        model.objects.restrict(user, Action.VIEW).filter(pk=pk).first() if pk is not None else None
    )
    return found if found is not None else text


class OpportunityForm(TablerForm):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    account = forms.CharField(
        label=_("Account"), required=False, widget=lookup_widget("opportunity-account-options")
    )
    contact = forms.CharField(
        label=_("Contact"),
        required=False,
        widget=lookup_widget("opportunity-contact-options", "customers:contact_lookup"),
    )
    pipeline = forms.ChoiceField(label=_("Pipeline"), required=False)
    stage = forms.ChoiceField(label=_("Stage"), required=False)
    amount = forms.CharField(
        label=_("Amount"),
        required=False,
        max_length=40,
        help_text=_("With products below, their total is the amount."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False)
    expected_close_date = forms.CharField(
        label=_("Expected close date"), required=False, widget=DATE
    )
    forecast_category = forms.ChoiceField(
        label=_("Forecast category"),
        choices=[(value, ForecastCategory(value).label) for value in OPEN_FORECAST],
        initial=ForecastCategory.PIPELINE,
    )
    next_step = forms.CharField(label=_("Next step"), max_length=300, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args, user: User, opportunity: Opportunity | None = None, **kwargs):
        self.user = user
        self.opportunity = opportunity
        initial = dict(kwargs.pop("initial", {}) or {})
        if opportunity is not None:
            initial.update(
                name=opportunity.name,
                account=lookup_label(opportunity.account),
                contact=lookup_label(opportunity.contact) if opportunity.contact else "",
                amount=str(opportunity.amount),
                currency=opportunity.currency,
                expected_close_date=(
                    opportunity.expected_close_date.isoformat()
                    if opportunity.expected_close_date
                    else ""
                ),
                forecast_category=opportunity.forecast_category,
                next_step=opportunity.next_step,
                description=opportunity.description,
            )
            for index, line in enumerate(opportunity.lines.all()[:LINE_ROWS]):
                initial.update(
                    {
                        f"line_{index}_product": str(line.product_id or ""),
                        f"line_{index}_description": line.description,
                        f"line_{index}_quantity": str(line.quantity.normalize()),
                        f"line_{index}_unit_price": str(line.unit_price),
                        f"line_{index}_discount_percent": str(line.discount_percent.normalize()),
                    }
                )
        super().__init__(*args, initial=initial, **kwargs)
        if opportunity is not None:
            del self.fields["pipeline"], self.fields["stage"]
            if not opportunity.is_open:
                del self.fields["forecast_category"]
        else:
            pipelines = list(Pipeline.objects.filter(is_active=True))
            self.fields["pipeline"].choices = [(str(p.pk), p.display_name) for p in pipelines]
            stages = Stage.objects.filter(
                pipeline__in=pipelines, is_active=True, is_won=False, is_lost=False
            ).select_related("pipeline")
            self.fields["stage"].choices = [("", "—")] + [
                (str(s.pk), f"{s.pipeline.display_name} › {s.display_name}") for s in stages
            ]
        products = [("", "—")] + [
            (str(p.pk), f"{p.sku} · {p.display_name}")
            for p in Product.objects.filter(is_active=True).order_by("sku")[:500]
        ]
        for index in range(LINE_ROWS):
            self.fields[f"line_{index}_product"] = forms.ChoiceField(
                label=_("Product"), choices=products, required=False
            )
            self.fields[f"line_{index}_description"] = forms.CharField(
                label=_("Description"), required=False, max_length=300
            )
            self.fields[f"line_{index}_quantity"] = forms.CharField(
                label=_("Quantity"), required=False, max_length=40
            )
            self.fields[f"line_{index}_unit_price"] = forms.CharField(
                label=_("Unit price"), required=False, max_length=40
            )
            self.fields[f"line_{index}_discount_percent"] = forms.CharField(
                label=_("Discount (%)"), required=False, max_length=40
            )

    @property
    def line_rows(self) -> list[dict]:
        names = ("product", "description", "quantity", "unit_price", "discount_percent")
        return [
            {name: self[f"line_{index}_{name}"] for name in names} for index in range(LINE_ROWS)
        ]

    def add_service_error(self, error: Exception) -> None:
        # "lines.2.quantity" from the service lands beside the third row's quantity
        from django.core.exceptions import ValidationError

        if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            renamed = {}
            for name, errors in error.error_dict.items():
                if name.startswith("lines.") and name.count(".") == 2:
                    _lines, index, field = name.split(".")
                    position = self._line_positions[int(index)]
                    name = f"line_{position}_{field}"
                renamed[name] = errors
            error = ValidationError(renamed)
        super().add_service_error(error)

    def _lines(self) -> list[dict] | None:
        rows, positions = [], []
        for index in range(LINE_ROWS):
            values = {
                name: self.cleaned_data.get(f"line_{index}_{name}") or ""
                for name in ("product", "description", "quantity", "unit_price", "discount_percent")
            }
            if not any(values.values()):
                continue
            values["quantity"] = values["quantity"] or "1"
            rows.append(values)
            positions.append(index)
        self._line_positions = positions
        return rows

    def service_values(self) -> dict:
        data = self.cleaned_data
        values = {
            "name": data["name"],
            "account": _record(self.user, Account, data["account"]) or data["account"],
            "contact": _record(self.user, Contact, data["contact"]),
            "amount": data["amount"],
            "currency": data["currency"] or None,
            "expected_close_date": data["expected_close_date"] or None,
            "next_step": data["next_step"],
            "description": data["description"],
            "lines": self._lines(),
        }
        if "forecast_category" in self.fields:
            values["forecast_category"] = data["forecast_category"]
        if self.opportunity is None:
            values["pipeline"] = Pipeline.objects.filter(pk=data.get("pipeline") or 0).first()
            values["stage"] = Stage.objects.filter(pk=data.get("stage") or 0).first()
            if not values["lines"]:
                del values["lines"]
        else:
            if values["currency"] is None:
                del values["currency"]
            if not values["lines"] and not self.opportunity.lines.exists():
                del values["lines"]
        return values


class MoveForm(TablerForm):
    """Moving to a stage that needs more: the lost reason and the fields the stage requires
    (only those are shown)."""

    stage = forms.IntegerField(widget=forms.HiddenInput)
    after = forms.IntegerField(widget=forms.HiddenInput, required=False)
    lost_reason = forms.ChoiceField(label=_("Lost reason"), required=False)
    lost_note = forms.CharField(label=_("Why it was lost"), max_length=300, required=False)
    amount = forms.CharField(
        label=_("Amount"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    expected_close_date = forms.CharField(
        label=_("Expected close date"), required=False, widget=DATE
    )
    contact = forms.CharField(
        label=_("Contact"),
        required=False,
        widget=lookup_widget("move-contact-options", "customers:contact_lookup"),
    )
    next_step = forms.CharField(label=_("Next step"), max_length=300, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    VALUE_FIELDS = ("amount", "expected_close_date", "contact", "next_step", "description")

    def __init__(self, *args, user: User, opportunity: Opportunity, stage: Stage, **kwargs):
        self.user = user
        self.opportunity = opportunity
        self.target = stage
        initial = dict(kwargs.pop("initial", {}) or {})
        initial.setdefault("stage", stage.pk)
        initial.setdefault("amount", str(opportunity.amount) if opportunity.amount else "")
        initial.setdefault(
            "expected_close_date",
            opportunity.expected_close_date.isoformat() if opportunity.expected_close_date else "",
        )
        initial.setdefault(
            "contact", lookup_label(opportunity.contact) if opportunity.contact else ""
        )
        initial.setdefault("next_step", opportunity.next_step)
        initial.setdefault("description", opportunity.description)
        super().__init__(*args, initial=initial, **kwargs)
        required = set(stage.required_fields or [])
        for name in self.VALUE_FIELDS:
            if name not in required:
                del self.fields[name]
        if stage.is_lost:
            self.fields["lost_reason"].choices = [("", "—")] + [
                (str(r.pk), r.display_name) for r in LostReason.objects.filter(is_active=True)
            ]
        else:
            del self.fields["lost_reason"], self.fields["lost_note"]
        self.needs_lines = "lines" in required

    def service_values(self) -> dict:
        data = self.cleaned_data
        values = {name: data.get(name) or "" for name in self.VALUE_FIELDS if name in self.fields}
        for name in ("amount", "expected_close_date"):
            if name in values:
                values[name] = values[name] or None
        if "contact" in values:
            values["contact"] = _record(self.user, Contact, values["contact"])
        result = {"stage": self.target, "values": values}
        if "lost_reason" in self.fields:
            reason = data.get("lost_reason")
            result["lost_reason"] = (
                LostReason.objects.filter(pk=reason).first()
                if reason and reason.isdigit()
                else None
            )
            result["lost_note"] = data.get("lost_note") or ""
        return result
