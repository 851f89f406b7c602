"""The "Approvals" card of the account and contact 360 pages: the record's approval requests
(state, the step open now), the current user's decision on a pending one, and "Submit for
approval" (choosing the process when more than one applies).

The card shows nothing when the record has no request the user may see and no active process
exists for its type. Reads go through the approval selectors (`requests_for_record` applies
who may see a request); the buttons post to the approval views, which call the services.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from . import approvals
from .approval_forms import DecisionForm, SubmitForm
from .approval_selectors import pending_tasks_for, requests_for_record
from .models import ApprovalProcess

LATEST = 5
PAGES = {
    "customers.account": "customers:account_detail",
    "customers.contact": "customers:contact_detail",
}


def step_label(approval, index: int, fallback: str = "") -> str:
    """The name of step `index` of a request in the reader's language (from the steps as
    they were at submit)."""
    steps = approval.steps or []
    step = steps[index] if 0 <= index < len(steps) else {}
    english = (translation.get_language() or "").startswith("en")
    if english and step.get("name_en"):
        return step["name_en"]
    return step.get("name") or step.get("name_en") or fallback


def open_step_names(approval) -> str:
    """The names of the steps open now (parallel steps share the number), "" when decided."""
    if not approval.is_pending or approval.current_number is None:
        return ""
    return ", ".join(
        step_label(approval, index)
        for index, step in enumerate(approval.steps or [])
        if step.get("number") == approval.current_number
    )


def render_approvals(request: HttpRequest, record: Any) -> str:
    user = request.user
    object_type = record.security_type
    requests = list(requests_for_record(user, object_type, record.pk)[:LATEST])
    has_processes = ApprovalProcess.objects.filter(object_type=object_type, is_active=True).exists()
    if not requests and not has_processes:
        return ""
    pending = any(approval.is_pending for approval in requests)
    processes = (
        approvals.processes_for(user, object_type, record) if has_processes and not pending else []
    )
    mine: dict[int, list[Any]] = {}
    if pending:
        now = timezone.now()
        for task in pending_tasks_for(user).filter(
            request__object_type=object_type, request__object_id=record.pk
        ):
            task.step_label = step_label(task.request, task.step_index, task.step_name)
            mine.setdefault(task.request_id, []).append(
                {
                    "task": task,
                    "overdue": task.due_at is not None and task.due_at < now,
                    "form": DecisionForm(prefix=f"task{task.pk}"),
                }
            )
    back = reverse(PAGES[object_type], args=[record.pk]) + "#approvals"
    rows = [
        {
            "request": approval,
            "current": open_step_names(approval),
            "my_rows": mine.get(approval.pk, []),
        }
        for approval in requests
    ]
    return render_to_string(
        "automation/approvals/_panel.html",
        {
            "rows": rows,
            "processes": processes,
            "submit_form": SubmitForm(processes=processes, prefix="approval"),
            "object_type": object_type,
            "record": record,
            "pending": pending,
            "back": back,
        },
        request=request,
    )


def register() -> None:
    from rapport.customers.detail_views import Panel, register_panel

    for object_type in PAGES:
        register_panel(
            object_type,
            Panel(key="approvals", title=_("Approvals"), render=render_approvals, order=40),
        )
