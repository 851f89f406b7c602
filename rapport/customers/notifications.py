"""Notifications about tasks: the reminder when it is due, and a task someone else gave you.

Registered with the one notification mechanism in `rapport.core.notifications`; the task
services call these inside their own transactions.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from rapport.core.notifications import registry
from rapport.core.notifications.services import notify

from .models import Interaction

REMINDER = "customers.task_reminder"
REMINDER_UNDATED = "customers.task_reminder_undated"
ASSIGNED = "customers.task_assigned"


def register() -> None:
    registry.register(
        REMINDER, _("Reminder: “%(subject)s” — due %(due)s"), datetimes=("due",), email=True
    )
    registry.register(REMINDER_UNDATED, _("Reminder: “%(subject)s”"), email=True)
    registry.register(ASSIGNED, _("%(actor)s gave you a task: “%(subject)s”."))


def _task_url(task: Interaction) -> str:
    return reverse("customers:interaction_edit", args=[task.pk])


def task_reminder(task: Interaction) -> None:
    """The reminder of `task`, for its assignee (its owner if it has none). Once per reminder
    time: the key names the task and the time, so a moved reminder is delivered again."""
    params = {"subject": task.subject}
    if task.due_at is not None:
        params["due"] = task.due_at.isoformat()
    notify(
        recipient=task.assignee or task.owner,
        kind="task.reminder",
        message_key=REMINDER if task.due_at is not None else REMINDER_UNDATED,
        params=params,
        target=task,
        url=_task_url(task),
        idempotency_key=f"task.reminder:{task.pk}:{int(task.remind_at.timestamp())}",
    )


def task_assigned(*, actor, task: Interaction) -> None:
    """Tell the assignee that `actor` gave them `task` (nothing when they gave it themselves)."""
    if task.assignee_id is None or task.assignee_id == actor.pk:
        return
    notify(
        recipient=task.assignee,
        kind="task.assigned",
        message_key=ASSIGNED,
        params={"actor": str(actor), "subject": task.subject},
        target=task,
        url=_task_url(task),
    )
