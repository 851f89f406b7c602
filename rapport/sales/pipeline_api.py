"""REST API of pipelines (with their stages) and lost reasons: read by everyone who works on
opportunities, changed by those with `manage` on `sales.pipeline` through the audited
services (`rapport.sales.services.pipeline`)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from rapport.core.api import CursorPagination, StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity.api import GenericViewSet, GrantPermission
from rapport.identity.models import Action

from .models import LostReason, Opportunity, Pipeline, Stage
from .services import pipeline as pipeline_services

READ = (Opportunity.security_type, Action.VIEW)


class StageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    probability = serializers.IntegerField(read_only=True)
    is_won = serializers.BooleanField(read_only=True)
    is_lost = serializers.BooleanField(read_only=True)
    required_fields = serializers.ListField(child=serializers.CharField(), read_only=True)
    stale_after_days = serializers.IntegerField(read_only=True, allow_null=True)
    is_active = serializers.BooleanField(read_only=True)


class PipelineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    is_default = serializers.BooleanField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    stages = StageOutputSerializer(many=True, read_only=True)


class PipelineInputSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    position = serializers.IntegerField(required=False, min_value=0)
    is_default = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class PipelineCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(allow_blank=True, max_length=1000)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    is_default = serializers.BooleanField(required=False)


class StageInputSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    probability = serializers.IntegerField(required=False)
    is_won = serializers.BooleanField(required=False)
    is_lost = serializers.BooleanField(required=False)
    required_fields = serializers.ListField(
        child=serializers.CharField(max_length=60),
        required=False,
        max_length=20,
        help_text=", ".join(pipeline_services.REQUIRABLE),
    )
    stale_after_days = serializers.IntegerField(required=False, allow_null=True)
    is_active = serializers.BooleanField(required=False)


class StageCreateSerializer(StageInputSerializer):
    name = serializers.CharField(allow_blank=True, max_length=1000)


class StageOrderSerializer(StrictInputSerializer):
    stages = serializers.ListField(child=serializers.IntegerField(), max_length=100)


class LostReasonOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)


class LostReasonInputSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    position = serializers.IntegerField(required=False, min_value=0)
    is_active = serializers.BooleanField(required=False)


class LostReasonCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(allow_blank=True, max_length=1000)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class OrderedPagination(CursorPagination):
    ordering = ("position", "id")
    page_size = 100


@extend_schema_view(
    list=extend_schema(
        responses={200: PipelineOutputSerializer, **error_responses(400, 401, 403)},
        description="Pipelines with their stages in order (the default first).",
    ),
    retrieve=extend_schema(
        responses={200: PipelineOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class PipelineViewSet(GenericViewSet):
    """Sales pipelines and their stages."""

    object_type = Pipeline.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": READ,
        "retrieve": READ,
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
        "stage_create": Action.MANAGE,
        "stage_update": Action.MANAGE,
        "stage_delete": Action.MANAGE,
        "stage_order": Action.MANAGE,
    }
    serializer_class = PipelineOutputSerializer
    pagination_class = OrderedPagination

    def get_queryset(self):
        return Pipeline.objects.prefetch_related("stages").order_by("position", "id")

    def get_object(self) -> Pipeline:
        try:
            return self.get_queryset().get(pk=int(self.kwargs["pk"]))
        except (Pipeline.DoesNotExist, ValueError, TypeError):
            raise NotFound() from None

    def stage_of(self, pipeline: Pipeline, stage_id) -> Stage:
        stage = Stage.objects.filter(pipeline=pipeline, pk=stage_id).first()
        if stage is None:
            raise NotFound()
        return stage

    def rendered(self, pipeline: Pipeline, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=pipeline.pk)
        return Response(PipelineOutputSerializer(fresh).data, status=status_code)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(PipelineOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(PipelineOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=PipelineCreateSerializer,
        responses={201: PipelineOutputSerializer, **error_responses(400, 401, 403, 415)},
        description="A new pipeline with the usual six stages (rename or change them after).",
    )
    def create(self, request):
        values = parse(PipelineCreateSerializer, request)
        created = pipeline_services.pipeline_create(actor=request.user, **values)
        return self.rendered(created, status.HTTP_201_CREATED)

    @extend_schema(
        request=PipelineInputSerializer,
        responses={200: PipelineOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        values = parse(PipelineInputSerializer, request, partial=True)
        updated = pipeline_services.pipeline_update(
            actor=request.user, pipeline=self.get_object(), **values
        )
        return self.rendered(updated)

    @extend_schema(
        request=StageCreateSerializer,
        responses={201: StageOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Add a stage (an open one goes before the won and lost stages).",
    )
    @action(detail=True, methods=["post"], url_path="stages")
    def stage_create(self, request, pk=None):
        values = parse(StageCreateSerializer, request)
        values.pop("is_active", None)
        stage = pipeline_services.stage_create(
            actor=request.user, pipeline=self.get_object(), **values
        )
        return Response(StageOutputSerializer(stage).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=StageInputSerializer,
        responses={200: StageOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    @action(detail=True, methods=["patch"], url_path="stages/<int:stage_id>")
    def stage_update(self, request, pk=None, stage_id=None):
        stage = self.stage_of(self.get_object(), stage_id)
        values = parse(StageInputSerializer, request, partial=True)
        updated = pipeline_services.stage_update(actor=request.user, stage=stage, **values)
        return Response(StageOutputSerializer(updated).data)

    @extend_schema(
        request=None,
        responses={204: None, **error_responses(400, 401, 403, 404)},
        description="Delete a stage no opportunity was ever in (deactivate it otherwise).",
    )
    @stage_update.mapping.delete
    def stage_delete(self, request, pk=None, stage_id=None):
        stage = self.stage_of(self.get_object(), stage_id)
        pipeline_services.stage_delete(actor=request.user, stage=stage)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=StageOrderSerializer,
        responses={200: PipelineOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Put the stages in this order (every stage id of the pipeline once).",
    )
    @action(detail=True, methods=["post"], url_path="stage-order")
    def stage_order(self, request, pk=None):
        pipeline = self.get_object()
        values = parse(StageOrderSerializer, request)
        stages = {s.pk: s for s in pipeline.stages.all()}
        pipeline_services.stages_reorder(
            actor=request.user,
            pipeline=pipeline,
            stages=[stages.get(pk) or Stage(pk=pk) for pk in values["stages"]],
        )
        return self.rendered(pipeline)


@extend_schema_view(
    list=extend_schema(
        responses={200: LostReasonOutputSerializer, **error_responses(400, 401, 403)}
    ),
    retrieve=extend_schema(
        responses={200: LostReasonOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class LostReasonViewSet(GenericViewSet):
    """Why opportunities are lost."""

    object_type = LostReason.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": READ,
        "retrieve": READ,
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
    }
    serializer_class = LostReasonOutputSerializer
    pagination_class = OrderedPagination

    def get_queryset(self):
        return LostReason.objects.order_by("position", "id")

    def get_object(self) -> LostReason:
        try:
            return LostReason.objects.get(pk=int(self.kwargs["pk"]))
        except (LostReason.DoesNotExist, ValueError, TypeError):
            raise NotFound() from None

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(LostReasonOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(LostReasonOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=LostReasonCreateSerializer,
        responses={201: LostReasonOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(LostReasonCreateSerializer, request)
        created = pipeline_services.lost_reason_create(actor=request.user, **values)
        return Response(LostReasonOutputSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=LostReasonInputSerializer,
        responses={200: LostReasonOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        values = parse(LostReasonInputSerializer, request, partial=True)
        updated = pipeline_services.lost_reason_update(
            actor=request.user, lost_reason=self.get_object(), **values
        )
        return Response(LostReasonOutputSerializer(updated).data)
