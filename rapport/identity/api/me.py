"""REST API of the signed-in user: own profile and own API tokens."""

from __future__ import annotations

from django.utils import translation
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse

from .. import services
from ..models import ApiToken, User
from .base import APIView, GenericViewSet, SignedIn, TimeZoneField, _pk_or_404
from .users import SessionOutputSerializer, UserDetailSerializer


class MeUpdateSerializer(StrictInputSerializer):
    display_name = serializers.CharField(required=False, allow_blank=True)
    language = serializers.CharField(required=False)
    timezone = TimeZoneField(required=False)
    phone = serializers.CharField(required=False, allow_blank=True)


class MeView(APIView):
    """The signed-in user's own profile: language, time zone, name, phone."""

    permission_classes = [SignedIn]

    def _render(self, request) -> Response:
        user = (
            User.objects.select_related("department", "manager", "successor")
            .prefetch_related("roles")
            .get(pk=request.user.pk)
        )
        return Response(UserDetailSerializer(user).data)

    @extend_schema(tags=["me"], responses={200: UserDetailSerializer, **error_responses(401)})
    def get(self, request):
        return self._render(request)

    @extend_schema(
        tags=["me"],
        request=MeUpdateSerializer,
        responses={200: UserDetailSerializer, **error_responses(400, 401, 415)},
    )
    def patch(self, request):
        values = parse(MeUpdateSerializer, request, partial=True)
        services.user_update(actor=request.user, user=request.user, **values)
        if "language" in values:  # answer in the language just chosen
            translation.activate(request.user.language)
        return self._render(request)


class ApiTokenOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    prefix = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)
    last_used_at = serializers.DateTimeField(read_only=True, allow_null=True)
    revoked_at = serializers.DateTimeField(read_only=True, allow_null=True)
    is_usable = serializers.BooleanField(read_only=True)


class ApiTokenCreatedSerializer(ApiTokenOutputSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret; shown only this once.")


class ApiTokenCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(allow_blank=True)
    days = serializers.IntegerField(required=False)


@extend_schema_view(
    list=extend_schema(
        tags=["me"], responses={200: ApiTokenOutputSerializer, **error_responses(400, 401)}
    )
)
class MyTokenViewSet(GenericViewSet):
    """The signed-in user's own API tokens."""

    permission_classes = [SignedIn]
    serializer_class = ApiTokenOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        if not self.request.user.is_authenticated:  # schema generation
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ApiTokenOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=["me"],
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenCreatedSerializer, **error_responses(400, 401, 415)},
    )
    def create(self, request):
        values = parse(ApiTokenCreateSerializer, request)
        token, secret = services.token_create(
            actor=request.user, name=values["name"], days=values.get("days")
        )
        data = dict(ApiTokenOutputSerializer(token).data)
        data["token"] = secret
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(tags=["me"], responses={204: None, **error_responses(401, 404)})
    def destroy(self, request, pk=None):
        token = self.get_object()
        services.token_revoke(actor=request.user, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        tags=["me"], responses={200: SessionOutputSerializer(many=True), **error_responses(401)}
    ),
    destroy=extend_schema(tags=["me"], responses={204: None, **error_responses(401, 404)}),
)
class MySessionViewSet(GenericViewSet):
    """The signed-in user's own browser sessions: see where you are signed in, end one."""

    permission_classes = [SignedIn]
    serializer_class = SessionOutputSerializer
    filter_backends: list = []
    pagination_class = None

    def list(self, request):
        sessions = services.sessions_of(request.user)
        return Response(
            SessionOutputSerializer(sessions, many=True, context={"request": request}).data
        )

    def destroy(self, request, pk=None):
        services.session_end(actor=request.user, user=request.user, session_id=_pk_or_404(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
