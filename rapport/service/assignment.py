"""Who gets a new ticket of a queue (a team's `QueueSettings`).

The candidates are the team's members and lead who work on tickets (the grant to change
them), are active and available (not marked away, or away only until a time now past). Of
those, when the queue prefers it, the ones skilled in the ticket's category (or its parent)
and the ones speaking the customer's language — a preference: when nobody matches, everyone
stays a candidate. Nobody above the queue's capacity (open tickets per agent) is chosen; when
everybody is full, the ticket waits in the queue.

- round robin: the next candidate after the one who got the last ticket (by id, cyclic);
- fewest open tickets: the least loaded candidate, ties broken in round-robin order.

The queue's cursor row is locked while choosing, so two tickets created at once never go to
the same turn. Loads are counted in one grouped query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone

from rapport.identity import system
from rapport.identity.models import Team, User

from .models import OPEN_STATUSES, AgentProfile, AutoAssign, QueueSettings, Ticket


@dataclass
class Agent:
    user: User
    available: bool
    away_until: datetime | None
    skills: set[int]
    languages: list[str]
    load: int
    skill_names: list[str]

    @property
    def language_names(self) -> list[str]:
        from django.conf import settings
        from django.utils.translation import gettext

        names = dict(settings.LANGUAGES)
        return [gettext(names[code]) for code in self.languages if code in names]


def team_agents(team: Team, *, now: datetime | None = None) -> list[Agent]:
    """The team's people who work on tickets, with availability, skills, languages and how
    many open tickets they have."""
    return agents_by_team([team], now=now)[team.pk]


def agents_by_team(teams: list[Team], *, now: datetime | None = None) -> dict[int, list[Agent]]:
    """`team_agents` for several teams at once (five queries whatever their number)."""
    now = now or timezone.now()
    team_ids = [team.pk for team in teams]
    links = list(
        Team.members.through.objects.filter(team_id__in=team_ids).values_list("team_id", "user_id")
    )
    links += [(team.pk, team.lead_id) for team in teams if team.lead_id]
    people = {
        person.pk: person
        for person in User.objects.filter(pk__in={user for _team, user in links}, is_active=True)
        .filter(
            Q(roles__grants__object_type=Ticket.security_type, roles__grants__action="change")
            | Q(is_superuser=True)
        )
        .exclude(username__in=system.usernames())
        .distinct()
    }
    agents = _describe(people, now)
    grouped: dict[int, list[Agent]] = {pk: [] for pk in team_ids}
    for team_id, user_id in sorted(set(links)):
        if user_id in agents:
            grouped[team_id].append(agents[user_id])
    for members in grouped.values():
        members.sort(key=lambda agent: agent.user.pk)
    return grouped


def _describe(people: dict[int, User], now: datetime) -> dict[int, Agent]:
    """Agents for these users: profiles, skills and open-ticket counts in three queries."""
    ids = list(people)
    profiles = {
        profile.user_id: profile
        for profile in AgentProfile.objects.filter(user_id__in=ids).prefetch_related("skills")
    }
    loads = dict(
        Ticket.objects.filter(assignee_id__in=ids, status__in=OPEN_STATUSES)
        .values("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    agents: dict[int, Agent] = {}
    for pk, person in people.items():
        profile = profiles.get(pk)
        away_until = profile.away_until if profile else None
        available = profile is None or (
            profile.available or (away_until is not None and away_until <= now)
        )
        agents[pk] = Agent(
            user=person,
            available=available,
            away_until=away_until if not available else None,
            skills={skill.pk for skill in profile.skills.all()} if profile else set(),
            languages=list(profile.languages or []) if profile else [],
            load=loads.get(pk, 0),
            skill_names=[str(skill) for skill in profile.skills.all()] if profile else [],
        )
    return agents


def lone_agent(user: User, *, now: datetime | None = None) -> Agent | None:
    """The agent view of someone in no team (None if they do not work on tickets)."""
    from rapport.identity import policy

    if user.username in system.usernames() or not (
        user.is_active and policy.has_grant(user, Ticket.security_type, "change")
    ):
        return None
    return _describe({user.pk: user}, now or timezone.now())[user.pk]


def _prefer(agents: list[Agent], keep) -> list[Agent]:
    matching = [agent for agent in agents if keep(agent)]
    return matching or agents


def choose(ticket: Ticket, queue: QueueSettings, *, now: datetime | None = None) -> User | None:
    """The agent the queue gives `ticket` to, or None (automatic assignment off, nobody
    available, everyone at capacity). Does not write."""
    if queue.auto_assign == AutoAssign.OFF:
        return None
    agents = [agent for agent in team_agents(queue.team, now=now) if agent.available]
    if queue.max_open_per_agent:
        agents = [agent for agent in agents if agent.load < queue.max_open_per_agent]
    if not agents:
        return None
    if queue.match_skills and ticket.category_id is not None:
        wanted = {ticket.category_id}
        if ticket.category.parent_id is not None:
            wanted.add(ticket.category.parent_id)
        agents = _prefer(agents, lambda agent: bool(agent.skills & wanted))
    if queue.match_language and ticket.language:
        agents = _prefer(agents, lambda agent: ticket.language in agent.languages)
    last = queue.last_assigned_id or 0
    # round-robin order: those after the last one first, then from the start
    ordered = sorted(agents, key=lambda agent: (agent.user.pk <= last, agent.user.pk))
    if queue.auto_assign == AutoAssign.LEAST_LOADED:
        lowest = min(agent.load for agent in ordered)
        ordered = [agent for agent in ordered if agent.load == lowest]
    return ordered[0].user


def queue_for(team: Team | None, *, lock: bool = False) -> QueueSettings | None:
    """The team's queue settings (None for no team or a queue never set up)."""
    if team is None:
        return None
    rows = QueueSettings.objects.select_related("team")
    if lock:
        rows = rows.select_for_update(of=("self",))
    return rows.filter(team=team).first()


def availability_of(user: User, *, now: datetime | None = None) -> dict | None:
    """For the ticket pages: None when the user does not work on tickets, else whether they
    are available and until when they are away."""
    from rapport.identity import policy

    if not (user.is_active and policy.has_grant(user, Ticket.security_type, "change")):
        return None
    now = now or timezone.now()
    profile = AgentProfile.objects.filter(user=user).first()
    if profile is None or profile.available:
        return {"available": True, "away_until": None}
    if profile.away_until is not None and profile.away_until <= now:
        return {"available": True, "away_until": None}
    return {"available": False, "away_until": profile.away_until}


def queues_overview() -> list[dict]:
    """Every team with people who work on tickets (or queue settings): its settings, its
    agents and how many tickets wait in its queue (a fixed number of queries)."""
    teams = list(Team.objects.select_related("queue_settings").order_by("name"))
    agents = agents_by_team(teams)
    waiting = dict(
        Ticket.objects.filter(team__in=teams, assignee__isnull=True, status__in=OPEN_STATUSES)
        .values("team_id")
        .annotate(n=Count("id"))
        .values_list("team_id", "n")
    )
    rows = []
    for team in teams:
        queue = getattr(team, "queue_settings", None)
        if not agents[team.pk] and queue is None:
            continue  # nobody works on tickets here
        rows.append(
            {
                "team": team,
                "queue": queue,
                "agents": agents[team.pk],
                "waiting": waiting.get(team.pk, 0),
            }
        )
    return rows
