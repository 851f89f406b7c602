"""`/api/v1/views/`: saved list views (filter, columns, sort), own and shared with a team."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.response import Response

from rapport.core import filterlang
from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound

from .. import services
from ..models import SavedView, Team
from .base import GenericViewSet, SignedIn, UserRefSerializer


class SavedViewOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    object_type = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    filter = serializers.JSONField(read_only=True, help_text="The filter-language tree.")
    filter_text = serializers.SerializerMethodField(help_text="The same filter as text.")
    columns = serializers.ListField(child=serializers.CharField(), read_only=True)
    ordering = serializers.CharField(read_only=True)
    params = serializers.JSONField(
        read_only=True,
        help_text='The list page\'s quick filters when saved, e.g. {"q": "银行", "tier": "A"}.',
    )
    team = serializers.IntegerField(source="team_id", read_only=True, allow_null=True)
    owner = UserRefSerializer(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(OpenApiTypes.STR)
    def get_filter_text(self, view: SavedView) -> str:
        return filterlang.to_text(view.filter) if view.filter else ""


class SavedViewUpdateSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True)
    filter = serializers.JSONField(
        required=False, help_text="Filter-language text or tree.", allow_null=True
    )
    columns = serializers.ListField(child=serializers.CharField(), required=False)
    ordering = serializers.CharField(required=False, allow_blank=True)
    params = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="Quick filters: {name: text or [texts]}, at most 20 names "
        "(the list page's own boxes: q, owner, status, tag, tier …).",
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )


class SavedViewCreateSerializer(SavedViewUpdateSerializer):
    object_type = serializers.CharField(help_text="e.g. customers.account")
    name = serializers.CharField(allow_blank=True)


_TYPE = OpenApiParameter("type", str, description="Only views of this list, e.g. customers.account")


@extend_schema_view(
    list=extend_schema(
        parameters=[_TYPE],
        responses={200: SavedViewOutputSerializer(many=True), **error_responses(401)},
    ),
)
class SavedViewViewSet(GenericViewSet):
    """Saved list views. Anyone signed in manages their own; a view shared with a team is
    read by its members. The services check the rest."""

    permission_classes = [SignedIn]
    serializer_class = SavedViewOutputSerializer
    pagination_class = None
    queryset = SavedView.objects.none()  # for the schema; reads go through get_queryset

    def get_queryset(self):
        types = (
            [self.request.query_params.get("type")]
            if self.request.query_params.get("type")
            else filterlang.filterable_types()
        )
        views = SavedView.objects.none()
        for object_type in types:
            views = views | services.saved_views_for(self.request.user, object_type)
        return views.order_by("object_type", "name", "id")

    def list(self, request):
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    def _own(self, pk) -> SavedView:
        view = self.get_queryset().filter(pk=pk).first()
        if view is None:
            raise NotFound()
        return view

    @extend_schema(
        request=SavedViewCreateSerializer,
        responses={201: SavedViewOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(SavedViewCreateSerializer, request)
        view = services.saved_view_create(actor=request.user, **values)
        return Response(self.get_serializer(view).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=SavedViewUpdateSerializer,
        responses={200: SavedViewOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        view = self._own(pk)
        values = parse(SavedViewUpdateSerializer, request, partial=True)
        services.saved_view_update(actor=request.user, view=view, **values)
        return Response(self.get_serializer(view).data)

    @extend_schema(request=None, responses={204: None, **error_responses(401, 403, 404)})
    def destroy(self, request, pk=None):
        services.saved_view_delete(actor=request.user, view=self._own(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
