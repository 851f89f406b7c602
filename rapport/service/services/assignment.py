"""Writes of assignment: a queue's settings, an agent's availability, skills and languages,
and the automatic assignment of tickets (`rapport.service.assignment` chooses; this writes,
audits and tells the agent).

Queue settings, skills and languages need `manage` on `service.queue` (service managers,
administrators); anyone who works on tickets sets their own availability. Every change is
validated as a whole (one ValidationError naming each bad field, nothing stored) and
audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.models import Action, Team, User

from .. import assignment
from ..models import (
    OPEN_STATUSES,
    AgentProfile,
    AutoAssign,
    QueueSettings,
    Ticket,
    TicketCategory,
)
from ..notifications import ticket_assigned

QUEUE_FIELDS = ("auto_assign", "match_skills", "match_language", "max_open_per_agent")
MAX_CAPACITY = 1000


def can_manage(actor: User) -> bool:
    return policy.has_grant(actor, QueueSettings.security_type, Action.MANAGE)


def _require_manage(actor: User) -> None:
    if not can_manage(actor):
        raise PermissionDenied(
            _("You may not configure service queues and agents."), code="queue_manage_denied"
        )


def works_on_tickets(user: User) -> bool:
    return user.is_active and policy.has_grant(user, Ticket.security_type, Action.CHANGE)


def queue_settings_update(*, actor: User, team: Team, **values: Any) -> QueueSettings:
    """Set how the team's queue hands out tickets (made on first use)."""
    _require_manage(actor)
    unknown = set(values) - set(QUEUE_FIELDS)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), "unknown_field") for name in unknown}
        )
    errors: dict[str, list[ValidationError]] = {}
    if "auto_assign" in values and values["auto_assign"] not in AutoAssign.values:
        errors["auto_assign"] = [
            ValidationError(
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": values["auto_assign"], "choices": ", ".join(AutoAssign.values)},
                "invalid_choice",
            )
        ]
    for name in ("match_skills", "match_language"):
        if name in values and not isinstance(values[name], bool):
            errors[name] = [ValidationError(_("Give true or false."), "invalid")]
    if "max_open_per_agent" in values:
        number = values["max_open_per_agent"]
        if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number <= 1000:
            errors["max_open_per_agent"] = [
                ValidationError(
                    _("Give a whole number from 0 (no limit) to %(n)d.") % {"n": MAX_CAPACITY},
                    "invalid",
                )
            ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        queue, _created = QueueSettings.objects.select_for_update().get_or_create(team=team)
        before = trail.snapshot(queue, QUEUE_FIELDS)
        for name, value in values.items():
            setattr(queue, name, value)
        changed = trail.diff(before, trail.snapshot(queue, QUEUE_FIELDS))
        if changed:
            queue.save()
            trail.record(actor=actor, action="update", target=queue, changes=changed)
    return queue


def _languages() -> set[str]:
    return {code for code, _name in settings.LANGUAGES}


def agent_profile_update(*, actor: User, agent: User, **values: Any) -> AgentProfile:
    """Set an agent's availability (`available`, `away_until`: their own, or a manager's),
    skills (categories) and languages (a manager's). Back before `away_until` passes, they
    are available again by themselves."""
    allowed = {"available", "away_until", "skills", "languages"}
    unknown = set(values) - allowed
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), "unknown_field") for name in unknown}
        )
    own = actor.pk == agent.pk
    if not can_manage(actor) and not (own and set(values) <= {"available", "away_until"}):
        raise PermissionDenied(
            _("You may not change this agent's profile."), code="agent_manage_denied"
        )
    errors: dict[str, list[ValidationError]] = {}
    if not works_on_tickets(agent):
        errors["agent"] = [ValidationError(_("This person does not work on tickets."), "invalid")]
    if "available" in values and not isinstance(values["available"], bool):
        errors["available"] = [ValidationError(_("Give true or false."), "invalid")]
    away_until = values.get("away_until")
    if away_until is not None and not isinstance(away_until, datetime):
        errors["away_until"] = [ValidationError(_("Give a date and time."), "invalid")]
    elif away_until is not None and away_until <= timezone.now():
        errors["away_until"] = [ValidationError(_("Give a time in the future."), "past")]
    skills: list[TicketCategory] = []
    if "skills" in values:
        given = values["skills"] or []
        skills = [item for item in given if isinstance(item, TicketCategory)]
        if len(skills) != len(given) or any(not item.is_active for item in skills):
            errors["skills"] = [ValidationError(_("Choose active categories."), "invalid")]
    if "languages" in values:
        languages = values["languages"] or []
        offered = _languages()
        if not isinstance(languages, list) or any(code not in offered for code in languages):
            errors["languages"] = [
                ValidationError(
                    _("Choose among: %(choices)s.") % {"choices": ", ".join(sorted(offered))},
                    "invalid_choice",
                )
            ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        profile, _created = AgentProfile.objects.select_for_update().get_or_create(user=agent)
        before = {
            "available": profile.available,
            "away_until": profile.away_until.isoformat() if profile.away_until else None,
            "skills": sorted(profile.skills.values_list("pk", flat=True)),
            "languages": list(profile.languages),
        }
        if "available" in values:
            profile.available = values["available"]
            if values["available"]:
                profile.away_until = None
        if "away_until" in values:
            profile.away_until = away_until
            if away_until is not None:
                profile.available = False
        if "languages" in values:
            profile.languages = list(dict.fromkeys(values["languages"] or []))
        profile.save()
        if "skills" in values:
            profile.skills.set(skills)
        after = {
            "available": profile.available,
            "away_until": profile.away_until.isoformat() if profile.away_until else None,
            "skills": sorted(item.pk for item in skills)
            if "skills" in values
            else before["skills"],
            "languages": list(profile.languages),
        }
        changed = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
        if changed:
            trail.record(actor=actor, action="update", target=profile, changes=changed)
    return profile


def ticket_auto_assign(*, actor: User, ticket: Ticket) -> User | None:
    """Give a queued ticket (a team, nobody yet) to the agent its queue chooses, inside the
    caller's transaction; None when the queue does not assign or nobody can take it."""
    if (
        ticket.team_id is None
        or ticket.assignee_id is not None
        or ticket.status not in OPEN_STATUSES
    ):
        return None
    queue = assignment.queue_for(ticket.team, lock=True)
    if queue is None:
        return None
    chosen = assignment.choose(ticket, queue)
    if chosen is None:
        return None
    Ticket.objects.filter(pk=ticket.pk).update(assignee=chosen, last_activity_at=timezone.now())
    ticket.assignee = chosen
    queue.last_assigned = chosen
    queue.save(update_fields=["last_assigned", "updated_at"])
    trail.record(
        actor=actor,
        action="assign",
        target=ticket,
        changes={"assignee": [None, chosen.pk]},
        extra={"automatic": queue.auto_assign},
    )
    ticket_assigned(actor=actor, ticket=ticket)
    events.emit(
        "record.updated", {"type": Ticket.security_type, "id": ticket.pk, "fields": ["assignee"]}
    )
    events.emit(
        "ticket.assigned",
        {
            "type": Ticket.security_type,
            "id": ticket.pk,
            "team": ticket.team_id,
            "assignee": chosen.pk,
        },
    )
    return chosen


def queue_distribute(*, actor: User, team: Team, limit: int = 500) -> int:
    """Hand out the queue's waiting tickets (open, nobody's), oldest first, as its settings
    say — after an agent comes back, or when the queue switches assignment on. Only tickets
    the actor may assign; stops when nobody can take more. Returns how many were given."""
    if not policy.has_grant(actor, Ticket.security_type, Action.ASSIGN):
        raise PermissionDenied(_("You may not do this to this ticket."), code="ticket_denied")
    waiting = list(
        Ticket.objects.restrict(actor, Action.ASSIGN)
        .filter(team=team, assignee__isnull=True, status__in=OPEN_STATUSES)
        .select_related("category", "team")
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    given = 0
    for pk in waiting:
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(of=("self",))
                .select_related("category", "team")
                .filter(pk=pk, assignee__isnull=True)
                .first()
            )
            if ticket is None:
                continue
            if ticket_auto_assign(actor=actor, ticket=ticket) is None:
                break
            given += 1
    return given
