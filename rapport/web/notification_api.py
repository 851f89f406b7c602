"""REST API of the caller's own notifications: list, read one, read all."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from rapport.core.api import CursorPagination, error_responses
from rapport.core.notifications import selectors, services
from rapport.core.notifications.models import Notification
from rapport.identity.api import GenericViewSet, SignedIn


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.CharField(
        read_only=True, help_text="What happened, e.g. task.reminder, task.assigned."
    )
    message = serializers.CharField(
        source="text", read_only=True, help_text="The message in the caller's language."
    )
    message_key = serializers.CharField(read_only=True)
    params = serializers.DictField(read_only=True, help_text="The message's parameters.")
    object_type = serializers.CharField(
        read_only=True, help_text="Type of the record it is about, e.g. customers.interaction."
    )
    object_id = serializers.CharField(read_only=True)
    url = serializers.CharField(read_only=True, help_text="The page to open (a path).")
    created_at = serializers.DateTimeField(read_only=True)
    read_at = serializers.DateTimeField(read_only=True, allow_null=True)
    is_read = serializers.BooleanField(read_only=True)


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(read_only=True, help_text="How many were marked read.")


class NotificationFilter(django_filters.rest_framework.FilterSet):
    unread = django_filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", label="Only unread (true) or only read."
    )

    class Meta:
        model = Notification
        fields = ["unread", "kind"]


class NotificationPagination(CursorPagination):
    ordering = ("-created_at", "-id")  # the inbox index


@extend_schema_view(
    list=extend_schema(
        tags=["me"], responses={200: NotificationOutputSerializer, **error_responses(400, 401)}
    ),
    retrieve=extend_schema(
        tags=["me"], responses={200: NotificationOutputSerializer, **error_responses(401, 404)}
    ),
)
class MyNotificationViewSet(GenericViewSet):
    """The caller's own notifications, newest first (someone else's are not found)."""

    permission_classes = [SignedIn]  # a user's own only: the queryset is theirs
    serializer_class = NotificationOutputSerializer
    pagination_class = NotificationPagination
    filterset_class = NotificationFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        return selectors.inbox(self.request.user)  # none() for schema generation

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        tags=["me"],
        request=None,
        responses={200: NotificationOutputSerializer, **error_responses(401, 404)},
    )
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = services.notification_mark_read(
            actor=request.user, notification=self.get_object()
        )
        return Response(self.get_serializer(notification).data)

    @extend_schema(
        tags=["me"], request=None, responses={200: MarkedSerializer, **error_responses(401)}
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        marked = services.notifications_mark_all_read(actor=request.user)
        return Response({"marked": marked})
