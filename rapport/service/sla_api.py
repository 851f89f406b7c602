"""REST API of SLA policies: read by everyone who works on tickets, changed by those with
`manage` on `service.slapolicy` (validated and audited by the services)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response

from rapport.core.api import CursorPagination, StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity.api import GenericViewSet, GrantPermission
from rapport.identity.models import Action

from .models import BusinessCalendar, SlaPolicy, Ticket
from .services import sla_policies as sla_services


class SlaPolicyOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    calendar = serializers.IntegerField(
        source="calendar_id", read_only=True, allow_null=True, help_text="null: the default."
    )
    priorities = serializers.ListField(child=serializers.CharField(), read_only=True)
    kinds = serializers.ListField(child=serializers.CharField(), read_only=True)
    tiers = serializers.ListField(child=serializers.CharField(), read_only=True)
    categories = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    first_response_minutes = serializers.IntegerField(read_only=True)
    resolution_minutes = serializers.IntegerField(read_only=True)
    warn_percent = serializers.IntegerField(read_only=True)


class SlaPolicyInputSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    position = serializers.IntegerField(required=False)
    is_active = serializers.BooleanField(required=False)
    calendar = serializers.PrimaryKeyRelatedField(
        queryset=BusinessCalendar.objects.all(), required=False, allow_null=True
    )
    priorities = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=20
    )
    kinds = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=20
    )
    tiers = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=50
    )
    categories = serializers.ListField(
        child=serializers.IntegerField(), required=False, max_length=200
    )
    first_response_minutes = serializers.IntegerField(required=False)
    resolution_minutes = serializers.IntegerField(required=False)
    warn_percent = serializers.IntegerField(required=False)


class SlaPolicyCreateSerializer(SlaPolicyInputSerializer):
    name = serializers.CharField(allow_blank=True, max_length=200)
    first_response_minutes = serializers.IntegerField()
    resolution_minutes = serializers.IntegerField()


class SlaPagination(CursorPagination):
    ordering = ("position", "id")
    page_size = 100


@extend_schema_view(
    list=extend_schema(
        responses={200: SlaPolicyOutputSerializer, **error_responses(400, 401, 403)}
    ),
    retrieve=extend_schema(
        responses={200: SlaPolicyOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class SlaPolicyViewSet(GenericViewSet):
    """Service-level policies, in the order they are tried."""

    object_type = SlaPolicy.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        # reading them is part of working on tickets
        "list": (Ticket.security_type, Action.VIEW),
        "retrieve": (Ticket.security_type, Action.VIEW),
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
    }
    serializer_class = SlaPolicyOutputSerializer
    pagination_class = SlaPagination

    def get_queryset(self):
        return SlaPolicy.objects.order_by("position", "id")

    def get_object(self) -> SlaPolicy:
        try:
            return SlaPolicy.objects.get(pk=int(self.kwargs["pk"]))
        except (SlaPolicy.DoesNotExist, ValueError, TypeError):
            raise NotFound() from None

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(SlaPolicyOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(SlaPolicyOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=SlaPolicyCreateSerializer,
        responses={201: SlaPolicyOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(SlaPolicyCreateSerializer, request)
        values.pop("is_active", None)
        created = sla_services.sla_policy_create(actor=request.user, **values)
        return Response(SlaPolicyOutputSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=SlaPolicyInputSerializer,
        responses={200: SlaPolicyOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        values = parse(SlaPolicyInputSerializer, request, partial=True)
        updated = sla_services.sla_policy_update(
            actor=request.user, sla_policy=self.get_object(), **values
        )
        return Response(SlaPolicyOutputSerializer(updated).data)
