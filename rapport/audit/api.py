"""REST API of the audit trail: events, alerts, behaviour rules and chain verification."""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.utils.translation import gettext_lazy
from django_filters.fields import IsoDateTimeRangeField
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.api import (
    APIView,
    GenericViewSet,
    GrantPermission,
    IdFilter,
    UserRefSerializer,
)
from rapport.identity.models import Action, Scope

from . import services
from .models import Alert, AuditEvent, BehaviourRule

# --- events --------------------------------------------------------------------------------


class AuditEventOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    seq = serializers.IntegerField(read_only=True)
    at = serializers.DateTimeField(read_only=True)
    actor = serializers.IntegerField(source="actor_id", read_only=True, allow_null=True)
    actor_repr = serializers.CharField(read_only=True)
    action = serializers.CharField(read_only=True)
    object_type = serializers.CharField(read_only=True)
    object_id = serializers.CharField(read_only=True)
    object_repr = serializers.CharField(read_only=True)
    changes = serializers.DictField(
        read_only=True,
        help_text="{field: [before, after]} as chained (personal data encrypted at rest "
        "appears sealed, `enc:v1:…`).",
    )
    readable_changes = serializers.DictField(
        read_only=True, help_text="The same with sealed values opened and masked."
    )
    result = serializers.CharField(read_only=True)
    ip = serializers.CharField(read_only=True, allow_null=True)
    user_agent = serializers.CharField(read_only=True)
    channel = serializers.CharField(read_only=True)
    extra = serializers.DictField(read_only=True)
    hash = serializers.CharField(read_only=True)


class _UtcDateTimeRangeField(IsoDateTimeRangeField):
    def compress(self, data_list):
        try:
            data_list = [value and value.astimezone(datetime.UTC) for value in data_list]
        except OverflowError:
            raise forms.ValidationError(
                forms.DateTimeField.default_error_messages["invalid"], code="invalid"
            ) from None
        return super().compress(data_list)


class UtcDateTimeRangeFilter(django_filters.IsoDateTimeFromToRangeFilter):
    """A time range (NAME_after, NAME_before) handed to the database in UTC.

    As given, an offset PostgreSQL cannot store (past ±15:59) or an instant UTC cannot hold
    (year 1 east of Greenwich, year 9999 west of it) failed in the database: a 500, not a 400.
    """

    field_class = _UtcDateTimeRangeField


class AuditEventFilter(django_filters.FilterSet):
    actor = IdFilter(field_name="actor_id")
    action = django_filters.CharFilter()
    action_prefix = django_filters.CharFilter(field_name="action", lookup_expr="startswith")
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    at = UtcDateTimeRangeFilter(label=gettext_lazy("time (at_after, at_before)"))

    class Meta:
        model = AuditEvent
        fields = ["result", "channel"]


@extend_schema_view(
    list=extend_schema(
        responses={200: AuditEventOutputSerializer, **error_responses(400, 401, 403)}
    ),
    retrieve=extend_schema(
        responses={200: AuditEventOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class AuditEventViewSet(GenericViewSet):
    """The audit trail, newest first, as far as the caller's audit-event grant reaches."""

    object_type = "audit.event"
    permission_classes = [GrantPermission]
    serializer_class = AuditEventOutputSerializer
    filterset_class = AuditEventFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["seq"]
    ordering = "-seq"

    def get_queryset(self):
        return AuditEvent.objects.restrict(self.request.user, Action.VIEW)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(self.get_serializer(self.get_object()).data)


# --- alerts --------------------------------------------------------------------------------


class AlertOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    rule = serializers.CharField(read_only=True)
    severity = serializers.CharField(read_only=True)
    subject = UserRefSerializer(read_only=True, allow_null=True)
    subject_repr = serializers.CharField(read_only=True)
    message = serializers.CharField(
        source="text", read_only=True, help_text="The alert in the request's language."
    )
    details = serializers.DictField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    is_open = serializers.BooleanField(read_only=True)
    acknowledged_by = UserRefSerializer(read_only=True, allow_null=True)
    acknowledged_at = serializers.DateTimeField(read_only=True, allow_null=True)
    note = serializers.CharField(read_only=True)


class AcknowledgeSerializer(StrictInputSerializer):
    note = serializers.CharField(required=False, allow_blank=True)


class AlertFilter(django_filters.FilterSet):
    open = django_filters.BooleanFilter(
        field_name="acknowledged_at", lookup_expr="isnull", label=gettext_lazy("open")
    )
    subject = IdFilter(field_name="subject_id")

    class Meta:
        model = Alert
        fields = ["rule", "severity"]


@extend_schema_view(
    list=extend_schema(responses={200: AlertOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(
        responses={200: AlertOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class AlertViewSet(GenericViewSet):
    """Alerts raised by behaviour rules, for administrators and auditors."""

    object_type = "audit.alert"
    permission_classes = [GrantPermission]
    grant_actions = {"acknowledge": Action.MANAGE}
    serializer_class = AlertOutputSerializer
    filterset_class = AlertFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["created_at", "id"]

    def get_queryset(self):
        return Alert.objects.restrict(self.request.user, Action.VIEW).select_related(
            "subject", "acknowledged_by"
        )

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request=AcknowledgeSerializer,
        responses={200: AlertOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        alert = self.get_object()
        values = parse(AcknowledgeSerializer, request)
        alert = services.alert_acknowledge(
            actor=request.user, alert=alert, note=values.get("note", "")
        )
        return Response(self.get_serializer(alert).data)


# --- behaviour rules -----------------------------------------------------------------------


class BehaviourRuleOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(read_only=True)
    label = serializers.CharField(source="get_code_display", read_only=True)
    enabled = serializers.BooleanField(read_only=True)
    threshold = serializers.IntegerField(read_only=True)
    window_minutes = serializers.IntegerField(read_only=True)


class BehaviourRuleUpdateSerializer(StrictInputSerializer):
    enabled = serializers.BooleanField(required=False)
    threshold = serializers.IntegerField(required=False)
    window_minutes = serializers.IntegerField(required=False)


@extend_schema_view(
    list=extend_schema(
        responses={200: BehaviourRuleOutputSerializer, **error_responses(400, 401, 403)}
    ),
    retrieve=extend_schema(
        responses={200: BehaviourRuleOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class BehaviourRuleViewSet(GenericViewSet):
    """Behaviour-monitoring rules: read with alert view, change with alert manage."""

    object_type = "audit.alert"
    permission_classes = [GrantPermission]
    grant_actions = {"partial_update": Action.MANAGE}
    serializer_class = BehaviourRuleOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        return BehaviourRule.objects.all()

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request=BehaviourRuleUpdateSerializer,
        responses={200: BehaviourRuleOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        rule = self.get_object()
        values = parse(BehaviourRuleUpdateSerializer, request, partial=True)
        rule = services.behaviour_rule_update(actor=request.user, rule=rule, **values)
        return Response(self.get_serializer(rule).data)


# --- verification --------------------------------------------------------------------------


class VerifyResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField(read_only=True)
    checked = serializers.IntegerField(read_only=True)
    first_bad_seq = serializers.IntegerField(read_only=True, allow_null=True)
    reason = serializers.CharField(read_only=True)


class VerifyView(APIView):
    """Recompute the hash chain and report the first event that does not match.

    For auditors and administrators: it needs the audit-event view grant over all events.
    """

    object_type = "audit.event"
    permission_classes = [GrantPermission]

    @extend_schema(
        tags=["audit"],
        operation_id="audit_verify",
        responses={200: VerifyResultSerializer, **error_responses(401, 403)},
    )
    def get(self, request):
        if policy.best_scope(request.user, "audit.event", Action.VIEW) != Scope.ALL:
            raise PermissionDenied()
        result = services.chain_verify(actor=request.user)
        return Response(
            {
                "ok": result.ok,
                "checked": result.checked,
                "first_bad_seq": result.first_bad_seq,
                "reason": result.reason,
            }
        )
