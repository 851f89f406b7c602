"""REST API of record shares."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.errors import DomainError, NotFound

from .. import policy, services
from ..models import Action, RecordShare, Team, User
from .base import GenericViewSet, SignedIn, UserRefSerializer, _pk_or_404


class ShareOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    object_type = serializers.SerializerMethodField()
    object_id = serializers.IntegerField(read_only=True)
    user = UserRefSerializer(read_only=True, allow_null=True)
    team = serializers.IntegerField(source="team_id", read_only=True, allow_null=True)
    level = serializers.CharField(read_only=True)
    granted_by = UserRefSerializer(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    def get_object_type(self, share: RecordShare) -> str:
        return f"{share.content_type.app_label}.{share.content_type.model}"


class ShareCreateSerializer(StrictInputSerializer):
    object_type = serializers.CharField(help_text="e.g. customers.account")
    object_id = serializers.IntegerField()
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    level = serializers.CharField(required=False, help_text="view or change")


def _shareable_model(object_type: str):
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        model = None
    if model is None or not getattr(model, "shareable", False):
        raise DomainError(
            _("Records of type “%(type)s” cannot be shared.") % {"type": object_type},
            code="unknown_object_type",
            field="object_type",
        )
    return model


SHARE_FILTER_PARAMETERS = [
    OpenApiParameter("object_type", OpenApiTypes.STR, required=True),
    OpenApiParameter("object_id", OpenApiTypes.INT, required=True),
]


@extend_schema_view(
    list=extend_schema(
        parameters=SHARE_FILTER_PARAMETERS,
        responses={200: ShareOutputSerializer, **error_responses(400, 401, 404)},
        description="The shares of one record the caller can see.",
    )
)
class ShareViewSet(GenericViewSet):
    """Record shares. The grant checked is the record's own: change it to share or unshare."""

    permission_classes = [SignedIn]
    serializer_class = ShareOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        return RecordShare.objects.select_related("content_type", "user", "granted_by")

    def list(self, request):
        model = _shareable_model(request.query_params.get("object_type", ""))
        record = policy.get_for(
            request.user, Action.VIEW, model, _pk_or_404(request.query_params.get("object_id"))
        )
        shares = self.get_queryset().filter(
            content_type=ContentType.objects.get_for_model(model), object_id=record.pk
        )
        page = self.paginate_queryset(shares)
        return self.get_paginated_response(ShareOutputSerializer(page, many=True).data)

    @extend_schema(
        request=ShareCreateSerializer,
        responses={201: ShareOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def create(self, request):
        values = parse(ShareCreateSerializer, request)
        model = _shareable_model(values["object_type"])
        record = policy.get_for(request.user, Action.CHANGE, model, values["object_id"])
        extra: dict[str, Any] = {}
        if values.get("level"):
            extra["level"] = values["level"]
        share = services.record_share(
            actor=request.user,
            record=record,
            user=values.get("user"),
            team=values.get("team"),
            **extra,
        )
        return Response(
            ShareOutputSerializer(self.get_queryset().get(pk=share.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(responses={204: None, **error_responses(401, 403, 404)})
    def destroy(self, request, pk=None):
        share = self.get_queryset().filter(pk=_pk_or_404(pk)).first()
        if share is None:
            raise NotFound()
        model = share.content_type.model_class()
        if model is None:
            raise NotFound()
        policy.get_for(request.user, Action.CHANGE, model, share.object_id)
        services.record_unshare(actor=request.user, share=share)
        return Response(status=status.HTTP_204_NO_CONTENT)
