"""REST API of users."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse

from .. import policy, services
from ..middleware import has_mfa
from ..models import Action, Department, Role, User
from .base import (
    CodeRelatedField,
    DepartmentRefSerializer,
    GenericViewSet,
    GrantPermission,
    IdFilter,
    TimeZoneField,
    UserRefSerializer,
    _pk_or_404,
    _search_filter,
)


class UserOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    name = serializers.CharField(source="__str__", read_only=True)
    phone = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    department = DepartmentRefSerializer(read_only=True, allow_null=True)
    manager = UserRefSerializer(read_only=True, allow_null=True)
    roles = serializers.SerializerMethodField(help_text="Role codes.")

    def get_roles(self, record) -> list[str]:
        return [role.code for role in record.roles.all()]

    language = serializers.CharField(read_only=True)
    timezone = serializers.CharField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    deactivated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    successor = UserRefSerializer(read_only=True, allow_null=True)
    last_login = serializers.DateTimeField(read_only=True, allow_null=True)
    date_joined = serializers.DateTimeField(read_only=True)


class UserDetailSerializer(UserOutputSerializer):
    is_locked = serializers.SerializerMethodField()
    mfa_enabled = serializers.SerializerMethodField()

    def get_is_locked(self, user: User) -> bool:
        return services.user_is_locked(user)

    def get_mfa_enabled(self, user: User) -> bool:
        return has_mfa(user)


class UserCreateSerializer(StrictInputSerializer):
    username = serializers.CharField(allow_blank=True, trim_whitespace=False)
    email = serializers.CharField(required=False, allow_blank=True)
    password = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, write_only=True
    )
    display_name = serializers.CharField(required=False, allow_blank=True)
    title = serializers.CharField(required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True)
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True
    )
    manager = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )
    roles = CodeRelatedField(
        slug_field="code", queryset=Role.objects.all(), many=True, required=False
    )
    language = serializers.CharField(required=False)
    timezone = TimeZoneField(required=False)


class UserUpdateSerializer(StrictInputSerializer):
    username = serializers.CharField(required=False, allow_blank=True)
    email = serializers.CharField(required=False, allow_blank=True)
    display_name = serializers.CharField(required=False, allow_blank=True)
    title = serializers.CharField(required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True)
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True
    )
    manager = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )
    language = serializers.CharField(required=False)
    timezone = TimeZoneField(required=False)


class ReasonSerializer(StrictInputSerializer):
    reason = serializers.CharField(required=False, allow_blank=True)


class OffboardSerializer(StrictInputSerializer):
    successor = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    reason = serializers.CharField(required=False, allow_blank=True)


class OffboardResultSerializer(serializers.Serializer):
    moved = serializers.DictField(
        child=serializers.IntegerField(), help_text="Records handed over, per record type."
    )
    user = UserOutputSerializer()


class UserRolesSerializer(StrictInputSerializer):
    roles = CodeRelatedField(
        slug_field="code", queryset=Role.objects.all(), many=True, allow_empty=True
    )


class EndedSerializer(serializers.Serializer):
    ended = serializers.IntegerField(read_only=True, help_text="How many sessions were ended.")


class SessionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    ip = serializers.CharField(read_only=True)
    user_agent = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    last_seen_at = serializers.DateTimeField(read_only=True)
    is_current = serializers.SerializerMethodField()

    def get_is_current(self, session) -> bool:
        request = self.context.get("request")
        current = getattr(getattr(request, "session", None), "session_key", None)
        return bool(current) and session.session_key == current


class UserFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method=_search_filter(("username", "email", "display_name")),
        label=gettext_lazy("Search"),
    )
    department = IdFilter(field_name="department_id")
    role = django_filters.CharFilter(field_name="roles__code", distinct=True)

    class Meta:
        model = User
        fields = ["is_active"]


@extend_schema_view(
    list=extend_schema(responses={200: UserOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(responses={200: UserDetailSerializer, **error_responses(401, 403, 404)}),
)
class UserViewSet(GenericViewSet):
    """Users (never deleted: deactivated or offboarded)."""

    object_type = "identity.user"
    permission_classes = [GrantPermission]
    grant_actions = {
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
        "deactivate": Action.MANAGE,
        "reactivate": Action.MANAGE,
        "offboard": Action.MANAGE,
        "unlock": Action.MANAGE,
        "roles": ("identity.role", Action.MANAGE),
    }
    serializer_class = UserOutputSerializer
    filterset_class = UserFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["username", "date_joined", "id"]

    def get_queryset(self):
        return (
            User.objects.restrict(self.request.user, Action.VIEW)
            .select_related("department", "manager", "successor")
            .prefetch_related("roles")
        )

    def _managed(self, pk) -> User:
        return policy.get_for(self.request.user, Action.MANAGE, User, _pk_or_404(pk))

    def _detail(self, user: User, status_code: int = 200) -> Response:
        user = self.get_queryset().get(pk=user.pk)
        return Response(UserDetailSerializer(user).data, status=status_code)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(UserOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(UserDetailSerializer(self.get_object()).data)

    @extend_schema(
        request=UserCreateSerializer,
        responses={201: UserDetailSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(UserCreateSerializer, request)
        if "timezone" in values:
            values["timezone_name"] = values.pop("timezone")
        user = services.user_create(actor=request.user, **values)
        return self._detail(user, status.HTTP_201_CREATED)

    @extend_schema(
        request=UserUpdateSerializer,
        responses={200: UserDetailSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        user = self._managed(pk)
        values = parse(UserUpdateSerializer, request, partial=True)
        services.user_update(actor=request.user, user=user, **values)
        return self._detail(user)

    @extend_schema(
        request=ReasonSerializer,
        responses={200: UserDetailSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Deactivate: ends every session and revokes every API token.",
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        user = self._managed(pk)
        values = parse(ReasonSerializer, request)
        services.user_deactivate(actor=request.user, user=user, reason=values.get("reason", ""))
        return self._detail(user)

    @extend_schema(
        request=None, responses={200: UserDetailSerializer, **error_responses(401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        user = self._managed(pk)
        services.user_reactivate(actor=request.user, user=user)
        return self._detail(user)

    @extend_schema(
        request=OffboardSerializer,
        responses={200: OffboardResultSerializer, **error_responses(400, 401, 403, 404, 415)},
        description=(
            "Offboard in one audited step: deactivate, end sessions, revoke tokens and hand "
            "every owned record to `successor`."
        ),
    )
    @action(detail=True, methods=["post"])
    def offboard(self, request, pk=None):
        user = self._managed(pk)
        values = parse(OffboardSerializer, request)
        moved = services.user_offboard(
            actor=request.user,
            user=user,
            successor=values["successor"],
            reason=values.get("reason", ""),
        )
        user = self.get_queryset().get(pk=user.pk)
        return Response({"moved": moved, "user": UserOutputSerializer(user).data})

    @extend_schema(
        request=None, responses={200: UserDetailSerializer, **error_responses(401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def unlock(self, request, pk=None):
        user = self._managed(pk)
        services.user_unlock(actor=request.user, user=user)
        return self._detail(user)

    @extend_schema(
        request=None,
        responses={200: SessionOutputSerializer(many=True), **error_responses(401, 403, 404)},
        description="The user's open browser sessions.",
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def sessions(self, request, pk=None):
        user = self._managed(pk)
        return Response(
            SessionOutputSerializer(
                services.sessions_of(user), many=True, context={"request": request}
            ).data
        )

    @extend_schema(
        request=None,
        responses={200: EndedSerializer, **error_responses(401, 403, 404)},
        description="End every open session of the user at once.",
    )
    @action(detail=True, methods=["post"], url_path="end-sessions")
    def end_sessions(self, request, pk=None):
        user = self._managed(pk)
        ended = services.sessions_end_all(
            actor=request.user, user=user, keep_session_key=request.session.session_key
        )
        return Response({"ended": ended})

    @extend_schema(
        request=UserRolesSerializer,
        responses={200: UserDetailSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Replace the user's roles with the given role codes.",
    )
    @action(detail=True, methods=["post", "put"])
    def roles(self, request, pk=None):
        user = policy.get_for(request.user, Action.VIEW, User, _pk_or_404(pk))
        values = parse(UserRolesSerializer, request)
        services.user_set_roles(actor=request.user, user=user, roles=values["roles"])
        return self._detail(user)
