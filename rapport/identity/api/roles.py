"""REST API of roles, grants and field rules."""

from __future__ import annotations

import django_filters
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse

from .. import policy, services
from ..models import Action, FieldRule, Grant, Role
from .base import GenericViewSet, GrantPermission, _search_filter


class GrantOutputSerializer(serializers.Serializer):
    object_type = serializers.CharField(read_only=True)
    action = serializers.CharField(read_only=True)
    scope = serializers.CharField(read_only=True)
    conditions = serializers.DictField(read_only=True)


class FieldRuleOutputSerializer(serializers.Serializer):
    object_type = serializers.CharField(read_only=True)
    field = serializers.CharField(read_only=True)
    rule = serializers.CharField(read_only=True)


class RuleFieldOutputSerializer(serializers.Serializer):
    object_type = serializers.CharField(read_only=True)
    field = serializers.CharField(
        read_only=True, help_text="The name a field rule uses: a standard field, or cf.<key>."
    )
    label = serializers.CharField(read_only=True, help_text="In the response's language.")
    label_zh = serializers.CharField(read_only=True)
    label_en = serializers.CharField(read_only=True)
    custom = serializers.BooleanField(read_only=True, help_text="A custom field.")


class RoleOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(source="__str__", read_only=True)
    description = serializers.CharField(read_only=True)
    is_builtin = serializers.BooleanField(read_only=True)
    require_mfa = serializers.BooleanField(read_only=True)
    grants = GrantOutputSerializer(many=True, read_only=True)
    field_rules = FieldRuleOutputSerializer(many=True, read_only=True)


class RoleCreateSerializer(StrictInputSerializer):
    code = serializers.CharField(allow_blank=True)
    name = serializers.CharField(allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    require_mfa = serializers.BooleanField(required=False)


class RoleUpdateSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    require_mfa = serializers.BooleanField(required=False)


class GrantInputSerializer(StrictInputSerializer):
    object_type = serializers.CharField(help_text="e.g. customers.account")
    action = serializers.CharField(help_text="view, add, change, delete, export, import, …")
    scope = serializers.CharField(
        allow_null=True, help_text="own, team, department, all; null removes the grant."
    )
    conditions = serializers.DictField(
        required=False, allow_empty=True, help_text='e.g. {"province": ["广东省"]}'
    )

    def validate_conditions(self, conditions: dict) -> dict:
        # Free-form JSON, so no CharField refuses U+0000 here: PostgreSQL's jsonb cannot store
        # it, and the grant's write failed with a DataError (a 500).
        if _has_null_character(conditions):
            validator = ProhibitNullCharactersValidator()
            raise serializers.ValidationError(validator.message, code=validator.code)
        return conditions


def _has_null_character(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_null_character(k) or _has_null_character(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_null_character(item) for item in value)
    return False


class FieldRuleInputSerializer(StrictInputSerializer):
    object_type = serializers.CharField()
    field = serializers.CharField()
    rule = serializers.CharField(
        allow_null=True, help_text="readonly, masked, hidden; null removes the rule."
    )


class RoleFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method=_search_filter(("code", "name")), label=gettext_lazy("Search")
    )

    class Meta:
        model = Role
        fields = ["is_builtin", "require_mfa"]


@extend_schema_view(
    list=extend_schema(responses={200: RoleOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(responses={200: RoleOutputSerializer, **error_responses(401, 403, 404)}),
)
class RoleViewSet(GenericViewSet):
    object_type = "identity.role"
    permission_classes = [GrantPermission]
    grant_actions = {
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
        "grants": Action.MANAGE,
        "field_rules": Action.MANAGE,
        "rule_fields": Action.VIEW,
    }
    serializer_class = RoleOutputSerializer
    filterset_class = RoleFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["code", "name", "id"]

    def get_queryset(self):
        return Role.objects.prefetch_related(
            Prefetch("grants", queryset=Grant.objects.order_by("object_type", "action")),
            Prefetch("field_rules", queryset=FieldRule.objects.order_by("object_type", "field")),
        )

    def _render(self, role: Role, status_code: int = 200) -> Response:
        return Response(
            RoleOutputSerializer(self.get_queryset().get(pk=role.pk)).data, status=status_code
        )

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(RoleOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(RoleOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=RoleCreateSerializer,
        responses={201: RoleOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(RoleCreateSerializer, request)
        role = services.role_create(actor=request.user, **values)
        return self._render(role, status.HTTP_201_CREATED)

    @extend_schema(
        request=RoleUpdateSerializer,
        responses={200: RoleOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        role = self.get_object()
        values = parse(RoleUpdateSerializer, request, partial=True)
        services.role_update(actor=request.user, role=role, **values)
        return self._render(role)

    @extend_schema(
        request=GrantInputSerializer,
        responses={200: RoleOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description=(
            "Set the role's grant for one object type and action (scope null removes it). "
            "An action the object type does not have is refused with code `unknown_action`."
        ),
    )
    @action(detail=True, methods=["post", "put"])
    def grants(self, request, pk=None):
        role = self.get_object()
        values = parse(GrantInputSerializer, request)
        services.grant_set(
            actor=request.user,
            role=role,
            object_type=values["object_type"],
            action=values["action"],
            scope=values["scope"],
            conditions=values.get("conditions") or None,
        )
        return self._render(role)

    @extend_schema(
        request=FieldRuleInputSerializer,
        responses={200: RoleOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Set (or with rule null remove) a field rule of the role.",
    )
    @action(detail=True, methods=["post", "put"], url_path="field-rules")
    def field_rules(self, request, pk=None):
        role = self.get_object()
        values = parse(FieldRuleInputSerializer, request)
        services.field_rule_set(actor=request.user, role=role, **values)
        return self._render(role)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "object_type", str, required=False, description="Only this object type."
            )
        ],
        responses={200: RuleFieldOutputSerializer(many=True), **error_responses(401, 403)},
        description=(
            "The fields a field rule can name, per object type: the standard fields, then "
            "the active custom fields as cf.<key> (with both labels)."
        ),
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="rule-fields",
        filter_backends=[],
        pagination_class=None,
    )
    def rule_fields(self, request):
        wanted = request.query_params.get("object_type")
        fields = [
            {"object_type": object_type, **field}
            for object_type in policy.registry()
            if not wanted or object_type == wanted
            for field in policy.rule_fields(object_type)
        ]
        return Response(RuleFieldOutputSerializer(fields, many=True).data)
