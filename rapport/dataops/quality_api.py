"""Data-quality API: scores of the records the caller may see (list and summary), the rules
(read; change with the manage grant) and starting a computation."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity import policy
from rapport.identity.api.base import (
    APIView,
    DepartmentRefSerializer,
    GenericViewSet,
    IdFilter,
    SignedIn,
    UserRefSerializer,
)
from rapport.identity.models import Action

from . import quality
from .models import QualityRule, QualityScore

TYPES = sorted(quality.MODELS)


class QualityManagers(SignedIn):
    """Signed in to read; changing the rules or starting a computation also needs the manage
    grant on data quality. Which scores a caller reads follows the records they may see."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method in SAFE_METHODS:
            return True
        return policy.has_grant(request.user, quality.QUALITY, Action.MANAGE)


# --- scores -------------------------------------------------------------------------------


class QualityReasonSerializer(serializers.Serializer):
    component = serializers.ChoiceField(choices=quality.COMPONENTS)
    code = serializers.CharField(
        help_text="missing, stale, duplicate, or a validity code such as phone_invalid."
    )
    text = serializers.CharField(help_text="The reason in the request language.")
    field = serializers.CharField(required=False, help_text="The field, for missing or invalid.")
    index = serializers.IntegerField(required=False, help_text="Which of several values.")
    weight = serializers.IntegerField(required=False)
    days = serializers.IntegerField(required=False)
    limit = serializers.IntegerField(required=False)
    other = serializers.IntegerField(required=False, help_text="The possible duplicate's id.")
    score = serializers.IntegerField(required=False)


class QualityRecordRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()


class QualityScoreSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField(source="object_type")
    record = serializers.SerializerMethodField()
    total = serializers.IntegerField(help_text="0–100, the weighted total of the components.")
    completeness = serializers.IntegerField()
    validity = serializers.IntegerField()
    freshness = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    reasons = serializers.SerializerMethodField()
    owner = UserRefSerializer(allow_null=True)
    department = DepartmentRefSerializer(allow_null=True)
    computed_at = serializers.DateTimeField(
        help_text="When this score was computed (nightly, or on demand); later changes to "
        "the record count from the next computation."
    )

    @extend_schema_field(QualityRecordRefSerializer)
    def get_record(self, score) -> dict:
        record = getattr(score, "record", None)
        return {"id": score.record_id, "title": str(record) if record is not None else ""}

    @extend_schema_field(QualityReasonSerializer(many=True))
    def get_reasons(self, score) -> list[dict]:
        texts = getattr(score, "reason_texts", [])
        return [
            {**reason, "text": text} for reason, text in zip(score.reasons, texts, strict=False)
        ]


class QualityScoreFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(
        field_name="object_type", choices=[(t, t) for t in TYPES], help_text="Record type."
    )
    record = IdFilter(field_name="record_id", help_text="One record's score (with type).")
    owner = IdFilter(field_name="owner_id")
    department = IdFilter(
        method="in_department", help_text="A department and the departments below it."
    )
    max_total = django_filters.NumberFilter(field_name="total", lookup_expr="lte")
    min_total = django_filters.NumberFilter(field_name="total", lookup_expr="gte")
    q = django_filters.CharFilter(method="search", help_text="Part of the record's name.")

    class Meta:
        model = QualityScore
        fields: list[str] = []

    def in_department(self, queryset, name, value):
        return quality.narrowed(queryset, department=value)

    def search(self, queryset, name, value):
        value = (value or "").strip()
        if not value:
            return queryset
        user = self.request.user
        condition = Q(pk__in=[])
        for code, model in quality.MODELS.items():
            named = model.objects.restrict(user, Action.VIEW).filter(name__icontains=value)
            condition |= Q(object_type=code, record_id__in=named.values("pk"))
        return queryset.filter(condition)


class ScoreViewSet(GenericViewSet):
    """Data-quality scores of the active accounts and contacts the caller may see, weakest
    first by default, each with its components and reasons."""

    permission_classes = [QualityManagers]
    serializer_class = QualityScoreSerializer
    filterset_class = QualityScoreFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["total", "computed_at", "record_id"]
    ordering = ["total", "record_id"]

    def get_queryset(self):
        if not self.request.user.is_authenticated:
            return QualityScore.objects.none()
        return quality.visible_scores(self.request.user).select_related("owner", "department")

    @extend_schema(responses={200: QualityScoreSerializer(many=True), **error_responses(400, 401)})
    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        scores = quality.with_records(request.user, list(page))
        return self.get_paginated_response(QualityScoreSerializer(scores, many=True).data)


class QualitySummaryQuerySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=TYPES, default=quality.ACCOUNT)
    owner = serializers.IntegerField(required=False, min_value=0, max_value=2**63 - 1)
    department = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=2**63 - 1,
        help_text="A department and the departments below it.",
    )


class QualityComponentSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    average = serializers.IntegerField(allow_null=True)


class QualityBandSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    low = serializers.IntegerField()
    high = serializers.IntegerField()
    count = serializers.IntegerField()
    percent = serializers.IntegerField()


class QualityGroupSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    count = serializers.IntegerField()
    average = serializers.IntegerField(allow_null=True)
    poor = serializers.IntegerField(help_text="Records scoring below 50.")


class QualitySummarySerializer(serializers.Serializer):
    type = serializers.CharField()
    count = serializers.IntegerField()
    average = serializers.IntegerField(allow_null=True)
    computed_at = serializers.DateTimeField(allow_null=True)
    components = QualityComponentSerializer(many=True)
    bands = QualityBandSerializer(many=True)
    by_owner = QualityGroupSerializer(many=True, help_text="The weakest 50 owners.")
    by_department = QualityGroupSerializer(many=True, help_text="The weakest 50 departments.")


class SummaryView(APIView):
    """Average, components, distribution and the weakest owners and departments, over the
    records of the type the caller may see (optionally one owner's or department's)."""

    permission_classes = [QualityManagers]

    @extend_schema(
        operation_id="quality_summary",
        parameters=[QualitySummaryQuerySerializer],
        responses={200: QualitySummarySerializer, **error_responses(400, 401)},
    )
    def get(self, request):
        params = QualitySummaryQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        object_type = params.validated_data["type"]
        scores = quality.visible_scores(request.user, object_type)
        focused = quality.narrowed(
            scores,
            owner=params.validated_data.get("owner"),
            department=params.validated_data.get("department"),
        )
        body = {
            "type": object_type,
            **quality.summary(focused),
            "by_owner": quality.by_group(focused, "owner"),
            "by_department": quality.by_group(focused, "department"),
        }
        return Response(QualitySummarySerializer(body).data)


# --- rules --------------------------------------------------------------------------------


class QualityFieldChoiceSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()


class QualityRuleSerializer(serializers.Serializer):
    type = serializers.CharField(source="object_type")
    fields = serializers.DictField(
        child=serializers.IntegerField(), help_text="{field: weight} counted for completeness."
    )
    freshness_days = serializers.IntegerField()
    weights = serializers.DictField(
        child=serializers.IntegerField(), help_text="{component: weight} in the total."
    )
    available_fields = serializers.SerializerMethodField()
    is_default = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(QualityFieldChoiceSerializer(many=True))
    def get_available_fields(self, rule) -> list[dict]:
        return [
            {"name": name, "label": label}
            for name, label in quality.field_labels(rule.object_type).items()
        ]

    def get_is_default(self, rule) -> bool:
        return rule.pk is None


class QualityRuleUpdateSerializer(StrictInputSerializer):
    fields = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=quality.FIELD_WEIGHT_MAX),
        required=False,
        help_text="The whole set of {field: weight}; fields left out count no more. "
        '"custom.<key>" names a custom field.',
    )
    freshness_days = serializers.IntegerField(
        required=False, min_value=1, max_value=quality.FRESHNESS_MAX_DAYS
    )
    weights = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=quality.COMPONENT_WEIGHT_MAX),
        required=False,
        help_text="{component: weight}; components left out keep their weight.",
    )


def _rule(object_type: str) -> QualityRule:
    if object_type not in quality.MODELS:
        raise NotFound()
    return quality.rule_for(object_type)


class RuleListView(APIView):
    """How each record type is scored (the defaults until an administrator changes them)."""

    permission_classes = [QualityManagers]

    @extend_schema(
        operation_id="quality_rules_list",
        responses={200: QualityRuleSerializer(many=True), **error_responses(401)},
    )
    def get(self, request):
        return Response(QualityRuleSerializer(list(quality.rules_all().values()), many=True).data)


class RuleDetailView(APIView):
    """One record type's rule; changing it needs the manage grant on data quality and is
    audited. Scores follow from the next computation."""

    permission_classes = [QualityManagers]

    @extend_schema(
        operation_id="quality_rules_retrieve",
        responses={200: QualityRuleSerializer, **error_responses(401, 404)},
    )
    def get(self, request, object_type: str):
        return Response(QualityRuleSerializer(_rule(object_type)).data)

    @extend_schema(
        operation_id="quality_rules_update",
        request=QualityRuleUpdateSerializer,
        responses={200: QualityRuleSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def patch(self, request, object_type: str):
        _rule(object_type)
        values = parse(QualityRuleUpdateSerializer, request, partial=True)
        rule = quality.rule_update(actor=request.user, object_type=object_type, **values)
        return Response(QualityRuleSerializer(rule).data)


# --- computing ------------------------------------------------------------------------------


class QualityComputeJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()


class ComputeView(APIView):
    """Start (or resume) computing every score as a job; poll it at /api/v1/jobs/{id}/."""

    permission_classes = [QualityManagers]

    @extend_schema(
        operation_id="quality_compute",
        request=None,
        responses={202: QualityComputeJobSerializer, **error_responses(401, 403)},
    )
    def post(self, request):
        from django.db import transaction

        from . import tasks

        job, queue = quality.compute_request(actor=request.user)
        if queue:
            transaction.on_commit(lambda: tasks.quality_compute.delay(job.pk))
        return Response({"id": job.pk, "state": job.state}, status=202)
