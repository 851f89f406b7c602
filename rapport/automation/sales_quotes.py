"""Quotes as a guarded action: the approval of a quote whose discount is above the threshold.

The sales app asks (`rapport.sales.services.quotes.quote_submit` calls `core.guards.submit`
only when the effective discount is above `SalesSettings.discount_approval_percent`);
automation decides, through its approval processes for "quotes"; the outcome goes back to
the sales app's handler (`guards.register_action`): approved → the quote may be sent,
rejected → a draft again.

The filter language compares a field with a fixed value, not with a setting, so the quote
service decides whether approval is needed and the process installed here has an empty
condition ("every quote that asks"); an administrator may narrow it or add processes with
conditions on the quote's fields (total, tier, effective discount …). The process
"折扣超过阈值 / Discount above the threshold" is installed after migrate (once: an
administrator's changes to it, or its deactivation, are kept); its one step is the
submitter's manager.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import post_migrate
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from rapport.core import guards

from . import registry

TYPE = "sales.quote"
PROCESS_NAME = "折扣超过阈值"
PROCESS_NAME_EN = "Discount above the threshold"
STEP_NAME = "上级经理审批"
STEP_NAME_EN = "The submitter's manager"


def _refuse_update(actor, record, values):
    raise ValidationError(gettext("Quotes are not changed by rules."), code="guarded")


def _restrict(actor, action: str = "view"):
    """Every quote for the automation actor (it checks process conditions); anyone else the
    quotes their grants allow."""
    from rapport.sales.models import Quote

    from . import actor as system_actor

    if actor is None or not actor.is_authenticated:
        return Quote.objects.none()
    if actor.username == system_actor.USERNAME:
        return Quote.objects.all()
    return Quote.objects.restrict(actor, action)


def _decided(actor, quote, approved: bool, comment: str):
    """The sales app approves the quote, or sends it back to draft."""
    guards.decided(TYPE, quote, actor=actor, approved=approved, comment=comment)


def install_default_process(**kwargs: Any) -> None:
    """The default approval process for quotes, once (idempotent: found by its name)."""
    from .models import ApprovalProcess, ApprovalStep, ApproverKind

    if ApprovalProcess.objects.filter(object_type=TYPE).exists():
        return
    with transaction.atomic():
        process = ApprovalProcess.objects.create(
            name=PROCESS_NAME,
            name_en=PROCESS_NAME_EN,
            object_type=TYPE,
            condition={},
            description=(
                "折扣超过销售设置中的审批阈值时，由提交人的上级审批。"
                " / The submitter's manager approves quotes whose effective discount is above "
                "the threshold in the sales settings."
            ),
            lock_record=True,
        )
        ApprovalStep.objects.create(
            process=process,
            number=1,
            name=STEP_NAME,
            name_en=STEP_NAME_EN,
            approver_kind=ApproverKind.MANAGER,
            manager_levels=1,
        )


def _after_migrate(sender, using="default", **kwargs) -> None:
    install_default_process()


def approval_info(quote) -> dict[str, Any] | None:
    """The latest approval request of a quote, for the quote's page: state, its page, the
    step open now and the approvers' decisions (None when it never asked)."""
    from .approval_panels import open_step_names
    from .approvals import request_url
    from .models import ApprovalRequest

    request = (
        ApprovalRequest.objects.filter(object_type=TYPE, object_id=quote.pk)
        .select_related("process")
        .prefetch_related("tasks__approver")
        .order_by("-id")
        .first()
    )
    if request is None:
        return None
    return {
        "id": request.pk,
        "state": request.state,
        "state_label": request.get_state_display(),
        "process": request.process.display_name,
        "url": request_url(request),
        "open_steps": open_step_names(request),
        "tasks": [
            {
                "approver": str(task.approver),
                "state": task.state,
                "state_label": task.get_state_display(),
                "comment": task.comment,
                "decided_at": task.decided_at,
            }
            for task in request.tasks.all()
        ],
    }


def register() -> None:
    from rapport.sales import quote_hooks
    from rapport.sales.models import Quote

    registry.register(
        TYPE,
        model=Quote,
        label=_("quotes"),
        noun=_("quote"),
        update=_refuse_update,
        guarded=True,
        decided=_decided,
        restrict_with=_restrict,
    )
    quote_hooks.register_approval_info(approval_info)
    post_migrate.connect(
        _after_migrate,
        sender=django_apps.get_app_config("automation"),
        dispatch_uid="rapport.automation.sales_quotes",
    )
