"""REST API of the configured tiers and lifecycle stages: everyone signed in reads them (to
fill forms and filters); changing them needs `manage` on `customers.accountoption`."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from rapport.core.api import CursorPagination, StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity.api import GenericViewSet, GrantPermission
from rapport.identity.models import Action

from .models import AccountOption, OptionColour, OptionField
from .services import options as option_services


class OptionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    field = serializers.ChoiceField(choices=OptionField.choices, read_only=True)
    code = serializers.CharField(
        read_only=True, help_text="What accounts store and filters name; never changes."
    )
    label = serializers.CharField(read_only=True)
    label_en = serializers.CharField(read_only=True)
    display_label = serializers.CharField(
        read_only=True, help_text="The label in the request's language."
    )
    colour = serializers.ChoiceField(choices=OptionColour.choices, read_only=True)
    position = serializers.IntegerField(read_only=True)
    is_default = serializers.BooleanField(
        read_only=True, help_text="New accounts get this option when none is given."
    )
    is_active = serializers.BooleanField(
        read_only=True, help_text="Retired options are no longer offered; accounts keep them."
    )


class OptionCreateSerializer(StrictInputSerializer):
    field = serializers.CharField(max_length=40, help_text="tier or lifecycle_stage.")
    code = serializers.CharField(allow_blank=True, max_length=60)
    label = serializers.CharField(allow_blank=True, max_length=200)
    label_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    colour = serializers.CharField(
        required=False, max_length=50, help_text="One of: " + ", ".join(OptionColour.values) + "."
    )
    position = serializers.IntegerField(required=False)
    is_default = serializers.BooleanField(required=False)


class OptionUpdateSerializer(StrictInputSerializer):
    label = serializers.CharField(required=False, allow_blank=True, max_length=200)
    label_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    colour = serializers.CharField(required=False, max_length=50)
    position = serializers.IntegerField(required=False)
    is_default = serializers.BooleanField(
        required=False, help_text="true makes this the default (the previous one stops being it)."
    )


class OptionMoveSerializer(StrictInputSerializer):
    direction = serializers.ChoiceField(choices=[("up", "up"), ("down", "down")])


class OptionPagination(CursorPagination):
    # In the configured order; a field has a few dozen options at most.
    ordering = ("field", "position", "id")
    page_size = 200


class OptionFilter(django_filters.FilterSet):
    class Meta:
        model = AccountOption
        fields = ["field", "is_active"]


@extend_schema_view(
    list=extend_schema(responses={200: OptionOutputSerializer, **error_responses(400, 401)}),
    retrieve=extend_schema(responses={200: OptionOutputSerializer, **error_responses(401, 404)}),
)
class AccountOptionViewSet(GenericViewSet):
    """Tiers and lifecycle stages, in their configured order."""

    object_type = AccountOption.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": None,
        "retrieve": None,
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
        "move": Action.MANAGE,
        "deactivate": Action.MANAGE,
        "reactivate": Action.MANAGE,
    }
    serializer_class = OptionOutputSerializer
    filterset_class = OptionFilter
    pagination_class = OptionPagination
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        return AccountOption.objects.order_by("field", "position", "id")

    def get_object(self) -> AccountOption:
        # Options have no owner or scope: the type-wide grant is the whole rule.
        try:
            return AccountOption.objects.get(pk=int(self.kwargs["pk"]))
        except (AccountOption.DoesNotExist, ValueError, TypeError):
            raise NotFound() from None

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(OptionOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(OptionOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=OptionCreateSerializer,
        responses={201: OptionOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(OptionCreateSerializer, request)
        option = option_services.option_create(actor=request.user, **values)
        return Response(OptionOutputSerializer(option).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=OptionUpdateSerializer,
        responses={200: OptionOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Relabel, recolour, reorder or make the default. The code never changes.",
    )
    def partial_update(self, request, pk=None):
        option = self.get_object()
        values = parse(OptionUpdateSerializer, request, partial=True)
        option = option_services.option_update(actor=request.user, option=option, **values)
        return Response(OptionOutputSerializer(option).data)

    @extend_schema(
        request=OptionMoveSerializer,
        responses={200: OptionOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Move the option one place up or down among its field's options.",
    )
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        option = self.get_object()
        values = parse(OptionMoveSerializer, request)
        option = option_services.option_move(
            actor=request.user, option=option, offset=-1 if values["direction"] == "up" else 1
        )
        return Response(OptionOutputSerializer(option).data)

    @extend_schema(
        request=None,
        responses={200: OptionOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Retire the option (no longer offered; accounts keep it). The default "
        "and a field's last active option cannot be retired (400).",
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        option = option_services.option_deactivate(actor=request.user, option=self.get_object())
        return Response(OptionOutputSerializer(option).data)

    @extend_schema(
        request=None, responses={200: OptionOutputSerializer, **error_responses(401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        option = option_services.option_reactivate(actor=request.user, option=self.get_object())
        return Response(OptionOutputSerializer(option).data)
