"""REST API of sales targets, attainment and the forecast.

Targets are read by whoever has `view` on `sales.target` (the people, teams and departments
their scope covers) and set by those with `manage` (through
`rapport.sales.services.targets`: checked, audited). Attainment needs `view` on targets;
the forecast and the pipeline report `view` on opportunities (they sum only the
opportunities the caller may read)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core.api import CursorPagination, StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity.api import APIView, GenericViewSet, GrantPermission, IdFilter
from rapport.identity.models import Action, Department, Team, User

from . import forecast as forecast_reads
from . import pipeline_report as report_reads
from .models import Opportunity, Pipeline, Target, TargetMetric, TargetPeriod
from .services import targets as target_services


class TargetOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    period = serializers.CharField(read_only=True)
    period_start = serializers.DateField(read_only=True)
    metric = serializers.CharField(read_only=True)
    user = serializers.IntegerField(source="user_id", read_only=True, allow_null=True)
    team = serializers.IntegerField(source="team_id", read_only=True, allow_null=True)
    department = serializers.IntegerField(source="department_id", read_only=True, allow_null=True)
    holder_name = serializers.SerializerMethodField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    currency = serializers.CharField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_holder_name(self, target: Target) -> str:
        return str(target.user or target.team or target.department)


class TargetCreateSerializer(StrictInputSerializer):
    period = serializers.CharField(max_length=10, help_text=", ".join(TargetPeriod.values))
    period_start = serializers.CharField(
        max_length=10, help_text="The first day of the period, YYYY-MM-DD."
    )
    metric = serializers.CharField(
        max_length=20, required=False, help_text=", ".join(TargetMetric.values)
    )
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True
    )
    # a string so that the service, not the parser, names what is wrong with it
    amount = serializers.CharField(max_length=40)
    currency = serializers.CharField(max_length=3, required=False)


class TargetUpdateSerializer(StrictInputSerializer):
    amount = serializers.CharField(max_length=40, required=False)
    currency = serializers.CharField(max_length=3, required=False)


class TargetFilter(django_filters.FilterSet):
    period = django_filters.ChoiceFilter(choices=TargetPeriod.choices)
    period_start = django_filters.DateFilter()
    metric = django_filters.ChoiceFilter(choices=TargetMetric.choices)
    user = IdFilter(field_name="user_id")
    team = IdFilter(field_name="team_id")
    department = IdFilter(field_name="department_id")
    q = django_filters.CharFilter(method="search", label=gettext_lazy("Search the holder's name"))

    class Meta:
        model = Target
        fields: list[str] = []

    def search(self, queryset, name, value):
        text = value.strip()
        if not text:
            return queryset
        return queryset.filter(
            Q(user__username__icontains=text)
            | Q(user__display_name__icontains=text)
            | Q(team__name__icontains=text)
            | Q(department__name__icontains=text)
        )


class TargetPagination(CursorPagination):
    ordering = ("-period_start", "id")
    page_size = 100


@extend_schema_view(
    list=extend_schema(
        responses={200: TargetOutputSerializer, **error_responses(400, 401, 403)},
        description="Targets the caller may see. `?period=month&period_start=2026-11-01`.",
    ),
    retrieve=extend_schema(
        responses={200: TargetOutputSerializer, **error_responses(401, 403, 404)}
    ),
    destroy=extend_schema(responses={204: None, **error_responses(401, 403, 404)}),
)
class TargetViewSet(GenericViewSet):
    """Sales targets per person, team or department, period and measure."""

    object_type = Target.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
        "destroy": Action.MANAGE,
    }
    serializer_class = TargetOutputSerializer
    filterset_class = TargetFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["id", "period_start", "amount"]
    ordering = ["-period_start", "id"]
    pagination_class = TargetPagination

    def get_queryset(self):
        return forecast_reads.targets_for(self.request.user).select_related(
            "user", "team", "department"
        )

    def fetch(self, action_name: str, pk) -> Target:
        target = forecast_reads.targets_for(self.request.user, action_name).filter(pk=pk).first()
        if target is None:
            raise NotFound()
        return target

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(TargetOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(TargetOutputSerializer(self.fetch(Action.VIEW, pk)).data)

    @extend_schema(
        request=TargetCreateSerializer,
        responses={
            201: TargetOutputSerializer,
            200: TargetOutputSerializer,
            **error_responses(400, 401, 403, 415),
        },
        description="Set a holder's target for a period and measure: created (201), or "
        "changed when that holder already has one (200).",
    )
    def create(self, request):
        values = parse(TargetCreateSerializer, request)
        existed = Target.objects.filter(
            period=values.get("period"),
            metric=values.get("metric", TargetMetric.WON_AMOUNT),
            period_start=values.get("period_start")
            if _is_iso(values.get("period_start"))
            else None,
            user=values.get("user"),
            team=values.get("team"),
            department=values.get("department"),
        ).exists()
        target = target_services.target_set(actor=request.user, **values)
        return Response(
            TargetOutputSerializer(target).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=TargetUpdateSerializer,
        responses={200: TargetOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        values = parse(TargetUpdateSerializer, request, partial=True)
        target = self.fetch(Action.MANAGE, pk)
        updated = target_services.target_set(
            actor=request.user,
            period=target.period,
            period_start=target.period_start,
            metric=target.metric,
            amount=values.get("amount", target.amount),
            currency=values.get("currency", target.currency),
            user=target.user,
            team=target.team,
            department=target.department,
        )
        return Response(TargetOutputSerializer(updated).data)

    def destroy(self, request, pk=None):
        target_services.target_delete(actor=request.user, target=self.fetch(Action.MANAGE, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _is_iso(value) -> bool:
    try:
        dt.date.fromisoformat(str(value))
    except ValueError:
        return False
    return True


# --- attainment and forecast ------------------------------------------------------------------

PERIOD_PARAMETERS = [
    OpenApiParameter(
        "period", OpenApiTypes.STR, enum=TargetPeriod.values, description="Default month."
    ),
    OpenApiParameter(
        "start", OpenApiTypes.DATE, description="The period's first day; default: the current one."
    ),
]


def _decimal(value) -> str:
    return f"{value:.2f}"


class AttainmentView(APIView):
    """Actual against target per measure, for the holders the caller may see."""

    object_type = Target.security_type
    permission_classes = [GrantPermission]

    @extend_schema(
        tags=["sales"],
        operation_id="sales_attainment",
        parameters=[
            *PERIOD_PARAMETERS,
            OpenApiParameter("user", OpenApiTypes.INT, many=True),
            OpenApiParameter("team", OpenApiTypes.INT, many=True),
            OpenApiParameter("department", OpenApiTypes.INT, many=True),
        ],
        responses={200: OpenApiTypes.OBJECT, **error_responses(400, 401, 403)},
        description="`?period=month&start=2026-11-01` — without holders: every holder with a "
        "target in the period. Amounts in the target's currency; `other_currencies` lists "
        "amounts in others (never converted).",
    )
    def get(self, request):
        period, start = forecast_reads.parse_period(
            request.query_params.get("period"), request.query_params.get("start")
        )
        holders = []
        for kind in forecast_reads.HOLDER_KINDS:
            for raw in request.query_params.getlist(kind):
                try:
                    holders.append((kind, int(raw)))
                except ValueError:
                    raise ValidationError(
                        {kind: ValidationError(_("Enter a whole number."), "invalid")}
                    ) from None
        rows = forecast_reads.attainment(
            viewer=request.user, period=period, start=start, holders=holders or None
        )
        return Response(
            {
                "period": period,
                "start": start.isoformat(),
                "end": forecast_reads.period_end(period, start).isoformat(),
                "results": [
                    {
                        "holder_type": row.kind,
                        "holder": row.pk,
                        "name": row.name,
                        "metrics": {
                            metric: {
                                "target": None if m.target is None else _decimal(m.target),
                                "actual": _decimal(m.actual),
                                "currency": m.currency,
                                "percent": m.percent,
                                "other_currencies": {
                                    code: _decimal(amount)
                                    for code, amount in m.other_currencies.items()
                                },
                            }
                            for metric, m in row.metrics.items()
                        },
                    }
                    for row in rows
                ],
            }
        )


def _figures(figures: dict) -> dict:
    return {
        currency: {
            key: (value if isinstance(value, int) else _decimal(value))
            for key, value in one.as_dict().items()
        }
        for currency, one in sorted(figures.items())
    }


def _node(node) -> dict:
    return {
        "user": node.user_id,
        "name": node.name,
        "depth": node.depth,
        "own": _figures(node.own),
        "total": _figures(node.total),
        "children": [_node(child) for child in node.children],
    }


class ForecastView(APIView):
    """The forecast of a period rolled up the manager hierarchy."""

    object_type = Opportunity.security_type
    permission_classes = [GrantPermission]

    @extend_schema(
        tags=["sales"],
        operation_id="sales_forecast",
        parameters=[
            *PERIOD_PARAMETERS,
            OpenApiParameter("user", OpenApiTypes.INT, description="Only this person's subtree."),
        ],
        responses={200: OpenApiTypes.OBJECT, **error_responses(400, 401, 403, 404)},
        description="Per person and currency: weighted (amount × probability), commit, best "
        "case (commit + best case), pipeline (every open deal not omitted), closed won; "
        "`total` is the person's own plus everyone's below them.",
    )
    def get(self, request):
        period, start = forecast_reads.parse_period(
            request.query_params.get("period"), request.query_params.get("start")
        )
        root_user = None
        if request.query_params.get("user"):
            try:
                root_user = User.objects.get(pk=int(request.query_params["user"]))
            except (User.DoesNotExist, ValueError):
                raise NotFound() from None
            if not forecast_reads.visibility(request.user).sees("user", root_user.pk):
                raise NotFound()
        result = forecast_reads.forecast(
            viewer=request.user, period=period, start=start, root_user=root_user
        )
        return Response(
            {
                "period": result.period,
                "start": result.start.isoformat(),
                "end": result.end.isoformat(),
                "currency": result.currency,
                "totals": _figures(result.totals),
                "results": [_node(root) for root in result.roots],
            }
        )


def _stage_row(row) -> dict:
    return {
        "stage": row.stage.pk,
        "name": row.stage.display_name,
        "probability": row.stage.probability,
        "count": row.count,
        "amount": _decimal(row.amount),
        "weighted": _decimal(row.weighted),
        "average_days": row.average_days,
        "stalled": row.stalled,
    }


class PipelineReportView(APIView):
    """The pipeline report of one pipeline for a period (the page's figures)."""

    object_type = Opportunity.security_type
    permission_classes = [GrantPermission]

    @extend_schema(
        tags=["sales"],
        operation_id="sales_pipeline_report",
        parameters=[
            *PERIOD_PARAMETERS,
            OpenApiParameter("pipeline", OpenApiTypes.INT, description="Default: the default."),
            OpenApiParameter("owner", OpenApiTypes.INT, description="Only this owner's deals."),
            OpenApiParameter("currency", OpenApiTypes.STR, description="Default: sales currency."),
        ],
        responses={200: OpenApiTypes.OBJECT, **error_responses(400, 401, 403, 404)},
        description="Open deals per open stage (count, amount, weighted = amount × "
        "probability, average days in the stage, stalled), deals won and lost in the period "
        "(win rate, average deal, average days to win, lost reasons), the deals created in "
        "the period that entered each stage (`funnel`, with the % that went on) and the "
        "figures per owner. Only the deals the caller may read; amounts in `currency`, deals "
        "in other currencies counted in `other_currencies`.",
    )
    def get(self, request):
        params = request.query_params
        numbers = {}
        for name in ("pipeline", "owner"):
            raw = params.get(name) or ""
            if raw and not raw.isdigit():
                raise ValidationError(
                    {name: ValidationError(_("Enter a whole number."), "invalid")}
                )
            numbers[name] = int(raw) if raw else None
        currency = (params.get("currency") or "").strip()
        if currency and not (len(currency) == 3 and currency.isalpha()):
            raise ValidationError(
                {"currency": ValidationError(_("Enter a three-letter currency code."), "invalid")}
            )
        pipelines = Pipeline.objects.filter(is_active=True)
        pipeline = (
            pipelines.filter(pk=numbers["pipeline"]).first()
            if numbers["pipeline"] is not None
            else pipelines.order_by("-is_default", "position", "id").first()
        )
        if pipeline is None:
            raise NotFound()
        report = report_reads.pipeline_report(
            request.user,
            pipeline,
            period=params.get("period"),
            start=params.get("start"),
            owner=numbers["owner"],
            currency=currency or None,
        )
        return Response(
            {
                "pipeline": pipeline.pk,
                "period": report.period,
                "start": report.start.isoformat(),
                "end": report.end.isoformat(),
                "currency": report.currency,
                "open_count": report.open_count,
                "open_amount": _decimal(report.open_amount),
                "weighted": _decimal(report.weighted),
                "stages": [_stage_row(row) for row in report.stages],
                "won": {"count": report.won_count, "amount": _decimal(report.won_amount)},
                "lost": {"count": report.lost_count, "amount": _decimal(report.lost_amount)},
                "win_rate": report.win_rate,
                "average_won": None if report.average_won is None else _decimal(report.average_won),
                "average_days_to_win": report.cycle_days,
                "created": report.created,
                "funnel": [
                    {
                        "stage": row.stage.pk,
                        "name": row.stage.display_name,
                        "entered": row.entered,
                        "went_on_percent": row.conversion,
                    }
                    for row in report.funnel
                ],
                "lost_reasons": [
                    {
                        "reason": row.reason.pk if row.reason else None,
                        "name": row.reason.display_name if row.reason else "",
                        "count": row.count,
                        "amount": _decimal(row.amount),
                    }
                    for row in report.lost_reasons
                ],
                "owners": [
                    {
                        "owner": row.owner_id,
                        "name": row.name,
                        "open_count": row.open_count,
                        "open_amount": _decimal(row.open_amount),
                        "weighted": _decimal(row.weighted),
                        "won_count": row.won_count,
                        "won_amount": _decimal(row.won_amount),
                        "lost_count": row.lost_count,
                        "win_rate": row.win_rate,
                    }
                    for row in report.owners
                ],
                "other_currencies": report.other_currencies,
            }
        )
