"""REST API of opportunities: parse, authorize, call the service, render.

`/api/v1/sales/opportunities/` lists the opportunities the caller may see (their own, their
team's or department's by their grants); writes go through `rapport.sales.services.pipeline`
(`opportunity_create`, `opportunity_update`, `opportunity_move`, `opportunity_assign`,
`opportunity_reorder`). An opportunity the caller may not see reads as not found.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.customers.api import AccountRefSerializer, RestrictedRelatedField
from rapport.customers.interaction_api import ContactRefSerializer
from rapport.customers.models import Account, Contact
from rapport.identity.api import GenericViewSet, GrantPermission, IdFilter, UserRefSerializer
from rapport.identity.models import Action, User

from . import opportunity_selectors as selectors
from .models import (
    ForecastCategory,
    Lead,
    LostReason,
    Opportunity,
    OpportunityStatus,
    Pipeline,
    Stage,
)
from .services import pipeline as pipeline_services


class NamedRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)


class StageRefSerializer(NamedRefSerializer):
    probability = serializers.IntegerField(read_only=True)
    is_won = serializers.BooleanField(read_only=True)
    is_lost = serializers.BooleanField(read_only=True)


class LineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    product = serializers.IntegerField(source="product_id", read_only=True, allow_null=True)
    description = serializers.CharField(read_only=True)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3, read_only=True)
    unit_price = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2, read_only=True)
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=2, read_only=True, help_text="Net of the line's discount."
    )


class OpportunityOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    account = AccountRefSerializer(read_only=True)
    contact = ContactRefSerializer(read_only=True, allow_null=True)
    pipeline = NamedRefSerializer(read_only=True)
    stage = StageRefSerializer(read_only=True)
    # plain strings (the values listed), not enums: sales has many "status" fields and the
    # schema would name their enums by collision
    status = serializers.CharField(read_only=True, help_text=", ".join(OpportunityStatus.values))
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    currency = serializers.CharField(read_only=True)
    probability = serializers.IntegerField(read_only=True)
    expected_close_date = serializers.DateField(read_only=True, allow_null=True)
    closed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    forecast_category = serializers.CharField(
        read_only=True, help_text=", ".join(ForecastCategory.values)
    )
    lost_reason = serializers.IntegerField(source="lost_reason_id", read_only=True, allow_null=True)
    lost_note = serializers.CharField(read_only=True)
    next_step = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    owner = UserRefSerializer(read_only=True)
    source_lead = serializers.IntegerField(source="source_lead_id", read_only=True, allow_null=True)
    stage_entered_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class OpportunityDetailSerializer(OpportunityOutputSerializer):
    lines = LineOutputSerializer(many=True, read_only=True)


class LineInputSerializer(StrictInputSerializer):
    product = serializers.IntegerField(required=False, allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    quantity = serializers.CharField(required=False, max_length=40)
    unit_price = serializers.CharField(required=False, allow_blank=True, max_length=40)
    discount_percent = serializers.CharField(required=False, allow_blank=True, max_length=40)


class _OpportunityInput(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    account = RestrictedRelatedField(Account, required=False)
    contact = RestrictedRelatedField(Contact, required=False, allow_null=True)
    amount = serializers.CharField(
        required=False, allow_blank=True, max_length=40, help_text="A decimal string: 12000.50"
    )
    currency = serializers.CharField(required=False, max_length=10)
    expected_close_date = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=40, help_text="YYYY-MM-DD"
    )
    forecast_category = serializers.CharField(
        required=False, max_length=20, help_text="pipeline, best_case, commit or omitted"
    )
    next_step = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    description = serializers.CharField(required=False, allow_blank=True)
    lines = LineInputSerializer(
        many=True,
        required=False,
        help_text="Products; given, they replace every line and their net total is the amount.",
    )


class OpportunityCreateSerializer(_OpportunityInput):
    name = serializers.CharField(allow_blank=True, max_length=1000)
    account = RestrictedRelatedField(Account)
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(), required=False, help_text="Default: the default one."
    )
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.all(), required=False, help_text="Default: its first open stage."
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, help_text="Default: you."
    )
    source_lead = RestrictedRelatedField(Lead, required=False, allow_null=True)


class OpportunityMoveSerializer(StrictInputSerializer):
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all())
    lost_reason = serializers.PrimaryKeyRelatedField(
        queryset=LostReason.objects.all(), required=False, allow_null=True
    )
    lost_note = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    values = _OpportunityInput(
        required=False, help_text="Fields to set with the move (what the stage requires)."
    )


class OpportunityAssignSerializer(StrictInputSerializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))


class OpportunityReorderSerializer(StrictInputSerializer):
    after = serializers.IntegerField(
        required=False, allow_null=True, help_text="The card above it; null: the top."
    )
    before = serializers.IntegerField(required=False, allow_null=True, help_text="The card below.")


class StageVisitSerializer(serializers.Serializer):
    stage = StageRefSerializer(read_only=True)
    entered_at = serializers.DateTimeField(read_only=True)
    left_at = serializers.DateTimeField(read_only=True, allow_null=True)
    seconds = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Time in the stage (so far, for the current)."
    )
    by = UserRefSerializer(read_only=True, allow_null=True)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    current = serializers.BooleanField(read_only=True)


class CardSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    account = AccountRefSerializer(read_only=True)
    owner = UserRefSerializer(read_only=True)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    currency = serializers.CharField(read_only=True)
    probability = serializers.IntegerField(read_only=True)
    expected_close_date = serializers.DateField(read_only=True, allow_null=True)
    stage_entered_at = serializers.DateTimeField(read_only=True, allow_null=True)
    stalled = serializers.BooleanField(read_only=True)


class ColumnSerializer(serializers.Serializer):
    stage = StageRefSerializer(read_only=True)
    count = serializers.IntegerField(read_only=True)
    amount = serializers.DecimalField(max_digits=20, decimal_places=2, read_only=True)
    cards = CardSerializer(many=True, read_only=True)
    more = serializers.BooleanField(read_only=True)
    next_after = serializers.CharField(
        read_only=True, help_text="Pass as ?stage=<id>&after=… for the column's next cards."
    )


class BoardSerializer(serializers.Serializer):
    pipeline = NamedRefSerializer(read_only=True)
    columns = ColumnSerializer(many=True, read_only=True)
    closing = StageRefSerializer(many=True, read_only=True)


class OpportunityFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search the name or the account"))
    status = django_filters.MultipleChoiceFilter(choices=OpportunityStatus.choices)
    forecast_category = django_filters.MultipleChoiceFilter(choices=ForecastCategory.choices)
    pipeline = IdFilter(field_name="pipeline_id")
    stage = IdFilter(field_name="stage_id")
    owner = IdFilter(field_name="owner_id")
    account = IdFilter(field_name="account_id")
    contact = IdFilter(field_name="contact_id")
    close_from = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="gte")
    close_to = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="lte")
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte")
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte")

    class Meta:
        model = Opportunity
        fields: list[str] = []

    def search(self, queryset, name, value):
        text = (value or "").strip()
        if not text:
            return queryset
        return queryset.filter(Q(name__icontains=text) | Q(account__name__icontains=text))


def _line_dicts(values: dict) -> dict:
    if "lines" in values and values["lines"] is not None:
        values["lines"] = [dict(line) for line in values["lines"]]
    return values


@extend_schema_view(
    list=extend_schema(
        responses={200: OpportunityOutputSerializer, **error_responses(400, 401, 403)},
        description="Opportunities the caller may see, newest first. Filters: pipeline, "
        "stage, status, owner, account, close_from/close_to, amount_min/amount_max, q.",
    ),
    retrieve=extend_schema(
        responses={200: OpportunityDetailSerializer, **error_responses(401, 403, 404)}
    ),
)
class OpportunityViewSet(GenericViewSet):
    """Sales opportunities."""

    object_type = Opportunity.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "create": Action.ADD,
        "partial_update": Action.CHANGE,
        "move": Action.CHANGE,
        "assign": Action.ASSIGN,
        "reorder": Action.CHANGE,
        "history": Action.VIEW,
        "board": Action.VIEW,
    }
    serializer_class = OpportunityOutputSerializer
    filterset_class = OpportunityFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["id", "expected_close_date", "amount", "created_at"]
    ordering = ["-id"]

    def get_queryset(self):
        return Opportunity.objects.restrict(self.request.user, Action.VIEW).select_related(
            "account", "contact", "owner", "pipeline", "stage"
        )

    def fetch(self, action_name: str, pk) -> Opportunity:
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            raise NotFound() from None
        found = Opportunity.objects.restrict(self.request.user, action_name).filter(pk=pk).first()
        if found is None:
            raise NotFound()
        return found

    def render(self, opportunity: Opportunity, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = (
            self.get_queryset().prefetch_related("lines").filter(pk=opportunity.pk).first()
            or opportunity
        )
        return Response(OpportunityDetailSerializer(fresh).data, status=status_code)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(OpportunityOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return self.render(self.fetch(Action.VIEW, pk))

    @extend_schema(
        request=OpportunityCreateSerializer,
        responses={201: OpportunityDetailSerializer, **error_responses(400, 401, 403, 415)},
        description="A new open opportunity: in the default pipeline's first open stage "
        "unless given, owned by the caller unless given.",
    )
    def create(self, request):
        values = _line_dicts(parse(OpportunityCreateSerializer, request))
        created = pipeline_services.opportunity_create(actor=request.user, **values)
        return self.render(created, status.HTTP_201_CREATED)

    @extend_schema(
        request=_OpportunityInput,
        responses={200: OpportunityDetailSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Change the opportunity's own fields; its stage moves with `move`, its "
        "owner with `assign`.",
    )
    def partial_update(self, request, pk=None):
        opportunity = self.fetch(Action.CHANGE, pk)
        values = _line_dicts(parse(_OpportunityInput, request, partial=True))
        pipeline_services.opportunity_update(actor=request.user, opportunity=opportunity, **values)
        return self.render(opportunity)

    @extend_schema(
        request=OpportunityMoveSerializer,
        responses={200: OpportunityDetailSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Move to another stage of its pipeline. The stage's required fields "
        "must have values (give them in `values`); a lost stage needs `lost_reason`. A "
        "refusal names every missing field and changes nothing.",
    )
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        opportunity = self.fetch(Action.CHANGE, pk)
        values = parse(OpportunityMoveSerializer, request)
        given = _line_dicts(dict(values.pop("values", None) or {}))
        pipeline_services.opportunity_move(
            actor=request.user, opportunity=opportunity, values=given, **values
        )
        return self.render(opportunity)

    @extend_schema(
        request=OpportunityAssignSerializer,
        responses={200: OpportunityDetailSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        opportunity = self.fetch(Action.ASSIGN, pk)
        values = parse(OpportunityAssignSerializer, request)
        pipeline_services.opportunity_assign(
            actor=request.user, opportunity=opportunity, owner=values["owner"]
        )
        return self.render(opportunity)

    @extend_schema(
        request=OpportunityReorderSerializer,
        responses={200: OpportunityDetailSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Place the card within its board column: below `after` (or above "
        "`before`); neither: at the top.",
    )
    @action(detail=True, methods=["post"])
    def reorder(self, request, pk=None):
        opportunity = self.fetch(Action.CHANGE, pk)
        values = parse(OpportunityReorderSerializer, request)
        neighbours = {}
        for name in ("after", "before"):
            if values.get(name) is not None:
                neighbour = (
                    Opportunity.objects.restrict(request.user, Action.VIEW)
                    .filter(pk=values[name])
                    .first()
                )
                if neighbour is None:
                    raise ValidationError(
                        {name: ValidationError(gettext("Choose a card you can see."), "invalid")}
                    )
                neighbours[name] = neighbour
        pipeline_services.opportunity_reorder(
            actor=request.user, opportunity=opportunity, **neighbours
        )
        return self.render(opportunity)

    @extend_schema(
        responses={200: StageVisitSerializer(many=True), **error_responses(401, 403, 404)},
        description="The stages it was in, oldest first, with the time spent in each.",
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request, pk=None):
        opportunity = self.fetch(Action.VIEW, pk)
        return Response(StageVisitSerializer(selectors.stage_history(opportunity), many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("pipeline", int, description="Default: the default pipeline."),
            OpenApiParameter("owner", int),
            OpenApiParameter("q", str),
            OpenApiParameter("stage", int, description="With `after`: one column's next cards."),
            OpenApiParameter("after", str),
        ],
        responses={200: BoardSerializer, **error_responses(400, 401, 403, 404)},
        description="The kanban board: open opportunities per stage in board order, each "
        "column with its count, amount and first cards.",
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def board(self, request):
        params = request.query_params
        owner = int(params["owner"]) if str(params.get("owner", "")).isdigit() else None
        q = params.get("q", "")
        if params.get("stage"):
            stage = (
                Stage.objects.filter(pk=params["stage"]).select_related("pipeline").first()
                if str(params["stage"]).isdigit()
                else None
            )
            after = selectors.parse_after(params.get("after", ""))
            if stage is None:
                raise NotFound()
            if after is None:
                raise ValidationError(
                    {"after": ValidationError(gettext("Give the column's cursor."), "invalid")}
                )
            column = selectors.column_more(request.user, stage, after=after, owner=owner, q=q)
            board = selectors.Board(pipeline=stage.pipeline, columns=[column], closing=[])
            return Response(BoardSerializer(board).data)
        pipeline_id = params.get("pipeline", "")
        if pipeline_id:
            pipeline = (
                Pipeline.objects.filter(pk=pipeline_id, is_active=True).first()
                if str(pipeline_id).isdigit()
                else None
            )
            if pipeline is None:
                raise NotFound()
        else:
            pipeline = pipeline_services.default_pipeline()
        board = selectors.board(request.user, pipeline, owner=owner, q=q)
        return Response(BoardSerializer(board).data)
