"""What people may filter leads on, in the one filter language (`rapport.core.filterlang`):
assignment rule conditions, automation rule conditions, the API's `?filter=`."""

from __future__ import annotations

from django.utils.text import capfirst

from rapport.core import filterlang as fl

from .models.leads import Lead, LeadRating, LeadSource, LeadStatus


def _label(name: str):
    return capfirst(Lead._meta.get_field(name).verbose_name)


def _choices(choices) -> tuple:
    return tuple((value, label) for value, label in choices.choices)


def lead_fields() -> list[fl.FilterField]:
    return [
        fl.FilterField("name", _label("name"), fl.TEXT),
        fl.FilterField("company", _label("company"), fl.TEXT),
        fl.FilterField("title", _label("title"), fl.TEXT),
        fl.FilterField("source", _label("source"), fl.CHOICE, choices=_choices(LeadSource)),
        fl.FilterField("source_detail", _label("source_detail"), fl.TEXT),
        fl.FilterField("status", _label("status"), fl.CHOICE, choices=_choices(LeadStatus)),
        fl.FilterField("rating", _label("rating"), fl.CHOICE, choices=_choices(LeadRating)),
        fl.FilterField("industry", _label("industry"), fl.TEXT),
        fl.FilterField("province", _label("province"), fl.TEXT),
        fl.FilterField("city", _label("city"), fl.TEXT),
        fl.FilterField("budget", _label("budget"), fl.DECIMAL),
        fl.FilterField("is_decision_maker", _label("is_decision_maker"), fl.BOOL),
        fl.FilterField("expected_purchase_date", _label("expected_purchase_date"), fl.DATE),
        fl.FilterField("owner", _label("owner"), fl.USER, path="owner_id"),
        fl.FilterField("pool", _label("pool"), fl.NUMBER, path="pool_id"),
        fl.FilterField("team", _label("team"), fl.NUMBER, path="team_id"),
        fl.FilterField("returned_count", _label("returned_count"), fl.NUMBER),
        fl.FilterField("last_follow_up_at", _label("last_follow_up_at"), fl.DATETIME),
        fl.FilterField("created_at", _label("created_at"), fl.DATETIME),
    ]


def register() -> None:
    from rapport.customers.filtering import with_field_rules

    def provider(user):
        return with_field_rules(user, Lead.security_type, lead_fields())

    fl.register_fields(Lead.security_type, provider)
