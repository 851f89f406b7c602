"""`/api/v1/custom-fields/`: the custom fields of each record type (read by anyone signed in;
added, changed and retired by those who may manage them)."""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.customfields import services as field_services
from rapport.core.customfields.models import CustomField, FieldType
from rapport.core.errors import NotFound

from ..models import Action
from .base import GenericViewSet, GrantPermission


class ChoiceSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField(required=False, allow_blank=True)
    label_en = serializers.CharField(required=False, allow_blank=True)


class CustomFieldOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    object_type = serializers.CharField(read_only=True)
    key = serializers.CharField(read_only=True)
    filter_name = serializers.SerializerMethodField(help_text="Its name in ?filter=.")
    label = serializers.CharField(read_only=True)
    label_en = serializers.CharField(read_only=True)
    type = serializers.ChoiceField(choices=FieldType.choices, read_only=True)
    required = serializers.BooleanField(read_only=True)
    default = serializers.JSONField(read_only=True, allow_null=True)
    choices = ChoiceSerializer(many=True, read_only=True)
    validation = serializers.DictField(read_only=True)
    help_text = serializers.CharField(read_only=True)
    help_text_en = serializers.CharField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    indexed = serializers.BooleanField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)

    @extend_schema_field(OpenApiTypes.STR)
    def get_filter_name(self, field: CustomField) -> str:
        return f"cf.{field.key}"


class CustomFieldUpdateSerializer(StrictInputSerializer):
    label = serializers.CharField(required=False, allow_blank=True)
    label_en = serializers.CharField(required=False, allow_blank=True)
    required = serializers.BooleanField(required=False)
    default = serializers.JSONField(required=False, allow_null=True)
    choices = ChoiceSerializer(many=True, required=False)
    validation = serializers.DictField(required=False)
    help_text = serializers.CharField(required=False, allow_blank=True)
    help_text_en = serializers.CharField(required=False, allow_blank=True)
    position = serializers.IntegerField(required=False, min_value=0)
    indexed = serializers.BooleanField(required=False)


class CustomFieldCreateSerializer(CustomFieldUpdateSerializer):
    object_type = serializers.CharField(help_text="e.g. customers.account")
    key = serializers.CharField()
    type = serializers.ChoiceField(choices=FieldType.choices)
    label = serializers.CharField(allow_blank=True)


class CustomFieldFilter(django_filters.FilterSet):
    class Meta:
        model = CustomField
        fields = ["object_type", "is_active"]


@extend_schema_view(
    list=extend_schema(responses={200: CustomFieldOutputSerializer, **error_responses(400, 401)}),
    retrieve=extend_schema(
        responses={200: CustomFieldOutputSerializer, **error_responses(401, 404)}
    ),
)
class CustomFieldViewSet(GenericViewSet):
    """Custom-field definitions."""

    object_type = CustomField.security_type
    permission_classes = [GrantPermission]
    # Reading the definitions needs only being signed in (forms and imports use them).
    grant_actions = {
        "list": None,
        "retrieve": None,
        "retire": Action.MANAGE,
        "reactivate": Action.MANAGE,
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
    }
    serializer_class = CustomFieldOutputSerializer
    filterset_class = CustomFieldFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    queryset = CustomField.objects.order_by("object_type", "position", "id")

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(self.get_serializer(self._get(pk)).data)

    def _get(self, pk) -> CustomField:
        field = CustomField.objects.filter(pk=pk).first()
        if field is None:
            raise NotFound()
        return field

    @extend_schema(
        request=CustomFieldCreateSerializer,
        responses={201: CustomFieldOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(CustomFieldCreateSerializer, request)
        field = field_services.custom_field_create(actor=request.user, **values)
        return Response(self.get_serializer(field).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=CustomFieldUpdateSerializer,
        responses={200: CustomFieldOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        field = self._get(pk)
        values = parse(CustomFieldUpdateSerializer, request, partial=True)
        field_services.custom_field_update(actor=request.user, field=field, **values)
        return Response(self.get_serializer(field).data)

    @extend_schema(
        request=None, responses={200: CustomFieldOutputSerializer, **error_responses(401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def retire(self, request, pk=None):
        field = field_services.custom_field_set_active(
            actor=request.user, field=self._get(pk), active=False
        )
        return Response(self.get_serializer(field).data)

    @extend_schema(
        request=None, responses={200: CustomFieldOutputSerializer, **error_responses(401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        field = field_services.custom_field_set_active(
            actor=request.user, field=self._get(pk), active=True
        )
        return Response(self.get_serializer(field).data)
