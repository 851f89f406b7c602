"""What people may filter opportunities on, in the one filter language
(`rapport.core.filterlang`): automation rule conditions ("stage is 商务谈判 and amount above
100 000"), saved views. Field rules apply as for customers' records."""

from __future__ import annotations

from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from rapport.core import filterlang as fl

from .models import ForecastCategory, Opportunity, OpportunityStatus


def _label(name: str):
    return capfirst(Opportunity._meta.get_field(name).verbose_name)


def _choices(choices) -> tuple:
    return tuple((value, label) for value, label in choices.choices)


def opportunity_fields() -> list[fl.FilterField]:
    return [
        fl.FilterField("name", _label("name"), fl.TEXT),
        fl.FilterField("status", _label("status"), fl.CHOICE, choices=_choices(OpportunityStatus)),
        fl.FilterField("stage", _label("stage"), fl.NUMBER, path="stage_id"),
        fl.FilterField("pipeline", _label("pipeline"), fl.NUMBER, path="pipeline_id"),
        fl.FilterField("amount", _label("amount"), fl.DECIMAL),
        fl.FilterField("probability", _label("probability"), fl.NUMBER),
        fl.FilterField(
            "forecast_category",
            _label("forecast_category"),
            fl.CHOICE,
            choices=_choices(ForecastCategory),
        ),
        fl.FilterField("expected_close_date", _label("expected_close_date"), fl.DATE),
        fl.FilterField("owner", _label("owner"), fl.USER, path="owner_id"),
        fl.FilterField("account", _label("account"), fl.NUMBER, path="account_id"),
        fl.FilterField("contact", _label("contact"), fl.NUMBER, path="contact_id"),
        fl.FilterField("lost_reason", _label("lost_reason"), fl.NUMBER, path="lost_reason_id"),
        fl.FilterField("tier", _("Customer tier"), fl.TEXT, path="account__tier"),
        fl.FilterField("created_at", _label("created_at"), fl.DATETIME),
        fl.FilterField("stage_entered_at", _label("stage_entered_at"), fl.DATETIME),
        fl.FilterField("closed_at", _label("closed_at"), fl.DATETIME),
    ]


def register() -> None:
    from rapport.customers.filtering import with_field_rules

    def provider(user):
        return with_field_rules(user, Opportunity.security_type, opportunity_fields())

    fl.register_fields(Opportunity.security_type, provider)
