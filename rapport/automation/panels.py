"""The "Automation" card of the account and contact 360 pages: the latest rule runs for the
record.

Who sees what: the card shows only to people who may view the record (the 360 page checks
it, and the card checks it again). The runs themselves — when, state — show to all of them:
that a rule changed the record is part of its story, like its history. The rule's name, the
error and the link to the run belong to rule administrators (`manage` on
`automation.rule`): rules are designed and read by them, and a name or error can tell of
processes and records others are not meant to see; everyone else reads "an automation
rule". Dry runs are tests by administrators, not things that happened: they are left out.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from rapport.identity import policy
from rapport.identity.models import Action

from .models import Rule, RuleRun, RunState

LATEST = 10


def render_runs(request: HttpRequest, record: Any) -> str:
    user = request.user
    if not policy.can(user, Action.VIEW, record):
        return ""
    runs = list(
        RuleRun.objects.filter(object_type=record.security_type, object_id=record.pk)
        .exclude(state=RunState.DRY_RUN)
        .select_related("rule")
        .only(
            "pk",
            "state",
            "error",
            "created_at",
            "object_type",
            "object_id",
            "rule__id",
            "rule__name",
            "rule__name_en",
        )
        .order_by("-id")[:LATEST]
    )
    if not runs:
        return ""
    return render_to_string(
        "automation/_record_runs.html",
        {"runs": runs, "can_manage": policy.has_grant(user, Rule.security_type, Action.MANAGE)},
        request=request,
    )


def register() -> None:
    from rapport.customers.detail_views import Panel, register_panel
    from rapport.customers.models import Account, Contact

    for model in (Account, Contact):
        register_panel(
            model.security_type,
            Panel(key="automation_runs", title=_("Automation"), render=render_runs, order=200),
        )
