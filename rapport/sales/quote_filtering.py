"""What people may filter quotes on, in the one filter language (`rapport.core.filterlang`):
approval process conditions (e.g. "total > 1000000"), automation, saved views."""

from __future__ import annotations

from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from rapport.core import filterlang as fl

from .models import Quote, QuoteStatus


def _label(name: str):
    return capfirst(Quote._meta.get_field(name).verbose_name)


def quote_fields() -> list[fl.FilterField]:
    return [
        fl.FilterField("number", _label("number"), fl.TEXT),
        fl.FilterField("title", _label("title"), fl.TEXT),
        fl.FilterField(
            "status",
            _label("status"),
            fl.CHOICE,
            choices=tuple((value, label) for value, label in QuoteStatus.choices),
        ),
        fl.FilterField("total", _label("total"), fl.DECIMAL),
        fl.FilterField("discount_percent", _label("discount_percent"), fl.DECIMAL),
        fl.FilterField(
            "effective_discount_percent", _label("effective_discount_percent"), fl.DECIMAL
        ),
        fl.FilterField("currency", _label("currency"), fl.TEXT),
        fl.FilterField("account", _label("account"), fl.NUMBER, path="account_id"),
        fl.FilterField("tier", _("Customer tier"), fl.TEXT, path="account__tier"),
        fl.FilterField("owner", _label("owner"), fl.USER, path="owner_id"),
        fl.FilterField("valid_until", _label("valid_until"), fl.DATE),
        fl.FilterField("created_at", _label("created_at"), fl.DATETIME),
    ]


def register() -> None:
    from rapport.customers.filtering import with_field_rules

    def provider(user):
        return with_field_rules(user, Quote.security_type, quote_fields())

    fl.register_fields(Quote.security_type, provider)
