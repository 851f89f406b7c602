"""Opportunities as an automatable record type, with their services (the sales app cannot
import automation; automation registers it when it loads), and the opportunity events rules
can start from: stage.changed, opportunity.won, opportunity.lost. "Stage changed" rules watch
the `stage` field (a stage id); a rule that sets `stage` moves the opportunity through
`opportunity_move`, so the stage's rules (required fields, lost reason) hold for rules too.

The automation actor's role gets the opportunity grants it needs (view, change, assign) after
migrate, so rules act on opportunities through their services like a person with them."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import registry

OPPORTUNITY_UPDATABLE = (
    "stage",
    "amount",
    "expected_close_date",
    "forecast_category",
    "next_step",
    "description",
)
OPPORTUNITY_GRANTS = (
    ("sales.opportunity", "view"),
    ("sales.opportunity", "change"),
    ("sales.opportunity", "assign"),
)


def _grant_actor(sender=None, using="default", **kwargs) -> None:
    from rapport.identity.models import Grant, Role

    from . import actor

    role = Role.objects.filter(code=actor.ACTOR.role_code).first()
    if role is None:
        return
    for object_type, action in OPPORTUNITY_GRANTS:
        Grant.objects.get_or_create(
            role=role, object_type=object_type, action=action, defaults={"scope": "all"}
        )


def _stage_value(field: str, value) -> str | None:
    """A rule may set (or watch) `stage` only to an existing active stage's id."""
    if field != "stage":
        return None
    from rapport.sales.models import Stage

    text = str(value).strip()
    if not text.isdigit() or not Stage.objects.filter(pk=int(text), is_active=True).exists():
        return _("Choose an active stage (by its number).")
    return None


def register() -> None:
    from django.apps import apps
    from django.db.models.signals import post_migrate

    from rapport.sales.models import Opportunity, Stage
    from rapport.sales.services import pipeline as services

    def update(actor, record, values):
        values = dict(values)
        stage = values.pop("stage", None)
        if stage is not None:
            target = stage if isinstance(stage, Stage) else Stage.objects.get(pk=int(stage))
            return services.opportunity_move(
                actor=actor, opportunity=record, stage=target, values=values
            )
        return services.opportunity_update(actor=actor, opportunity=record, **values)

    def assign(actor, record, owner):
        return services.opportunity_assign(actor=actor, opportunity=record, owner=owner)

    registry.register(
        Opportunity.security_type,
        model=Opportunity,
        label=gettext_lazy("opportunities"),
        noun=gettext_lazy("opportunity"),
        update=update,
        assign=assign,
        updatable=OPPORTUNITY_UPDATABLE,
        stage_field="stage",
        check_value=_stage_value,
        task_about=lambda opportunity: {
            key: value
            for key, value in (("account", opportunity.account), ("contact", opportunity.contact))
            if value is not None
        },
        date_fields=("created_at", "expected_close_date", "stage_entered_at", "closed_at"),
    )
    registry.register_topic(
        "stage.changed", gettext_lazy("Opportunity stage changed"), Opportunity.security_type
    )
    registry.register_topic(
        "opportunity.won", gettext_lazy("Opportunity won"), Opportunity.security_type
    )
    registry.register_topic(
        "opportunity.lost", gettext_lazy("Opportunity lost"), Opportunity.security_type
    )
    post_migrate.connect(_grant_actor, sender=apps.get_app_config("automation"))
