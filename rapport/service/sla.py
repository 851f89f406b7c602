"""Service-level clocks of tickets: which policy applies, when the first response and the
resolution are due, the pause while a ticket waits on the customer, and the sweep that finds
warnings and breaches.

- A ticket's policy is the first active `SlaPolicy` (by position) whose conditions hold:
  priority, type, the account's tier, the category (a parent category covers its children).
- Due times are real moments computed on the policy's business calendar (the default
  calendar when it names none): first response due = created + target in working time;
  resolution due = created + target + the working time the ticket spent waiting on the
  customer. Warnings come at `warn_percent` of each target.
- Waiting on the customer stops the resolution clock: the due time is cleared while paused,
  and on resuming the working time spent paused is added to the budget and the due time
  computed again. The first response clock never pauses.
- `sweep(now)` (beat, every minute) reads the four indexed times, marks each warning and
  breach once, and tells the assignee (or the queue's lead) and, on a breach, the service
  managers of the queue's department — emitting `ticket.sla_warning` / `ticket.sla_breached`
  for automation rules (reassign, escalate). Marking and emitting happen in one transaction
  per ticket, so a sweep run twice reports nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.core import events
from rapport.core.notifications import registry
from rapport.core.notifications.services import notify
from rapport.identity.models import User

from .calendars import NoWorkingTime, Schedule
from .models import OPEN_STATUSES, BusinessCalendar, SlaPolicy, Ticket, TicketStatus

WARNING = "service.sla_warning"
BREACH = "service.sla_breached"
TARGETS = {"first_response": _("first response"), "resolution": _("resolution")}
SWEEP_BATCH = 500


def register_messages() -> None:
    registry.register(
        WARNING,
        _("Ticket %(number)s “%(subject)s”: the %(target)s is due %(due)s."),
        datetimes=("due",),
        email=True,
    )
    registry.register(
        BREACH,
        _("Ticket %(number)s “%(subject)s” missed its %(target)s target (due %(due)s)."),
        datetimes=("due",),
        email=True,
    )


def _matches(policy: SlaPolicy, ticket: Ticket) -> bool:
    if policy.priorities and ticket.priority not in policy.priorities:
        return False
    if policy.kinds and ticket.kind not in policy.kinds:
        return False
    if policy.tiers:
        tier = ticket.account.tier if ticket.account_id and ticket.account else None
        if tier not in policy.tiers:
            return False
    if policy.categories:
        category = ticket.category
        ids = {category.pk, category.parent_id} if category is not None else set()
        if not ids & {int(value) for value in policy.categories}:
            return False
    return True


def policy_for(ticket: Ticket) -> SlaPolicy | None:
    for policy in SlaPolicy.objects.filter(is_active=True).order_by("position", "id"):
        if _matches(policy, ticket):
            return policy
    return None


def _schedule(policy: SlaPolicy) -> Schedule:
    calendars = BusinessCalendar.objects.prefetch_related("days")
    calendar = (
        calendars.filter(pk=policy.calendar_id).first()
        if policy.calendar_id
        else calendars.filter(is_default=True).first()
    )
    if calendar is None:  # no calendar at all: round the clock
        return Schedule(weekly=(((0, 24 * 60),),) * 7, public_holidays=False)
    return calendar.schedule()


def _add(schedule: Schedule, start: datetime, seconds: float) -> datetime | None:
    try:
        return schedule.add(start, timedelta(seconds=seconds))
    except NoWorkingTime:
        return None


def apply(ticket: Ticket, *, now: datetime | None = None) -> None:
    """Choose the ticket's policy and compute its due and warning times (not saved). A
    target already met or breached keeps its state; a ticket without a policy has none."""
    policy = policy_for(ticket)
    ticket.sla_policy = policy
    if policy is None:
        ticket.first_response_due_at = ticket.first_response_warn_at = None
        ticket.resolution_due_at = ticket.resolution_warn_at = None
        return
    schedule = _schedule(policy)
    start = ticket.created_at or now or timezone.now()
    share = min(max(policy.warn_percent, 1), 100) / 100
    first = policy.first_response_minutes * 60
    ticket.first_response_due_at = _add(schedule, start, first)
    ticket.first_response_warn_at = _add(schedule, start, first * share)
    if ticket.sla_paused_at is not None:  # waiting: the resolution clock is stopped
        ticket.resolution_due_at = ticket.resolution_warn_at = None
        return
    budget = policy.resolution_minutes * 60
    paused = ticket.sla_paused_seconds
    ticket.resolution_due_at = _add(schedule, start, budget + paused)
    ticket.resolution_warn_at = _add(schedule, start, budget * share + paused)


def pause(ticket: Ticket, *, now: datetime) -> None:
    """The ticket waits on the customer: stop the resolution clock (not saved)."""
    if ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
        ticket.resolution_due_at = ticket.resolution_warn_at = None


def resume(ticket: Ticket, *, now: datetime) -> None:
    """The customer answered (or the ticket moved on): add the working time spent waiting to
    the budget and compute the resolution due time again (not saved)."""
    if ticket.sla_paused_at is None:
        return
    if ticket.sla_policy_id is not None:
        waited = _schedule(ticket.sla_policy).between(ticket.sla_paused_at, now)
        ticket.sla_paused_seconds += int(waited.total_seconds())
    ticket.sla_paused_at = None
    if ticket.sla_policy_id is not None:
        policy = ticket.sla_policy
        schedule = _schedule(policy)
        share = min(max(policy.warn_percent, 1), 100) / 100
        budget = policy.resolution_minutes * 60
        ticket.resolution_due_at = _add(
            schedule, ticket.created_at, budget + ticket.sla_paused_seconds
        )
        ticket.resolution_warn_at = _add(
            schedule, ticket.created_at, budget * share + ticket.sla_paused_seconds
        )


def on_status(ticket: Ticket, before: str, after: str, *, now: datetime) -> None:
    """Keep the clocks in step with a status move (not saved)."""
    if after == TicketStatus.PENDING:
        pause(ticket, now=now)
    elif before == TicketStatus.PENDING:
        resume(ticket, now=now)
    if after in (TicketStatus.OPEN,) and before in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        resume(ticket, now=now)


# --- the sweep ---------------------------------------------------------------------------------

CHECKS = (
    # (target, flag, moment field, kind); breaches first: a breach marks its warning too
    ("first_response", "first_response_breached", "first_response_due_at", "breach"),
    ("first_response", "first_response_warned", "first_response_warn_at", "warning"),
    ("resolution", "resolution_breached", "resolution_due_at", "breach"),
    ("resolution", "resolution_warned", "resolution_warn_at", "warning"),
)


def _recipients(ticket: Ticket, kind: str) -> list[User]:
    people: list[User] = []
    if ticket.assignee_id:
        people.append(ticket.assignee)
    elif ticket.team_id and ticket.team.lead_id:
        people.append(ticket.team.lead)
    if kind == "breach" and ticket.team_id and ticket.team.department_id:
        department = ticket.team.department
        if department.manager_id:
            people.append(department.manager)
        people.extend(
            User.objects.filter(
                department=department, is_active=True, roles__code="service_manager"
            ).distinct()
        )
    unique = {person.pk: person for person in people if person is not None}
    return list(unique.values())


def _report(ticket: Ticket, target: str, kind: str, due: datetime) -> None:
    topic = "ticket.sla_breached" if kind == "breach" else "ticket.sla_warning"
    events.emit(
        topic,
        {
            "type": Ticket.security_type,
            "id": ticket.pk,
            "target": target,
            "due": due.isoformat(),
            "assignee": ticket.assignee_id,
            "team": ticket.team_id,
        },
    )
    for person in _recipients(ticket, kind):
        notify(
            recipient=person,
            kind=topic,
            message_key=BREACH if kind == "breach" else WARNING,
            params={
                "number": ticket.number,
                "subject": ticket.subject,
                "target": str(TARGETS[target]),
                "due": due.isoformat(),
            },
            target=ticket,
            url=reverse("service:ticket_detail", args=[ticket.pk]),
            idempotency_key=f"{topic}:{ticket.pk}:{target}:{person.pk}",
        )


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Mark and report every warning and breach due by `now`; returns counts per check."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    for target, flag, moment, kind in CHECKS:
        found = 0
        condition = Q(**{f"{moment}__lte": now, flag: False}, status__in=OPEN_STATUSES)
        if target == "first_response":
            condition &= Q(first_response_at__isnull=True)
        else:
            condition &= Q(sla_paused_at__isnull=True)
        while True:
            ids = list(
                Ticket.objects.filter(condition)
                .order_by(moment)
                .values_list("pk", flat=True)[:SWEEP_BATCH]
            )
            if not ids:
                break
            for pk in ids:
                with transaction.atomic():
                    ticket = (
                        Ticket.objects.select_for_update(of=("self",))
                        .select_related("assignee", "team__lead", "team__department__manager")
                        .filter(condition, pk=pk)
                        .first()
                    )
                    if ticket is None:  # met or reported meanwhile
                        continue
                    setattr(ticket, flag, True)
                    if kind == "breach":  # a breach is its warning too
                        setattr(ticket, flag.replace("breached", "warned"), True)
                    ticket.save(update_fields=[flag, flag.replace("breached", "warned")])
                    due = getattr(ticket, moment.replace("_warn_at", "_due_at"))
                    _report(ticket, target, kind, due or getattr(ticket, moment))
                    found += 1
        counts[f"{target}_{kind}"] = found
    return counts
