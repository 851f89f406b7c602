"""REST API of satisfaction surveys (read-only): `/api/v1/service/surveys/` lists the surveys
the caller may see (agents: their own and their queues' tickets'; managers: their
department's), filtered by type, ticket, contact, account and answered or not;
`stats/` gives CSAT %, NPS and the response rate over the same filters, computed in SQL.
Answers come only from the customer's link, never from the API."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core.api import error_responses
from rapport.core.errors import NotFound
from rapport.identity.api import GenericViewSet, GrantPermission, IdFilter
from rapport.identity.models import Action

from . import satisfaction
from .models import Survey, SurveyKind, SurveyNotSent


class SurveyOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=SurveyKind.choices, read_only=True)
    ticket = serializers.IntegerField(source="ticket_id", read_only=True, allow_null=True)
    contact = serializers.IntegerField(source="contact_id", read_only=True, allow_null=True)
    account = serializers.IntegerField(source="account_id", read_only=True, allow_null=True)
    agent = serializers.IntegerField(source="agent_id", read_only=True, allow_null=True)
    team = serializers.IntegerField(source="team_id", read_only=True, allow_null=True)
    category = serializers.IntegerField(source="category_id", read_only=True, allow_null=True)
    language = serializers.CharField(read_only=True)
    state = serializers.ChoiceField(
        choices=["not_sent", "sending", "waiting", "expired", "answered"], read_only=True
    )
    not_sent_reason = serializers.ChoiceField(
        choices=[("", "")] + list(SurveyNotSent.choices), read_only=True
    )
    created_at = serializers.DateTimeField(read_only=True)
    sent_at = serializers.DateTimeField(read_only=True, allow_null=True)
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    answered_at = serializers.DateTimeField(read_only=True, allow_null=True)
    score = serializers.IntegerField(read_only=True, allow_null=True)
    comment = serializers.CharField(read_only=True)
    follow_up = serializers.IntegerField(source="follow_up_id", read_only=True, allow_null=True)


class SurveyStatsSerializer(serializers.Serializer):
    sent = serializers.IntegerField()
    answered = serializers.IntegerField()
    response_rate = serializers.FloatField(allow_null=True, help_text="per cent")
    csat_sent = serializers.IntegerField()
    csat_answers = serializers.IntegerField()
    csat_happy = serializers.IntegerField(help_text="CSAT answers scoring 4 or 5")
    csat_percent = serializers.FloatField(allow_null=True, help_text="share of 4–5, per cent")
    csat_average = serializers.FloatField(allow_null=True)
    nps_sent = serializers.IntegerField()
    nps_answers = serializers.IntegerField()
    promoters = serializers.IntegerField(help_text="NPS answers 9–10")
    detractors = serializers.IntegerField(help_text="NPS answers 0–6")
    nps = serializers.FloatField(
        allow_null=True, help_text="promoters minus detractors, in points (−100 … 100)"
    )


class SurveyFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=SurveyKind.choices)
    ticket = IdFilter(field_name="ticket_id")
    contact = IdFilter(field_name="contact_id")
    account = IdFilter(field_name="account_id")
    team = IdFilter(field_name="team_id")
    agent = IdFilter(field_name="agent_id")
    answered = django_filters.BooleanFilter(
        field_name="answered_at",
        lookup_expr="isnull",
        exclude=True,
        label=gettext_lazy("Answered (true) or not (false)"),
    )
    sent_after = django_filters.IsoDateTimeFilter(
        field_name="sent_at", lookup_expr="gte", label=gettext_lazy("Sent at or after")
    )
    sent_before = django_filters.IsoDateTimeFilter(
        field_name="sent_at", lookup_expr="lt", label=gettext_lazy("Sent before")
    )

    class Meta:
        model = Survey
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(
        responses={200: SurveyOutputSerializer, **error_responses(400, 401, 403)},
        description="Surveys the caller may see, newest first. Low CSAT answers: "
        "`?kind=csat&answered=true&ordering=score`.",
    ),
    retrieve=extend_schema(
        responses={200: SurveyOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class SurveyViewSet(GenericViewSet):
    """Satisfaction surveys (CSAT after tickets, NPS) and their answers."""

    object_type = Survey.security_type
    permission_classes = [GrantPermission]
    grant_actions = {"list": Action.VIEW, "retrieve": Action.VIEW, "stats": Action.VIEW}
    serializer_class = SurveyOutputSerializer
    filterset_class = SurveyFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["id", "sent_at", "answered_at", "score"]
    ordering = ["-id"]

    def get_queryset(self):
        return Survey.objects.restrict(self.request.user, Action.VIEW)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(SurveyOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            raise NotFound() from None
        survey = self.get_queryset().filter(pk=pk).first()
        if survey is None:
            raise NotFound()
        return Response(SurveyOutputSerializer(survey).data)

    @extend_schema(
        responses={200: SurveyStatsSerializer, **error_responses(400, 401, 403)},
        description="CSAT %, NPS and response rate over the surveys the caller may see that "
        "match the list's filters (sent ones only).",
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def stats(self, request):
        surveys = self.filter_queryset(self.get_queryset()).filter(sent_at__isnull=False)
        figures = satisfaction.summary(surveys.order_by())
        return Response(SurveyStatsSerializer(figures).data)
