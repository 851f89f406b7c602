"""REST API of stock: warehouses, stock levels and movements. Reading needs `view` on
`sales.inventory`; receipts, stock counts and transfers `change`; warehouses `manage` —
all through `rapport.sales.services.inventory` (locked, validated, audited)."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core import search
from rapport.core.api import CursorPagination, StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity.api import GenericViewSet, GrantPermission, IdFilter
from rapport.identity.models import Action

from .catalogue_api import ProductRefSerializer
from .models import MovementKind, Product, StockLevel, StockMovement, Warehouse
from .models.common import QUANTITY
from .services import inventory as inventory_services

INVENTORY = Warehouse.security_type
MOVABLE = (MovementKind.RECEIPT, MovementKind.ADJUSTMENT, "transfer")


def _pk(value) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 0 < pk < 2**63:
        raise NotFound()
    return pk


# --- warehouses ------------------------------------------------------------------------------


class WarehouseRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)


class WarehouseOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    address = serializers.CharField(read_only=True)
    is_default = serializers.BooleanField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)


class WarehouseInputSerializer(StrictInputSerializer):
    code = serializers.CharField(required=False, allow_blank=True, max_length=60)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    address = serializers.CharField(required=False, allow_blank=True, max_length=600)
    is_default = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class WarehouseCreateSerializer(WarehouseInputSerializer):
    code = serializers.CharField(allow_blank=True, max_length=60)
    name = serializers.CharField(allow_blank=True, max_length=200)


class ByIdPagination(CursorPagination):
    ordering = ("id",)
    page_size = 100


@extend_schema_view(
    list=extend_schema(
        responses={200: WarehouseOutputSerializer, **error_responses(400, 401, 403)}
    ),
    retrieve=extend_schema(
        responses={200: WarehouseOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class WarehouseViewSet(GenericViewSet):
    """Warehouses; one is the default that orders ship from."""

    object_type = INVENTORY
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
    }
    serializer_class = WarehouseOutputSerializer
    queryset = Warehouse.objects.none()
    pagination_class = ByIdPagination

    def get_object(self) -> Warehouse:
        warehouse = Warehouse.objects.filter(pk=_pk(self.kwargs["pk"])).first()
        if warehouse is None:
            raise NotFound()
        return warehouse

    def list(self, request):
        page = self.paginate_queryset(Warehouse.objects.all())
        return self.get_paginated_response(WarehouseOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(WarehouseOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=WarehouseCreateSerializer,
        responses={201: WarehouseOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(WarehouseCreateSerializer, request)
        values.pop("is_active", None)
        warehouse = inventory_services.warehouse_create(actor=request.user, **values)
        return Response(WarehouseOutputSerializer(warehouse).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=WarehouseInputSerializer,
        responses={200: WarehouseOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        values = parse(WarehouseInputSerializer, request, partial=True)
        warehouse = inventory_services.warehouse_update(
            actor=request.user, warehouse=self.get_object(), **values
        )
        return Response(WarehouseOutputSerializer(warehouse).data)


# --- stock levels ----------------------------------------------------------------------------


class StockLevelOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    product = ProductRefSerializer(read_only=True)
    warehouse = WarehouseRefSerializer(read_only=True)
    on_hand = serializers.DecimalField(**QUANTITY, read_only=True)
    reserved = serializers.DecimalField(**QUANTITY, read_only=True)
    available = serializers.DecimalField(**QUANTITY, read_only=True)
    low_stock_threshold = serializers.DecimalField(
        source="product.low_stock_threshold", **QUANTITY, read_only=True, allow_null=True
    )
    is_low = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField(read_only=True)

    def get_is_low(self, level: StockLevel) -> bool:
        threshold = level.product.low_stock_threshold
        return threshold is not None and level.on_hand <= threshold


def _search_stock(queryset, name, value):
    value = (value or "").strip()
    if not value:
        return queryset
    products = search.filter_queryset(Product.objects.all(), value, also=Q(sku__istartswith=value))
    return queryset.filter(product__in=products.values("pk"))


def _low_only(queryset, name, value):
    if value is None:
        return queryset
    low = Q(product__low_stock_threshold__isnull=False) & Q(
        on_hand__lte=F("product__low_stock_threshold")
    )
    return queryset.filter(low) if value else queryset.exclude(low)


class StockLevelFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method=_search_stock, label=gettext_lazy("Search products"))
    product = IdFilter(field_name="product_id")
    warehouse = IdFilter(field_name="warehouse_id")
    low = django_filters.BooleanFilter(
        method=_low_only, label=gettext_lazy("At or below the low-stock threshold")
    )

    class Meta:
        model = StockLevel
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(
        responses={200: StockLevelOutputSerializer, **error_responses(400, 401, 403)},
        description="What each warehouse holds of each product; `?low=true` for levels at "
        "or below their product's threshold.",
    ),
    retrieve=extend_schema(
        responses={200: StockLevelOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class StockLevelViewSet(GenericViewSet):
    """Stock levels (read only: they change through movements)."""

    object_type = INVENTORY
    permission_classes = [GrantPermission]
    grant_actions = {"list": Action.VIEW, "retrieve": Action.VIEW}
    serializer_class = StockLevelOutputSerializer
    filterset_class = StockLevelFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["id", "on_hand", "reserved", "updated_at"]
    ordering = ["id"]

    def get_queryset(self):
        return StockLevel.objects.select_related("product", "warehouse")

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(StockLevelOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        level = self.get_queryset().filter(pk=_pk(pk)).first()
        if level is None:
            raise NotFound()
        return Response(StockLevelOutputSerializer(level).data)


# --- movements -------------------------------------------------------------------------------


class StockMovementOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.CharField(read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    product = ProductRefSerializer(read_only=True)
    warehouse = WarehouseRefSerializer(read_only=True)
    quantity = serializers.DecimalField(**QUANTITY, read_only=True)
    on_hand_after = serializers.DecimalField(**QUANTITY, read_only=True)
    order = serializers.IntegerField(source="order_id", read_only=True, allow_null=True)
    note = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    created_by = serializers.IntegerField(source="created_by_id", read_only=True, allow_null=True)


class StockMovementInputSerializer(StrictInputSerializer):
    kind = serializers.CharField(
        max_length=20,
        help_text="receipt (quantity), adjustment (counted, note required) or transfer "
        "(quantity, destination)",
    )
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    warehouse = serializers.PrimaryKeyRelatedField(queryset=Warehouse.objects.all())
    quantity = serializers.CharField(required=False, max_length=30)
    counted = serializers.CharField(required=False, max_length=30)
    destination = serializers.PrimaryKeyRelatedField(
        queryset=Warehouse.objects.all(), required=False
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=600)


def _of_kinds(queryset, name, value):
    kinds = [kind.strip() for kind in (value or "").split(",") if kind.strip()]
    return queryset.filter(kind__in=kinds) if kinds else queryset


class MovementFilter(django_filters.FilterSet):
    product = IdFilter(field_name="product_id")
    warehouse = IdFilter(field_name="warehouse_id")
    order = IdFilter(field_name="order_id")
    kind = django_filters.CharFilter(
        method=_of_kinds, label=gettext_lazy("Types, comma-separated (receipt,shipment)")
    )
    since = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    until = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")
    q = django_filters.CharFilter(method=_search_stock, label=gettext_lazy("Search products"))

    class Meta:
        model = StockMovement
        fields: list[str] = []


class MovementPagination(CursorPagination):
    ordering = ("-id",)


@extend_schema_view(
    list=extend_schema(
        responses={200: StockMovementOutputSerializer, **error_responses(400, 401, 403)},
        description="The stock's history, newest first.",
    ),
    retrieve=extend_schema(
        responses={200: StockMovementOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class StockMovementViewSet(GenericViewSet):
    """Stock movements: read the history; record a receipt, a stock count or a transfer."""

    object_type = INVENTORY
    permission_classes = [GrantPermission]
    grant_actions = {"list": Action.VIEW, "retrieve": Action.VIEW, "create": Action.CHANGE}
    serializer_class = StockMovementOutputSerializer
    filterset_class = MovementFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    pagination_class = MovementPagination

    def get_queryset(self):
        return StockMovement.objects.select_related("product", "warehouse")

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(StockMovementOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        movement = self.get_queryset().filter(pk=_pk(pk)).first()
        if movement is None:
            raise NotFound()
        return Response(StockMovementOutputSerializer(movement).data)

    @extend_schema(
        request=StockMovementInputSerializer,
        responses={
            201: StockMovementOutputSerializer(many=True),
            **error_responses(400, 401, 403, 415),
        },
        description="Returns the movements made: one (receipt, adjustment), two (transfer: "
        "out, in) or none (a count that matched the stock).",
    )
    def create(self, request):
        values = parse(StockMovementInputSerializer, request)
        kind, actor = values["kind"], request.user
        if kind not in MOVABLE:
            raise ValidationError(
                {
                    "kind": ValidationError(
                        gettext("Choose receipt, adjustment or transfer."), code="invalid_choice"
                    )
                }
            )
        note = values.get("note", "")
        if kind == MovementKind.RECEIPT:
            made = [
                inventory_services.stock_receive(
                    actor=actor,
                    warehouse=values["warehouse"],
                    product=values["product"],
                    quantity=values.get("quantity"),
                    note=note,
                )
            ]
        elif kind == MovementKind.ADJUSTMENT:
            movement = inventory_services.stock_adjust(
                actor=actor,
                warehouse=values["warehouse"],
                product=values["product"],
                counted=values.get("counted"),
                note=note,
            )
            made = [movement] if movement else []
        else:
            made = list(
                inventory_services.stock_transfer(
                    actor=actor,
                    product=values["product"],
                    source=values["warehouse"],
                    destination=values.get("destination"),
                    quantity=values.get("quantity"),
                    note=note,
                )
            )
        rows = self.get_queryset().filter(pk__in=[m.pk for m in made]).order_by("id")
        return Response(
            StockMovementOutputSerializer(rows, many=True).data, status=status.HTTP_201_CREATED
        )
