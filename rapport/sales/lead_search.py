"""Leads in the one search index (`rapport.core.search`): found by name, company, title and
place, in Chinese or pinyin; by phone and e-mail exactly through the blind index. Restricted
like every read."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from rapport.core import search
from rapport.identity.models import User

from .models.leads import Lead


def lead_document(lead: Lead) -> search.Document:
    return search.Document(
        title=lead.name,
        subtitle=" · ".join(part for part in (lead.company, lead.title) if part),
        texts=[lead.company, lead.title, lead.province, lead.city, lead.source_detail],
        phones=[lead.phone] if lead.phone else [],
        emails=[lead.email] if lead.email else [],
    )


def leads_for_display(user: User, leads: QuerySet) -> QuerySet:
    return leads.only("pk", "name", "company", "status")


def present_lead(user: User, lead: Lead) -> search.Hit:
    return search.Hit(
        id=lead.pk,
        title=str(lead),
        subtitle=lead.get_status_display(),
        url=reverse("sales:lead_detail", args=[lead.pk]),
    )


def register() -> None:
    search.register(
        Lead.security_type,
        model=Lead,
        document=lead_document,
        label=_("Leads"),
        for_display=leads_for_display,
        present=present_lead,
    )
