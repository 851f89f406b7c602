"""Leads as an automatable record type, with their services (the sales app cannot import
automation; automation registers it when it loads), and the lead events rules can start
from: lead.created, lead.assigned, lead.returned (to the pool), lead.converted.

The automation actor's role gets the lead grants it needs (view, change, assign) after
migrate, beside those `automation.actor` lists, so rules act on leads through the lead
services like a person with those grants."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from . import registry

LEAD_UPDATABLE = ("rating", "source_detail", "industry", "province", "city", "description")
LEAD_GRANTS = (("sales.lead", "view"), ("sales.lead", "change"), ("sales.lead", "assign"))


def _grant_actor(sender=None, using="default", **kwargs) -> None:
    from rapport.identity.models import Grant, Role

    from . import actor

    role = Role.objects.filter(code=actor.ACTOR.role_code).first()
    if role is None:
        return
    for object_type, action in LEAD_GRANTS:
        Grant.objects.get_or_create(
            role=role, object_type=object_type, action=action, defaults={"scope": "all"}
        )


def register() -> None:
    from django.apps import apps
    from django.db.models.signals import post_migrate

    from rapport.sales.models import Lead
    from rapport.sales.services import leads as services

    def update(actor, record, values):
        return services.lead_update(actor=actor, lead=record, **values)

    def assign(actor, record, owner):
        return services.lead_assign(actor=actor, lead=record, owner=owner)

    registry.register(
        Lead.security_type,
        model=Lead,
        label=_("leads"),
        noun=_("lead"),
        update=update,
        assign=assign,
        updatable=LEAD_UPDATABLE,
        stage_field="status",
        date_fields=("created_at", "last_follow_up_at", "expected_purchase_date"),
    )
    registry.register_topic("lead.created", _("Lead created"), Lead.security_type)
    registry.register_topic("lead.assigned", _("Lead assigned"), Lead.security_type)
    registry.register_topic("lead.returned", _("Lead back in the pool"), Lead.security_type)
    registry.register_topic("lead.converted", _("Lead converted"), Lead.security_type)
    post_migrate.connect(_grant_actor, sender=apps.get_app_config("automation"))
