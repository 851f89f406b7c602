"""REST API of complaints and their root-cause categories.

`/api/v1/service/complaints/` lists the complaints of the complaint tickets the caller may
see (the ticket's grants), changes one (`complaint_update`: fields and the stage move in
one, each refusal naming its field) and gives the report's aggregates (`report/`);
`/api/v1/service/complaint-causes/` reads the causes for everyone who works on tickets and
changes them for those with `manage` on `service.complaintcause`.
"""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core.api import CursorPagination, StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity.api import GenericViewSet, GrantPermission, IdFilter, UserRefSerializer
from rapport.identity.models import Action, User

from . import complaint_report
from .models import Complaint, ComplaintCause, ComplaintStage, Ticket
from .services import complaints as complaint_services


class CauseOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)


class CauseInputSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    position = serializers.IntegerField(required=False)
    is_active = serializers.BooleanField(required=False)


class CauseCreateSerializer(CauseInputSerializer):
    name = serializers.CharField(allow_blank=True, max_length=200)


class ComplaintTicketSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    subject = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)


class ComplaintOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    ticket = ComplaintTicketSerializer(read_only=True)
    stage = serializers.ChoiceField(choices=ComplaintStage.choices, read_only=True)
    next_stages = serializers.SerializerMethodField()
    product = serializers.CharField(read_only=True)
    cause = CauseOutputSerializer(read_only=True, allow_null=True)
    findings = serializers.CharField(read_only=True)
    corrective_action = serializers.CharField(read_only=True)
    action_owner = UserRefSerializer(read_only=True, allow_null=True)
    action_due = serializers.DateField(read_only=True, allow_null=True)
    resolved_at = serializers.DateTimeField(read_only=True, allow_null=True)
    confirmed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    confirmation_note = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_next_stages(self, complaint: Complaint) -> list[str]:
        return complaint_services.complaint_next_stages(complaint)


class ComplaintInputSerializer(StrictInputSerializer):
    stage = serializers.CharField(
        required=False, max_length=20, help_text="Move to: " + ", ".join(ComplaintStage.values)
    )
    product = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    cause = serializers.PrimaryKeyRelatedField(
        queryset=ComplaintCause.objects.all(), required=False, allow_null=True
    )
    findings = serializers.CharField(required=False, allow_blank=True)
    corrective_action = serializers.CharField(required=False, allow_blank=True)
    action_owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    action_due = serializers.DateField(required=False, allow_null=True)
    confirmation_note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class MonthRowSerializer(serializers.Serializer):
    key = serializers.IntegerField(allow_null=True, required=False)
    name = serializers.CharField()
    months = serializers.ListField(child=serializers.IntegerField())
    total = serializers.IntegerField()


class StageRowSerializer(serializers.Serializer):
    stage = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    open = serializers.BooleanField()


class OverdueRowSerializer(serializers.Serializer):
    ticket = serializers.IntegerField()
    number = serializers.CharField()
    subject = serializers.CharField()
    stage = serializers.CharField()
    product = serializers.CharField()
    cause = serializers.CharField()
    corrective_action = serializers.CharField()
    owner = serializers.CharField()
    owner_id = serializers.IntegerField(allow_null=True)
    action_due = serializers.DateField()
    days_late = serializers.IntegerField()


class ReportSerializer(serializers.Serializer):
    months = serializers.ListField(
        child=serializers.DateField(), help_text="First day of each month, oldest first."
    )
    total = serializers.IntegerField(help_text="Complaints registered in these months.")
    month_totals = serializers.ListField(child=serializers.IntegerField())
    by_cause = MonthRowSerializer(many=True, help_text="key null: no root cause yet.")
    by_product = MonthRowSerializer(many=True, help_text="name empty: no product stated.")
    by_stage = StageRowSerializer(many=True, help_text="Every complaint matching the filters.")
    open = serializers.IntegerField()
    overdue_count = serializers.IntegerField(
        help_text="Corrective actions due before today, not confirmed by the customer."
    )
    overdue = OverdueRowSerializer(many=True, help_text="The first 50, most overdue first.")


class ComplaintFilter(django_filters.FilterSet):
    stage = django_filters.MultipleChoiceFilter(choices=ComplaintStage.choices)
    cause = IdFilter(field_name="cause_id")
    product = django_filters.CharFilter(field_name="product", lookup_expr="exact")
    ticket = IdFilter(field_name="ticket_id")
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label=gettext_lazy("Corrective action past its due date")
    )
    q = django_filters.CharFilter(
        field_name="ticket__subject",
        lookup_expr="icontains",
        label=gettext_lazy("Search the ticket's subject"),
    )

    class Meta:
        model = Complaint
        fields: list[str] = []

    def filter_overdue(self, queryset, name, value):
        from django.utils import timezone

        overdue = {"action_due__lt": timezone.localdate()}
        if value:
            return queryset.filter(**overdue).exclude(stage=ComplaintStage.CONFIRMED)
        return queryset.exclude(pk__in=queryset.filter(**overdue).values("pk"))


REPORT_PARAMETERS = [
    OpenApiParameter(
        "months", int, description="Months back, this one included: 3, 6, 12 (default) or 24."
    ),
    OpenApiParameter("cause", str, description="A cause id, or none (no cause yet)."),
    OpenApiParameter("product", str, description="Exactly this product or service."),
    OpenApiParameter("stage", str, description=", ".join(ComplaintStage.values)),
]


@extend_schema_view(
    list=extend_schema(
        responses={200: ComplaintOutputSerializer, **error_responses(400, 401, 403)},
        description="Complaints of the complaint tickets the caller may see, newest first. "
        "Overdue corrective actions: `?overdue=true`.",
    ),
    retrieve=extend_schema(
        responses={200: ComplaintOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class ComplaintViewSet(GenericViewSet):
    """Complaints (the complaint side of tickets of type complaint)."""

    object_type = Ticket.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "partial_update": Action.CHANGE,
        "report": Action.VIEW,
    }
    serializer_class = ComplaintOutputSerializer
    filterset_class = ComplaintFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["id", "created_at", "action_due", "updated_at"]
    ordering = ["-id"]

    def get_queryset(self):
        return complaint_report.visible(self.request.user).select_related(
            "ticket", "cause", "action_owner"
        )

    def fetch(self, action_name: str, pk) -> Complaint:
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            raise NotFound() from None
        complaint = (
            complaint_report.visible(self.request.user, action_name)
            .select_related("ticket", "cause", "action_owner")
            .filter(pk=pk)
            .first()
        )
        if complaint is None:
            raise NotFound()
        return complaint

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ComplaintOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(ComplaintOutputSerializer(self.fetch(Action.VIEW, pk)).data)

    @extend_schema(
        request=ComplaintInputSerializer,
        responses={200: ComplaintOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Change the complaint and/or move its stage (registered → investigating → "
        "resolved → confirmed; resolved → investigating). Resolving needs cause, findings and "
        "corrective_action; confirming needs confirmation_note. All or nothing.",
    )
    def partial_update(self, request, pk=None):
        complaint = self.fetch(Action.CHANGE, pk)
        values = parse(ComplaintInputSerializer, request, partial=True)
        complaint_services.complaint_update(actor=request.user, complaint=complaint, **values)
        return Response(ComplaintOutputSerializer(self.fetch(Action.VIEW, pk)).data)

    @extend_schema(
        parameters=REPORT_PARAMETERS,
        responses={200: ReportSerializer, **error_responses(400, 401, 403)},
        description="Complaints by root cause and by product per month, by stage, and the "
        "overdue corrective actions, over the complaints the caller may see.",
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def report(self, request):
        filters = complaint_report.Filters.parse(request.query_params)
        return Response(ReportSerializer(complaint_report.report(request.user, filters)).data)


class CausePagination(CursorPagination):
    ordering = ("position", "id")
    page_size = 100


@extend_schema_view(
    list=extend_schema(responses={200: CauseOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(
        responses={200: CauseOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class ComplaintCauseViewSet(GenericViewSet):
    """Root-cause categories of complaints, in their order."""

    object_type = ComplaintCause.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        # reading them is part of working on tickets
        "list": (Ticket.security_type, Action.VIEW),
        "retrieve": (Ticket.security_type, Action.VIEW),
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
    }
    serializer_class = CauseOutputSerializer
    pagination_class = CausePagination

    def get_queryset(self):
        return ComplaintCause.objects.order_by("position", "id")

    def get_object(self) -> ComplaintCause:
        try:
            return ComplaintCause.objects.get(pk=int(self.kwargs["pk"]))
        except (ComplaintCause.DoesNotExist, ValueError, TypeError, OverflowError):
            raise NotFound() from None

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CauseOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(CauseOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=CauseCreateSerializer,
        responses={201: CauseOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(CauseCreateSerializer, request)
        values.pop("is_active", None)
        cause = complaint_services.complaint_cause_create(actor=request.user, **values)
        return Response(CauseOutputSerializer(cause).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=CauseInputSerializer,
        responses={200: CauseOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Rename, reorder, retire (is_active false) or offer again.",
    )
    def partial_update(self, request, pk=None):
        values = parse(CauseInputSerializer, request, partial=True)
        cause = complaint_services.complaint_cause_update(
            actor=request.user, cause=self.get_object(), **values
        )
        return Response(CauseOutputSerializer(cause).data)
