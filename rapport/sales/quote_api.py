"""REST API of quotes: parse, authorize, call the service, render.

`/api/v1/sales/quotes/` lists the quotes the caller may see (a rep their own, a manager
their department's); writes go through `rapport.sales.services.quotes` (`quote_create`,
`quote_update`, `quote_submit`, `quote_send`, `quote_accept`, `quote_decline`,
`quote_new_version`). A quote the caller may not see reads as not found.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.http import HttpResponse
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core import trail
from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.customers.api import AccountRefSerializer, RestrictedRelatedField
from rapport.customers.interaction_api import ContactRefSerializer
from rapport.customers.models import Account, Contact
from rapport.identity.api import GenericViewSet, GrantPermission, IdFilter, UserRefSerializer
from rapport.identity.models import Action

from . import quote_hooks, quote_pdf
from .models import Opportunity, PriceList, Quote, QuoteStatus
from .services import quotes as quote_services


class QuoteLineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    product = serializers.IntegerField(source="product_id", read_only=True, allow_null=True)
    description = serializers.CharField(read_only=True)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3, read_only=True)
    unit = serializers.CharField(read_only=True)
    unit_price = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2, read_only=True)
    tax_percent = serializers.DecimalField(max_digits=5, decimal_places=2, read_only=True)
    net_amount = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    tax_amount = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    total_amount = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)


def _money(**options) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True, **options)


def _percent(**options) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=5, decimal_places=2, read_only=True, **options)


class QuoteOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    version = serializers.IntegerField(read_only=True)
    previous = serializers.IntegerField(source="previous_id", read_only=True, allow_null=True)
    title = serializers.CharField(read_only=True)
    # a plain string (the values listed), not an enum: sales has many "status" fields and
    # their enums' names would collide in the schema
    status = serializers.CharField(read_only=True, help_text=", ".join(QuoteStatus.values))
    account = AccountRefSerializer(read_only=True)
    contact = ContactRefSerializer(read_only=True, allow_null=True)
    opportunity = serializers.IntegerField(source="opportunity_id", read_only=True, allow_null=True)
    price_list = serializers.IntegerField(source="price_list_id", read_only=True, allow_null=True)
    owner = UserRefSerializer(read_only=True)
    currency = serializers.CharField(read_only=True)
    language = serializers.CharField(read_only=True)
    issue_date = serializers.DateField(read_only=True, allow_null=True)
    valid_until = serializers.DateField(read_only=True, allow_null=True)
    discount_percent = _percent()
    subtotal = _money(help_text="The lines after their own discounts.")
    discount_total = _money(help_text="Every discount, lines' and overall.")
    effective_discount_percent = _percent(
        help_text="Every discount over the undiscounted price: what approval is about."
    )
    tax_total = _money()
    total = _money()
    terms = serializers.CharField(read_only=True)
    notes = serializers.CharField(read_only=True)
    approved_at = serializers.DateTimeField(read_only=True, allow_null=True)
    sent_at = serializers.DateTimeField(read_only=True, allow_null=True)
    accepted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    declined_reason = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class ApprovalTaskSerializer(serializers.Serializer):
    approver = serializers.CharField(read_only=True)
    state = serializers.CharField(read_only=True)
    comment = serializers.CharField(read_only=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)


class ApprovalSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    state = serializers.CharField(read_only=True)
    process = serializers.CharField(read_only=True)
    url = serializers.CharField(read_only=True)
    tasks = ApprovalTaskSerializer(many=True, read_only=True)


class QuoteDetailSerializer(QuoteOutputSerializer):
    lines = QuoteLineOutputSerializer(many=True, read_only=True)
    approval = ApprovalSerializer(
        read_only=True, allow_null=True, help_text="The latest approval request, if any."
    )
    rejection_comment = serializers.CharField(
        read_only=True, help_text="Why the last approval sent this draft back."
    )


class QuoteLineInputSerializer(StrictInputSerializer):
    product = serializers.IntegerField(required=False, allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    quantity = serializers.CharField(required=False, max_length=40)
    unit = serializers.CharField(required=False, allow_blank=True, max_length=40)
    unit_price = serializers.CharField(
        required=False, allow_blank=True, max_length=40, help_text="Blank: the catalogue price."
    )
    discount_percent = serializers.CharField(required=False, allow_blank=True, max_length=40)
    tax_percent = serializers.CharField(
        required=False, allow_blank=True, max_length=40, help_text="Blank: the product's rate."
    )


# the name the orders API imports (its lines have the same shape)
LineInputSerializer = QuoteLineInputSerializer


class _QuoteInput(StrictInputSerializer):
    title = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    account = RestrictedRelatedField(Account, required=False)
    contact = RestrictedRelatedField(Contact, required=False, allow_null=True)
    opportunity = RestrictedRelatedField(Opportunity, required=False, allow_null=True)
    price_list = serializers.PrimaryKeyRelatedField(
        queryset=PriceList.objects.all(), required=False, allow_null=True
    )
    currency = serializers.CharField(required=False, max_length=10)
    language = serializers.CharField(required=False, max_length=10, help_text="zh-hans or en")
    discount_percent = serializers.CharField(required=False, max_length=40)
    issue_date = serializers.DateField(required=False)
    valid_until = serializers.DateField(required=False, allow_null=True)
    terms = serializers.CharField(required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    lines = QuoteLineInputSerializer(many=True, required=False, help_text="Replaces every line.")


class QuoteCreateSerializer(_QuoteInput):
    account = RestrictedRelatedField(Account)
    lines = QuoteLineInputSerializer(many=True)


class SendSerializer(StrictInputSerializer):
    message = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class DeclineSerializer(StrictInputSerializer):
    reason = serializers.CharField(allow_blank=True, max_length=1000)


class QuoteFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label=gettext_lazy("Search the number, title or customer")
    )
    status = django_filters.MultipleChoiceFilter(choices=QuoteStatus.choices)
    owner = IdFilter(field_name="owner_id")
    account = IdFilter(field_name="account_id")
    opportunity = IdFilter(field_name="opportunity_id")
    number = django_filters.CharFilter(field_name="number")

    class Meta:
        model = Quote
        fields: list[str] = []

    def search(self, queryset, name, value):
        text = (value or "").strip()
        if not text:
            return queryset
        return queryset.filter(
            Q(number__icontains=text) | Q(title__icontains=text) | Q(account__name__icontains=text)
        )


_WRITE = error_responses(400, 401, 403, 404, 415)


@extend_schema_view(
    list=extend_schema(
        responses={200: QuoteOutputSerializer, **error_responses(400, 401, 403)},
        description="Quotes the caller may see, newest first.",
    ),
    retrieve=extend_schema(
        responses={200: QuoteDetailSerializer, **error_responses(401, 403, 404)},
        description="A quote with its lines and its latest approval request.",
    ),
)
class QuoteViewSet(GenericViewSet):
    """Quotes: drafts, approval above the discount threshold, sending, the customer's answer."""

    object_type = Quote.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "create": Action.ADD,
        "partial_update": Action.CHANGE,
        "submit": Action.CHANGE,
        "send": Action.CHANGE,
        "accept": Action.CHANGE,
        "decline": Action.CHANGE,
        "new_version": Action.ADD,
        "pdf": Action.VIEW,
    }
    serializer_class = QuoteOutputSerializer
    filterset_class = QuoteFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["id", "total", "valid_until", "issue_date"]
    ordering = ["-id"]

    def get_queryset(self):
        return Quote.objects.restrict(self.request.user, Action.VIEW).select_related(
            "account", "contact", "owner"
        )

    def fetch(self, action_name: str, pk) -> Quote:
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            raise NotFound() from None
        quote = (
            Quote.objects.restrict(self.request.user, action_name)
            .select_related("account", "contact", "owner")
            .filter(pk=pk)
            .first()
        )
        if quote is None:
            raise NotFound()
        return quote

    def render(self, quote: Quote, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().filter(pk=quote.pk).first() or quote
        fresh.approval = quote_hooks.approval_info(fresh)
        fresh.rejection_comment = quote_services.rejection_comment(fresh)
        data = QuoteDetailSerializer(fresh).data
        return Response(data, status=status_code)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(QuoteOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return self.render(self.fetch(Action.VIEW, pk))

    @extend_schema(
        request=QuoteCreateSerializer,
        responses={201: QuoteDetailSerializer, **error_responses(400, 401, 403, 415)},
        description="A new draft. A line without a unit price gets the catalogue price for "
        "the account; currency, validity and terms default from the sales settings.",
    )
    def create(self, request):
        values = parse(QuoteCreateSerializer, request)
        quote = quote_services.quote_create(actor=request.user, **values)
        return self.render(quote, status.HTTP_201_CREATED)

    @extend_schema(
        request=_QuoteInput,
        responses={200: QuoteDetailSerializer, **_WRITE},
        description="Change a draft (anything else is a 400 naming `status`); `lines` replaces "
        "every line.",
    )
    def partial_update(self, request, pk=None):
        quote = self.fetch(Action.CHANGE, pk)
        values = parse(_QuoteInput, request, partial=True)
        quote = quote_services.quote_update(actor=request.user, quote=quote, **values)
        return self.render(quote)

    @extend_schema(
        request=None,
        responses={200: QuoteDetailSerializer, **_WRITE},
        description="Make a draft ready to send: approved at once at or below the discount "
        "threshold, else waiting for the approval process (the submitter's manager).",
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        quote = self.fetch(Action.CHANGE, pk)
        return self.render(quote_services.quote_submit(actor=request.user, quote=quote))

    @extend_schema(
        request=SendSerializer,
        responses={200: QuoteDetailSerializer, **_WRITE},
        description="E-mail the approved quote's PDF to its contact (refused, naming "
        "`contact`, without an address or e-mail consent for service).",
    )
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        quote = self.fetch(Action.CHANGE, pk)
        values = parse(SendSerializer, request)
        return self.render(quote_services.quote_send(actor=request.user, quote=quote, **values))

    @extend_schema(
        request=None,
        responses={200: QuoteDetailSerializer, **_WRITE},
        description="The customer accepted: the order is created from the quote (once).",
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        quote = self.fetch(Action.CHANGE, pk)
        return self.render(quote_services.quote_accept(actor=request.user, quote=quote))

    @extend_schema(
        request=DeclineSerializer,
        responses={200: QuoteDetailSerializer, **_WRITE},
        description="The customer declined (a reason is required).",
    )
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        quote = self.fetch(Action.CHANGE, pk)
        values = parse(DeclineSerializer, request)
        return self.render(quote_services.quote_decline(actor=request.user, quote=quote, **values))

    @extend_schema(
        request=None,
        responses={201: QuoteDetailSerializer, **_WRITE},
        description="A copy as the next version (a draft); the older one is superseded when "
        "the new one is sent.",
    )
    @action(detail=True, methods=["post"], url_path="new-version")
    def new_version(self, request, pk=None):
        quote = self.fetch(Action.CHANGE, pk)
        copy = quote_services.quote_new_version(actor=request.user, quote=quote)
        return self.render(copy, status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="PDF"),
            **error_responses(401, 403, 404),
        },
        description="The quote as a PDF, in its language, with the company's letterhead.",
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def pdf(self, request, pk=None):
        quote = self.fetch(Action.VIEW, pk)
        content = quote_pdf.render_quote_pdf(quote)
        trail.record(actor=request.user, action="quote.pdf", target=quote)
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{quote_pdf.filename(quote)}"'
        return response
