"""Opportunities in the one search index (`rapport.core.search`): found by name, their
account's and contact's names and next step, in Chinese or pinyin, restricted like every
read."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from rapport.core import search
from rapport.identity.models import User

from .models import Opportunity


def opportunity_document(opportunity: Opportunity) -> search.Document:
    customer = [
        opportunity.account.name if opportunity.account_id else "",
        opportunity.contact.name if opportunity.contact_id else "",
    ]
    return search.Document(
        title=opportunity.name,
        subtitle=" · ".join(part for part in customer if part),
        texts=[
            str(opportunity.pk),
            opportunity.next_step,
            opportunity.description[:2000],
            *customer,
        ],
    )


def opportunities_for_indexing(opportunities: QuerySet) -> QuerySet:
    return opportunities.select_related("account", "contact")


def opportunities_for_display(user: User, opportunities: QuerySet) -> QuerySet:
    return opportunities.select_related("account", "stage")


def present_opportunity(user: User, opportunity: Opportunity) -> search.Hit:
    state = (
        opportunity.stage.display_name
        if opportunity.is_open
        else str(opportunity.get_status_display())
    )
    return search.Hit(
        id=opportunity.pk,
        title=opportunity.name,
        subtitle=" · ".join(part for part in [state, opportunity.account.name] if part),
        url=reverse("sales:opportunity_detail", args=[opportunity.pk]),
    )


def register() -> None:
    search.register(
        Opportunity.security_type,
        model=Opportunity,
        document=opportunity_document,
        label=_("Opportunities"),
        for_indexing=opportunities_for_indexing,
        for_display=opportunities_for_display,
        present=present_opportunity,
    )
