"""REST API of assignment: service queues (a team's automatic assignment) and agents
(availability, skills, languages). Queues are read and set by those with `manage` on
`service.queue`; anyone who works on tickets reads the agents and sets their own
availability (`agents/me/`). Writes go through `rapport.service.services.assignment`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity.api import GenericViewSet, GrantPermission
from rapport.identity.models import Action, Team, User

from . import assignment
from .models import AutoAssign, QueueSettings, Ticket, TicketCategory
from .services import assignment as assignment_services


class AgentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user.pk", read_only=True)
    name = serializers.CharField(source="user.__str__", read_only=True)
    available = serializers.BooleanField(read_only=True)
    away_until = serializers.DateTimeField(read_only=True, allow_null=True)
    skills = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    languages = serializers.ListField(child=serializers.CharField(), read_only=True)
    open_tickets = serializers.IntegerField(source="load", read_only=True)


class QueueOutputSerializer(serializers.Serializer):
    team = serializers.IntegerField(source="team.pk", read_only=True)
    name = serializers.CharField(source="team.name", read_only=True)
    auto_assign = serializers.ChoiceField(choices=AutoAssign.choices, read_only=True)
    match_skills = serializers.BooleanField(read_only=True)
    match_language = serializers.BooleanField(read_only=True)
    max_open_per_agent = serializers.IntegerField(read_only=True, help_text="0: no limit.")
    waiting = serializers.IntegerField(read_only=True, help_text="Open tickets nobody has.")
    agents = AgentOutputSerializer(many=True, read_only=True)


class QueueInputSerializer(StrictInputSerializer):
    auto_assign = serializers.CharField(required=False, max_length=20)
    match_skills = serializers.BooleanField(required=False)
    match_language = serializers.BooleanField(required=False)
    max_open_per_agent = serializers.IntegerField(required=False)


class DistributedSerializer(serializers.Serializer):
    assigned = serializers.IntegerField()


class AgentInputSerializer(StrictInputSerializer):
    available = serializers.BooleanField(required=False)
    away_until = serializers.DateTimeField(required=False, allow_null=True)
    skills = serializers.PrimaryKeyRelatedField(
        queryset=TicketCategory.objects.all(), many=True, required=False
    )
    languages = serializers.ListField(
        child=serializers.CharField(max_length=10), required=False, max_length=10
    )


class AvailabilityInputSerializer(StrictInputSerializer):
    available = serializers.BooleanField(required=False)
    away_until = serializers.DateTimeField(required=False, allow_null=True)


def _row(row: dict) -> dict:
    queue: QueueSettings | None = row["queue"]
    return {
        "team": row["team"],
        "auto_assign": queue.auto_assign if queue else AutoAssign.OFF,
        "match_skills": queue.match_skills if queue else True,
        "match_language": queue.match_language if queue else True,
        "max_open_per_agent": queue.max_open_per_agent if queue else 0,
        "waiting": row["waiting"],
        "agents": row["agents"],
    }


class QueueViewSet(GenericViewSet):
    """Service queues: how each team's queue hands out new tickets, and its agents."""

    object_type = QueueSettings.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.MANAGE,
        "retrieve": Action.MANAGE,
        "partial_update": Action.MANAGE,
        "distribute": (Ticket.security_type, Action.ASSIGN),
    }
    serializer_class = QueueOutputSerializer
    pagination_class = None

    def get_queryset(self):
        return QueueSettings.objects.all()

    def _team(self, pk) -> Team:
        try:
            return Team.objects.get(pk=int(pk))
        except (Team.DoesNotExist, TypeError, ValueError):
            raise NotFound() from None

    def _one(self, team: Team) -> dict:
        for row in assignment.queues_overview():
            if row["team"].pk == team.pk:
                return _row(row)
        return _row({"team": team, "queue": None, "waiting": 0, "agents": []})

    @extend_schema(responses={200: QueueOutputSerializer(many=True), **error_responses(401, 403)})
    def list(self, request):
        rows = [_row(row) for row in assignment.queues_overview()]
        return Response(QueueOutputSerializer(rows, many=True).data)

    @extend_schema(responses={200: QueueOutputSerializer, **error_responses(401, 403, 404)})
    def retrieve(self, request, pk=None):
        return Response(QueueOutputSerializer(self._one(self._team(pk))).data)

    @extend_schema(
        request=QueueInputSerializer,
        responses={200: QueueOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Set the queue's automatic assignment (off, round_robin, least_loaded), "
        "its per-agent limit and preferences. The path's id is the team's.",
    )
    def partial_update(self, request, pk=None):
        team = self._team(pk)
        values = parse(QueueInputSerializer, request, partial=True)
        assignment_services.queue_settings_update(actor=request.user, team=team, **values)
        return Response(QueueOutputSerializer(self._one(team)).data)

    @extend_schema(
        request=None,
        responses={200: DistributedSerializer, **error_responses(401, 403, 404)},
        description="Hand out the queue's waiting tickets now, as its settings say.",
    )
    @action(detail=True, methods=["post"])
    def distribute(self, request, pk=None):
        given = assignment_services.queue_distribute(actor=request.user, team=self._team(pk))
        return Response({"assigned": given})


class AgentViewSet(GenericViewSet):
    """People who work on tickets: availability, skills, languages, open tickets."""

    object_type = Ticket.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "partial_update": Action.CHANGE,  # the service lets managers change others
        "me": Action.CHANGE,
        "me_update": Action.CHANGE,
    }
    serializer_class = AgentOutputSerializer
    pagination_class = None

    def get_queryset(self):
        return User.objects.none()

    def _agents(self) -> dict[int, assignment.Agent]:
        teams = list(Team.objects.all())
        found: dict[int, assignment.Agent] = {}
        for members in assignment.agents_by_team(teams).values():
            for agent in members:
                found[agent.user.pk] = agent
        return found

    def _agent(self, pk) -> assignment.Agent:
        try:
            user = User.objects.get(pk=int(pk), is_active=True)
        except (User.DoesNotExist, TypeError, ValueError):
            raise NotFound() from None
        found = self._agents().get(user.pk) or assignment.lone_agent(user)
        if found is None:
            raise NotFound()
        return found

    @extend_schema(responses={200: AgentOutputSerializer(many=True), **error_responses(401, 403)})
    def list(self, request):
        agents = sorted(self._agents().values(), key=lambda agent: agent.user.pk)
        return Response(AgentOutputSerializer(agents, many=True).data)

    @extend_schema(responses={200: AgentOutputSerializer, **error_responses(401, 403, 404)})
    def retrieve(self, request, pk=None):
        return Response(AgentOutputSerializer(self._agent(pk)).data)

    @extend_schema(
        request=AgentInputSerializer,
        responses={200: AgentOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Skills and languages need `manage` on service.queue; anyone sets their "
        "own availability.",
    )
    def partial_update(self, request, pk=None):
        agent = self._agent(pk)
        values = parse(AgentInputSerializer, request, partial=True)
        assignment_services.agent_profile_update(actor=request.user, agent=agent.user, **values)
        return Response(AgentOutputSerializer(self._agent(pk)).data)

    @extend_schema(responses={200: AgentOutputSerializer, **error_responses(401, 403, 404)})
    @action(detail=False, methods=["get"])
    def me(self, request):
        return Response(AgentOutputSerializer(self._agent(request.user.pk)).data)

    @extend_schema(
        request=AvailabilityInputSerializer,
        responses={200: AgentOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Mark yourself available, or away (until `away_until`).",
    )
    @me.mapping.patch
    def me_update(self, request):
        values = parse(AvailabilityInputSerializer, request, partial=True)
        assignment_services.agent_profile_update(actor=request.user, agent=request.user, **values)
        return Response(AgentOutputSerializer(self._agent(request.user.pk)).data)
