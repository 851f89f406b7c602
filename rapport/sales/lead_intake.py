"""The system actor leads are written as when no person is at the keyboard: the public lead
form (`/forms/lead/`) and the daily return of stale leads to their pool. It writes through
the lead services, so validation, assignment rules and audit apply as for a person."""

from __future__ import annotations

from rapport.identity import system

LEAD_SYSTEM = system.define(
    username="sales-leads",
    display_name="线索受理 Lead intake",
    role_code="sales_lead_intake",
    role_name="线索受理 / Lead intake",
    description="Turns the public lead form into leads and returns stale leads to the pool; "
    "not for people.",
    grants=(
        ("sales.lead", "view"),
        ("sales.lead", "add"),
        ("sales.lead", "change"),
        ("sales.lead", "assign"),
        ("identity.user", "view"),
    ),
)


def ensure(sender=None, using="default", **kwargs) -> None:
    """post_migrate: the actor's user and role exist."""
    LEAD_SYSTEM.ensure()
