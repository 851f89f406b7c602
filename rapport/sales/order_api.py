"""REST API of orders: parse, authorize, call the service, render.

`/api/v1/sales/orders/` lists the orders the caller may see (a rep their own, a manager
their department's, finance all); writes go through `rapport.sales.services.orders`
(`order_create`, `order_update`, `order_confirm`, `order_ship`, `order_complete`,
`order_cancel`) and `invoice_create_from_order`. An order the caller may not see reads as
not found.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
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
from rapport.identity.models import Action

from .invoice_api import InvoiceDetailSerializer, invoice_queryset
from .models import Opportunity, Order, OrderStatus, Warehouse
from .quote_api import LineInputSerializer, QuoteLineOutputSerializer
from .services import invoices as invoice_services
from .services import orders as order_services


def _money(**options) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True, **options)


def _quantity(**options) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=3, read_only=True, **options)


class OrderLineOutputSerializer(QuoteLineOutputSerializer):
    quantity_shipped = _quantity()
    quantity_invoiced = _quantity()


class OrderOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=OrderStatus.choices, read_only=True)
    account = AccountRefSerializer(read_only=True)
    contact = ContactRefSerializer(read_only=True, allow_null=True)
    opportunity = serializers.IntegerField(source="opportunity_id", read_only=True, allow_null=True)
    quote = serializers.IntegerField(source="quote_id", read_only=True, allow_null=True)
    warehouse = serializers.IntegerField(source="warehouse_id", read_only=True, allow_null=True)
    owner = UserRefSerializer(read_only=True)
    currency = serializers.CharField(read_only=True)
    order_date = serializers.DateField(read_only=True)
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2, read_only=True)
    subtotal = _money()
    discount_total = _money()
    tax_total = _money()
    total = _money()
    invoiced_total = _money(help_text="Issued invoices less credit notes.")
    shipping_address = serializers.CharField(read_only=True)
    customer_reference = serializers.CharField(read_only=True)
    notes = serializers.CharField(read_only=True)
    confirmed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    shipped_at = serializers.DateTimeField(read_only=True, allow_null=True)
    done_at = serializers.DateTimeField(read_only=True, allow_null=True)
    cancelled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    cancel_reason = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class OrderDetailSerializer(OrderOutputSerializer):
    lines = OrderLineOutputSerializer(many=True, read_only=True)


class _OrderInput(StrictInputSerializer):
    account = RestrictedRelatedField(Account, required=False)
    contact = RestrictedRelatedField(Contact, required=False, allow_null=True)
    opportunity = RestrictedRelatedField(Opportunity, required=False, allow_null=True)
    warehouse = serializers.PrimaryKeyRelatedField(
        queryset=Warehouse.objects.all(), required=False, allow_null=True
    )
    currency = serializers.CharField(required=False, max_length=10)
    discount_percent = serializers.CharField(required=False, max_length=40)
    order_date = serializers.DateField(required=False)
    shipping_address = serializers.CharField(required=False, allow_blank=True)
    customer_reference = serializers.CharField(required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    lines = LineInputSerializer(many=True, required=False, help_text="Replaces every line.")


class OrderCreateSerializer(_OrderInput):
    account = RestrictedRelatedField(Account)
    lines = LineInputSerializer(many=True)


class OrderCancelSerializer(StrictInputSerializer):
    reason = serializers.CharField(allow_blank=True, max_length=1000)


class InvoiceLineRequestSerializer(StrictInputSerializer):
    order_line = serializers.IntegerField()
    quantity = serializers.CharField(max_length=40)


class OrderInvoiceSerializer(StrictInputSerializer):
    lines = InvoiceLineRequestSerializer(
        many=True, required=False, help_text="Omitted: everything not yet invoiced."
    )
    notes = serializers.CharField(required=False, allow_blank=True)


class OrderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label=gettext_lazy("Search the number, PO number or customer")
    )
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    owner = IdFilter(field_name="owner_id")
    account = IdFilter(field_name="account_id")
    quote = IdFilter(field_name="quote_id")
    number = django_filters.CharFilter(field_name="number")

    class Meta:
        model = Order
        fields: list[str] = []

    def search(self, queryset, name, value):
        text = (value or "").strip()
        if not text:
            return queryset
        return queryset.filter(
            Q(number__icontains=text)
            | Q(customer_reference__icontains=text)
            | Q(account__name__icontains=text)
        )


_WRITE = error_responses(400, 401, 403, 404, 415)


@extend_schema_view(
    list=extend_schema(
        responses={200: OrderOutputSerializer, **error_responses(400, 401, 403)},
        description="Orders the caller may see, newest first.",
    ),
    retrieve=extend_schema(
        responses={200: OrderDetailSerializer, **error_responses(401, 403, 404)},
        description="An order with its lines (shipped and invoiced quantities).",
    ),
)
class OrderViewSet(GenericViewSet):
    """Sales orders: drafts, confirmation (stock reserved), shipment, completion, cancellation
    and invoicing."""

    object_type = Order.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "create": Action.ADD,
        "partial_update": Action.CHANGE,
        "confirm": Action.CHANGE,
        "ship": Action.CHANGE,
        "complete": Action.CHANGE,
        "cancel": Action.CHANGE,
        "invoice": Action.VIEW,  # and the add grant on invoices, checked by the service
    }
    serializer_class = OrderOutputSerializer
    filterset_class = OrderFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["id", "total", "order_date"]
    ordering = ["-id"]

    def get_queryset(self):
        return Order.objects.restrict(self.request.user, Action.VIEW).select_related(
            "account", "contact", "owner"
        )

    def fetch(self, action_name: str, pk) -> Order:
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            raise NotFound() from None
        order = (
            Order.objects.restrict(self.request.user, action_name)
            .select_related("account", "contact", "owner")
            .filter(pk=pk)
            .first()
        )
        if order is None:
            raise NotFound()
        return order

    def render(self, order: Order, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().filter(pk=order.pk).first() or order
        return Response(OrderDetailSerializer(fresh).data, status=status_code)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(OrderOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return self.render(self.fetch(Action.VIEW, pk))

    @extend_schema(
        request=OrderCreateSerializer,
        responses={201: OrderDetailSerializer, **error_responses(400, 401, 403, 415)},
        description="A new draft order; each bad line is named `lines.<n>.<field>`.",
    )
    def create(self, request):
        values = parse(OrderCreateSerializer, request)
        order = order_services.order_create(actor=request.user, **values)
        return self.render(order, status.HTTP_201_CREATED)

    @extend_schema(
        request=_OrderInput,
        responses={200: OrderDetailSerializer, **_WRITE},
        description="Change a draft (anything else is a 400 naming `status`); `lines` replaces "
        "every line.",
    )
    def partial_update(self, request, pk=None):
        order = self.fetch(Action.CHANGE, pk)
        values = parse(_OrderInput, request, partial=True)
        return self.render(order_services.order_update(actor=request.user, order=order, **values))

    @extend_schema(
        request=None,
        responses={200: OrderDetailSerializer, **_WRITE},
        description="Draft → confirmed: stock reserved (not enough stock is a 400 naming "
        "`lines.<n>.quantity`; the order stays a draft).",
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        order = self.fetch(Action.CHANGE, pk)
        return self.render(order_services.order_confirm(actor=request.user, order=order))

    @extend_schema(
        request=None,
        responses={200: OrderDetailSerializer, **_WRITE},
        description="Confirmed → shipped: the reservations leave the warehouse.",
    )
    @action(detail=True, methods=["post"])
    def ship(self, request, pk=None):
        order = self.fetch(Action.CHANGE, pk)
        return self.render(order_services.order_ship(actor=request.user, order=order))

    @extend_schema(
        request=None,
        responses={200: OrderDetailSerializer, **_WRITE},
        description="Shipped → done.",
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        order = self.fetch(Action.CHANGE, pk)
        return self.render(order_services.order_complete(actor=request.user, order=order))

    @extend_schema(
        request=OrderCancelSerializer,
        responses={200: OrderDetailSerializer, **_WRITE},
        description="Draft or confirmed → cancelled (a reason is required; reservations are "
        "released). An order with issued invoices not fully credited is refused.",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        order = self.fetch(Action.CHANGE, pk)
        values = parse(OrderCancelSerializer, request)
        return self.render(order_services.order_cancel(actor=request.user, order=order, **values))

    @extend_schema(
        request=OrderInvoiceSerializer,
        responses={201: InvoiceDetailSerializer, **_WRITE},
        description="A draft invoice for the given quantities per order line (omitted: "
        "everything not yet invoiced). Never more than is left — a 400 naming the line.",
    )
    @action(detail=True, methods=["post"])
    def invoice(self, request, pk=None):
        order = self.fetch(Action.VIEW, pk)
        values = parse(OrderInvoiceSerializer, request)
        invoice = invoice_services.invoice_create_from_order(
            actor=request.user, order=order, **values
        )
        fresh = invoice_queryset(request.user).get(pk=invoice.pk)
        return Response(InvoiceDetailSerializer(fresh).data, status=status.HTTP_201_CREATED)
