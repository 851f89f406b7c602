"""Notifications about leads, through the one mechanism in `rapport.core.notifications`; the
lead services call these inside their own transactions."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from rapport.core.notifications import registry
from rapport.core.notifications.services import notify

ASSIGNED = "sales.lead_assigned"
RETURNED = "sales.lead_returned"


def register() -> None:
    registry.register(ASSIGNED, _("%(actor)s gave you the lead “%(lead)s”."), email=True)
    registry.register(
        RETURNED,
        _("The lead “%(lead)s” went back to the pool: no follow-up for %(days)s days."),
        email=True,
    )


def lead_assigned(*, actor, lead, url: str = "") -> None:
    """Tell the owner that `actor` gave them `lead` (nothing when they took it themselves)."""
    if lead.owner_id is None or lead.owner_id == actor.pk:
        return
    notify(
        recipient=lead.owner,
        kind="lead.assigned",
        message_key=ASSIGNED,
        params={"actor": str(actor), "lead": str(lead)},
        target=lead,
        url=url,
    )


def lead_returned(*, lead, previous, days, url: str = "") -> None:
    """Tell the rep who had `lead` that it went back to the pool (once per return)."""
    notify(
        recipient=previous,
        kind="lead.returned",
        message_key=RETURNED,
        params={"lead": str(lead), "days": days},
        target=lead,
        url=url,
        idempotency_key=f"lead-returned:{lead.pk}:{lead.returned_count}",
    )
