"""REST API of invoices, credit notes, payments and the receivables ageing: parse,
authorize, call the service, render.

`/api/v1/sales/invoices/` lists the invoices the caller may see (a rep their orders', finance
all); writes go through `rapport.sales.services.invoices` (`invoice_issue`,
`invoice_cancel`, `credit_note_create`, `payment_record`, `payment_reverse`).
`/api/v1/sales/payments/` lists payments of visible invoices; `/api/v1/sales/receivables/`
is the ageing. A record the caller may not see reads as not found.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response
from rest_framework.views import APIView

from rapport.core import trail
from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.customers.api import AccountRefSerializer
from rapport.identity.api import GenericViewSet, GrantPermission, IdFilter, UserRefSerializer
from rapport.identity.models import Action

from . import invoice_pdf
from .invoice_selectors import BUCKETS, receivables_ageing, with_balance
from .models import Invoice, InvoiceKind, InvoiceStatus, Payment, PaymentMethod
from .quote_api import QuoteLineOutputSerializer
from .services import invoices as invoice_services


def _money(**options) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True, **options)


def invoice_queryset(user):
    return with_balance(
        Invoice.objects.restrict(user, Action.VIEW).select_related("account", "owner", "order")
    )


class InvoiceLineOutputSerializer(QuoteLineOutputSerializer):
    order_line = serializers.IntegerField(source="order_line_id", read_only=True, allow_null=True)


class PaymentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    invoice = serializers.IntegerField(source="invoice_id", read_only=True)
    amount = _money()
    currency = serializers.CharField(read_only=True)
    received_on = serializers.DateField(read_only=True)
    method = serializers.ChoiceField(choices=PaymentMethod.choices, read_only=True)
    reference = serializers.CharField(read_only=True)
    note = serializers.CharField(read_only=True)
    recorded_by = UserRefSerializer(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    reversed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    reversed_reason = serializers.CharField(read_only=True)


class InvoiceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    kind = serializers.ChoiceField(choices=InvoiceKind.choices, read_only=True)
    status = serializers.ChoiceField(choices=InvoiceStatus.choices, read_only=True)
    order = serializers.IntegerField(source="order_id", read_only=True)
    account = AccountRefSerializer(read_only=True)
    credited_invoice = serializers.IntegerField(
        source="credited_invoice_id", read_only=True, allow_null=True
    )
    owner = UserRefSerializer(read_only=True)
    currency = serializers.CharField(read_only=True)
    issue_date = serializers.DateField(read_only=True, allow_null=True)
    due_date = serializers.DateField(read_only=True, allow_null=True)
    subtotal = _money()
    tax_total = _money()
    total = _money()
    paid_total = _money()
    credited = _money(help_text="What credit notes took back (invoices only).")
    owed = _money(help_text="Total less credit notes and payments (invoices only).")
    fapiao_number = serializers.CharField(read_only=True)
    notes = serializers.CharField(read_only=True)
    cancelled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)


class InvoiceDetailSerializer(InvoiceOutputSerializer):
    lines = InvoiceLineOutputSerializer(many=True, read_only=True)
    payments = PaymentOutputSerializer(many=True, read_only=True)


class CreditLineSerializer(StrictInputSerializer):
    invoice_line = serializers.IntegerField()
    quantity = serializers.CharField(max_length=40)


class CreditNoteSerializer(StrictInputSerializer):
    reason = serializers.CharField(allow_blank=True, max_length=1000)
    lines = CreditLineSerializer(many=True, required=False)
    amount = serializers.CharField(required=False, allow_blank=True, max_length=40)


class PaymentInputSerializer(StrictInputSerializer):
    amount = serializers.CharField(max_length=40, help_text='A decimal string, e.g. "100.00".')
    currency = serializers.CharField(max_length=10, help_text="The invoice's currency.")
    received_on = serializers.DateField()
    method = serializers.CharField(required=False, max_length=20)
    reference = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class InvoiceReasonSerializer(StrictInputSerializer):
    reason = serializers.CharField(allow_blank=True, max_length=1000)


class InvoiceFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label=gettext_lazy("Search the number, order, fapiao or customer")
    )
    status = django_filters.MultipleChoiceFilter(choices=InvoiceStatus.choices)
    kind = django_filters.ChoiceFilter(choices=InvoiceKind.choices)
    owner = IdFilter(field_name="owner_id")
    account = IdFilter(field_name="account_id")
    order = IdFilter(field_name="order_id")
    overdue = django_filters.BooleanFilter(method="filter_overdue")

    class Meta:
        model = Invoice
        fields: list[str] = []

    def search(self, queryset, name, value):
        text = (value or "").strip()
        if not text:
            return queryset
        return queryset.filter(
            Q(number__icontains=text)
            | Q(order__number__icontains=text)
            | Q(fapiao_number__icontains=text)
            | Q(account__name__icontains=text)
        )

    def filter_overdue(self, queryset, name, value):
        overdue = Q(
            kind=InvoiceKind.INVOICE,
            status__in=invoice_services.OPEN,
            due_date__lt=timezone.localdate(),
        )
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


_WRITE = error_responses(400, 401, 403, 404, 415)


@extend_schema_view(
    list=extend_schema(
        responses={200: InvoiceOutputSerializer, **error_responses(400, 401, 403)},
        description="Invoices and credit notes the caller may see, newest first.",
    ),
    retrieve=extend_schema(
        responses={200: InvoiceDetailSerializer, **error_responses(401, 403, 404)},
        description="An invoice with its lines and payments.",
    ),
)
class InvoiceViewSet(GenericViewSet):
    """Invoices and credit notes: issue, cancel a draft, credit, record payments."""

    object_type = Invoice.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "issue": Action.CHANGE,
        "cancel": Action.CHANGE,
        "credit_note": Action.ADD,
        "payments": Action.CHANGE,
        "pdf": Action.VIEW,
    }
    serializer_class = InvoiceOutputSerializer
    filterset_class = InvoiceFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["id", "total", "due_date", "issue_date"]
    ordering = ["-id"]

    def get_queryset(self):
        return invoice_queryset(self.request.user)

    def fetch(self, action_name: str, pk) -> Invoice:
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            raise NotFound() from None
        invoice = (
            Invoice.objects.restrict(self.request.user, action_name)
            .select_related("account", "owner", "order")
            .filter(pk=pk)
            .first()
        )
        if invoice is None:
            raise NotFound()
        return invoice

    def render(self, invoice: Invoice, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().filter(pk=invoice.pk).first() or invoice
        return Response(InvoiceDetailSerializer(fresh).data, status=status_code)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(InvoiceOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return self.render(self.fetch(Action.VIEW, pk))

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "language",
                OpenApiTypes.STR,
                enum=[*invoice_pdf.LANGUAGES],
                description="Default zh-hans.",
            )
        ],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="PDF"),
            **error_responses(401, 403, 404),
        },
        description="The invoice or credit note as a PDF with the company's letterhead: lines, "
        "VAT, totals, paid and still owed.",
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def pdf(self, request, pk=None):
        invoice = self.fetch(Action.VIEW, pk)
        content = invoice_pdf.render_invoice_pdf(
            invoice, request.query_params.get("language") or "zh-hans"
        )
        trail.record(actor=request.user, action="invoice.pdf", target=invoice)
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice_pdf.filename(invoice)}"'
        return response

    @extend_schema(
        request=None,
        responses={200: InvoiceDetailSerializer, **_WRITE},
        description="Draft → issued: dated today, due after the settings' days; counted on "
        "the order.",
    )
    @action(detail=True, methods=["post"])
    def issue(self, request, pk=None):
        invoice = self.fetch(Action.CHANGE, pk)
        return self.render(invoice_services.invoice_issue(actor=request.user, invoice=invoice))

    @extend_schema(
        request=InvoiceReasonSerializer(required=False),
        responses={200: InvoiceDetailSerializer, **_WRITE},
        description="Cancel a draft (an issued invoice is credited instead).",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        invoice = self.fetch(Action.CHANGE, pk)
        reason = str(request.data.get("reason", "")) if hasattr(request.data, "get") else ""
        return self.render(
            invoice_services.invoice_cancel(actor=request.user, invoice=invoice, reason=reason)
        )

    @extend_schema(
        request=CreditNoteSerializer,
        responses={201: InvoiceDetailSerializer, **_WRITE},
        description="A credit note against an issued invoice, by `lines` or an `amount`; "
        "never more than the invoice's total less earlier credits (a 400 naming the field).",
    )
    @action(detail=True, methods=["post"], url_path="credit-note")
    def credit_note(self, request, pk=None):
        invoice = self.fetch(Action.CHANGE, pk)
        values = parse(CreditNoteSerializer, request)
        note = invoice_services.credit_note_create(actor=request.user, invoice=invoice, **values)
        return self.render(note, status.HTTP_201_CREATED)

    @extend_schema(
        request=PaymentInputSerializer,
        responses={201: PaymentOutputSerializer, **_WRITE},
        description="Record money received: in the invoice's currency (else a 400 naming "
        "`currency`), never more than is owed (a 400 naming `amount`).",
    )
    @action(detail=True, methods=["post"])
    def payments(self, request, pk=None):
        invoice = self.fetch(Action.CHANGE, pk)
        values = parse(PaymentInputSerializer, request)
        payment = invoice_services.payment_record(actor=request.user, invoice=invoice, **values)
        payment = Payment.objects.select_related("recorded_by").get(pk=payment.pk)
        return Response(PaymentOutputSerializer(payment).data, status=status.HTTP_201_CREATED)


class PaymentFilter(django_filters.FilterSet):
    invoice = IdFilter(field_name="invoice_id")
    account = IdFilter(field_name="invoice__account_id")
    method = django_filters.ChoiceFilter(choices=PaymentMethod.choices)
    reversed = django_filters.BooleanFilter(
        field_name="reversed_at", lookup_expr="isnull", exclude=True
    )
    q = django_filters.CharFilter(method="search", label=gettext_lazy("Search the reference"))

    class Meta:
        model = Payment
        fields: list[str] = []

    def search(self, queryset, name, value):
        text = (value or "").strip()
        return (
            queryset.filter(Q(reference__icontains=text) | Q(invoice__number__icontains=text))
            if text
            else queryset
        )


@extend_schema_view(
    list=extend_schema(
        responses={200: PaymentOutputSerializer, **error_responses(400, 401, 403)},
        description="Payments against the invoices the caller may see, newest first.",
    ),
)
class PaymentViewSet(GenericViewSet):
    """Payments received; a mistaken one is reversed, never deleted."""

    object_type = Invoice.security_type
    permission_classes = [GrantPermission]
    grant_actions = {"list": Action.VIEW, "reverse": Action.CHANGE}
    serializer_class = PaymentOutputSerializer
    filterset_class = PaymentFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["id", "received_on", "amount"]
    ordering = ["-id"]

    def get_queryset(self):
        visible = Invoice.objects.restrict(self.request.user, Action.VIEW).values("pk")
        return Payment.objects.filter(invoice_id__in=visible).select_related("recorded_by")

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PaymentOutputSerializer(page, many=True).data)

    @extend_schema(
        request=InvoiceReasonSerializer,
        responses={200: PaymentOutputSerializer, **_WRITE},
        description="Reverse a payment (a reason is required): the invoice is owed it again.",
    )
    @action(detail=True, methods=["post"])
    def reverse(self, request, pk=None):
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            raise NotFound() from None
        changeable = Invoice.objects.restrict(request.user, Action.CHANGE).values("pk")
        payment = Payment.objects.filter(pk=pk, invoice_id__in=changeable).first()
        if payment is None:
            raise NotFound()
        values = parse(InvoiceReasonSerializer, request)
        payment = invoice_services.payment_reverse(actor=request.user, payment=payment, **values)
        payment = Payment.objects.select_related("recorded_by").get(pk=payment.pk)
        return Response(PaymentOutputSerializer(payment).data)


class AgeingRowSerializer(serializers.Serializer):
    account = serializers.IntegerField(source="account_id")
    account_name = serializers.CharField()
    currency = serializers.CharField()
    current = _money(source="buckets.current")
    days_1_30 = _money(source="buckets.days_1_30")
    days_31_60 = _money(source="buckets.days_31_60")
    days_61_90 = _money(source="buckets.days_61_90")
    days_over_90 = _money(source="buckets.days_over_90")
    total = _money()
    invoices = serializers.IntegerField()


class AgeingSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    buckets = serializers.ListField(child=serializers.CharField())
    rows = AgeingRowSerializer(many=True)


class ReceivablesView(APIView):
    """The receivables ageing: open invoices' balances per customer and currency, in
    buckets of days overdue (current, 1–30, 31–60, 61–90, over 90). One report, not a list
    (a viewset's `list` is documented as an array)."""

    object_type = Invoice.security_type
    permission_classes = [GrantPermission]

    @extend_schema(
        responses={200: AgeingSerializer, **error_responses(400, 401, 403)},
        description="Only invoices the caller may see; `?account=<id>` for one customer.",
    )
    def get(self, request):
        account = request.query_params.get("account", "")
        rows, _totals = receivables_ageing(
            request.user, account_id=int(account) if account.isdigit() else None
        )
        today = timezone.localdate()
        for row in rows:
            row.buckets = dict(row.buckets)
        data = {"as_of": today, "buckets": [key for key, _label in BUCKETS], "rows": rows}
        return Response(AgeingSerializer(data).data)
