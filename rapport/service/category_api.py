"""REST API of ticket categories: read by everyone who works on tickets (to file tickets
under them), changed by those with `manage` on `service.ticketcategory` (validated and
audited by `rapport.service.services.categories`)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response

from rapport.core.api import CursorPagination, StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity.api import GenericViewSet, GrantPermission
from rapport.identity.models import Action

from .models import Ticket, TicketCategory
from .services import categories as category_services


class TicketCategoryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    parent = serializers.IntegerField(source="parent_id", read_only=True, allow_null=True)
    position = serializers.IntegerField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)


class TicketCategoryInputSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    parent = serializers.PrimaryKeyRelatedField(
        queryset=TicketCategory.objects.all(), required=False, allow_null=True
    )
    position = serializers.IntegerField(required=False)
    is_active = serializers.BooleanField(required=False)


class TicketCategoryCreateSerializer(TicketCategoryInputSerializer):
    name = serializers.CharField(allow_blank=True, max_length=200)


class TicketCategoryPagination(CursorPagination):
    ordering = ("position", "id")
    page_size = 200


@extend_schema_view(
    list=extend_schema(
        responses={200: TicketCategoryOutputSerializer, **error_responses(400, 401, 403)}
    ),
    retrieve=extend_schema(
        responses={200: TicketCategoryOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class TicketCategoryViewSet(GenericViewSet):
    """Ticket categories (a two-level tree)."""

    object_type = TicketCategory.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": (Ticket.security_type, Action.VIEW),
        "retrieve": (Ticket.security_type, Action.VIEW),
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
    }
    serializer_class = TicketCategoryOutputSerializer
    pagination_class = TicketCategoryPagination

    def get_queryset(self):
        return TicketCategory.objects.order_by("position", "id")

    def get_object(self) -> TicketCategory:
        try:
            return TicketCategory.objects.get(pk=int(self.kwargs["pk"]))
        except (TicketCategory.DoesNotExist, ValueError, TypeError):
            raise NotFound() from None

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TicketCategoryOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(TicketCategoryOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=TicketCategoryCreateSerializer,
        responses={201: TicketCategoryOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(TicketCategoryCreateSerializer, request)
        values.pop("is_active", None)
        created = category_services.category_create(actor=request.user, **values)
        return Response(
            TicketCategoryOutputSerializer(created).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=TicketCategoryInputSerializer,
        responses={200: TicketCategoryOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        values = parse(TicketCategoryInputSerializer, request, partial=True)
        updated = category_services.category_update(
            actor=request.user, category=self.get_object(), **values
        )
        return Response(TicketCategoryOutputSerializer(updated).data)
