"""REST API of departments and teams."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse

from .. import services
from ..models import Action, Department, Team, User
from .base import (
    DepartmentRefSerializer,
    GenericViewSet,
    GrantPermission,
    IdFilter,
    UserRefSerializer,
    _search_filter,
)


class DepartmentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    code = serializers.CharField(read_only=True)
    parent = serializers.IntegerField(source="parent_id", read_only=True, allow_null=True)
    path = serializers.CharField(read_only=True)
    depth = serializers.IntegerField(read_only=True)
    manager = UserRefSerializer(read_only=True, allow_null=True)
    is_active = serializers.BooleanField(read_only=True)


class DepartmentCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(allow_blank=True)
    code = serializers.CharField(allow_blank=True)
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True
    )
    manager = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )


class DepartmentUpdateSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True)
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True
    )
    manager = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )


class DepartmentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method=_search_filter(("name", "code")), label=gettext_lazy("Search")
    )
    parent = IdFilter(field_name="parent_id")

    class Meta:
        model = Department
        fields = ["is_active"]


@extend_schema_view(
    list=extend_schema(
        responses={200: DepartmentOutputSerializer, **error_responses(400, 401, 403)}
    ),
    retrieve=extend_schema(
        responses={200: DepartmentOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class DepartmentViewSet(GenericViewSet):
    """The organisation tree. Reading needs the user view grant; changes need user manage."""

    object_type = "identity.user"
    permission_classes = [GrantPermission]
    grant_actions = {"create": Action.MANAGE, "partial_update": Action.MANAGE}
    serializer_class = DepartmentOutputSerializer
    filterset_class = DepartmentFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["name", "code", "path", "id"]

    def get_queryset(self):
        return Department.objects.select_related("manager")

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(DepartmentOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(DepartmentOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=DepartmentCreateSerializer,
        responses={201: DepartmentOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(DepartmentCreateSerializer, request)
        department = services.department_create(actor=request.user, **values)
        return Response(DepartmentOutputSerializer(department).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=DepartmentUpdateSerializer,
        responses={200: DepartmentOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        department = self.get_object()
        values = parse(DepartmentUpdateSerializer, request, partial=True)
        department = services.department_update(actor=request.user, department=department, **values)
        return Response(DepartmentOutputSerializer(department).data)


class TeamOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    department = DepartmentRefSerializer(read_only=True, allow_null=True)
    lead = UserRefSerializer(read_only=True, allow_null=True)
    members = UserRefSerializer(many=True, read_only=True)


class TeamCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(allow_blank=True)
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True
    )
    lead = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )
    members = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), many=True, required=False
    )


class TeamUpdateSerializer(StrictInputSerializer):
    members = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), many=True)


class TeamFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method=_search_filter(("name",)), label=gettext_lazy("Search"))
    department = IdFilter(field_name="department_id")
    member = IdFilter(field_name="members", distinct=True)

    class Meta:
        model = Team
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(responses={200: TeamOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(responses={200: TeamOutputSerializer, **error_responses(401, 403, 404)}),
)
class TeamViewSet(GenericViewSet):
    object_type = "identity.user"
    permission_classes = [GrantPermission]
    grant_actions = {"create": Action.MANAGE, "partial_update": Action.MANAGE}
    serializer_class = TeamOutputSerializer
    filterset_class = TeamFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["name", "id"]

    def get_queryset(self):
        return Team.objects.select_related("department", "lead").prefetch_related("members")

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(TeamOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(TeamOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=TeamCreateSerializer,
        responses={201: TeamOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(TeamCreateSerializer, request)
        team = services.team_create(actor=request.user, **values)
        return Response(
            TeamOutputSerializer(self.get_queryset().get(pk=team.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=TeamUpdateSerializer,
        responses={200: TeamOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Replace the team's members.",
    )
    def partial_update(self, request, pk=None):
        team = self.get_object()
        values = parse(TeamUpdateSerializer, request)
        services.team_set_members(actor=request.user, team=team, members=values["members"])
        return Response(TeamOutputSerializer(self.get_queryset().get(pk=team.pk)).data)
