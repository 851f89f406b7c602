"""The automation system actor (`rapport.identity.system`): the user rules act as, through
the domain services. Its one role grants what rule actions need."""

from __future__ import annotations

from rapport.identity import system

USERNAME = "automation"

ACTOR = system.define(
    username=USERNAME,
    display_name="自动化 Automation",
    role_code="automation_system",
    role_name="自动化规则 / Automation rules",
    description="Used by automation rules; not for people.",
    grants=(
        *[
            (object_type, action)
            for object_type in ("customers.account", "customers.contact")
            for action in ("view", "change", "assign")
        ],
        ("customers.interaction", "view"),
        ("customers.interaction", "add"),
        ("customers.interaction", "change"),
        ("customers.interaction", "assign"),
        ("service.ticket", "view"),
        ("service.ticket", "change"),
        ("service.ticket", "assign"),
        ("identity.user", "view"),
    ),
)
ensure = ACTOR.ensure
get = ACTOR.get
