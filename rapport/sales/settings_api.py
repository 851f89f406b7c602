"""REST API of the sales settings: the letterhead and the sales defaults. Read by everyone
who works on quotes (the defaults fill their forms); changed with `manage` on sales settings
(validated and audited by `services.quotes.settings_update`)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.identity.api import GenericViewSet, GrantPermission
from rapport.identity.models import Action

from .config import get_settings
from .models import Quote, SalesSettings
from .services import quotes as quote_services


class SalesSettingsSerializer(serializers.Serializer):
    company_name = serializers.CharField(read_only=True)
    company_name_en = serializers.CharField(read_only=True)
    address = serializers.CharField(read_only=True)
    address_en = serializers.CharField(read_only=True)
    phone = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True)
    website = serializers.CharField(read_only=True)
    tax_number = serializers.CharField(read_only=True)
    bank_name = serializers.CharField(read_only=True)
    bank_account = serializers.CharField(read_only=True)
    has_logo = serializers.SerializerMethodField()
    default_currency = serializers.CharField(read_only=True)
    quote_valid_days = serializers.IntegerField(read_only=True)
    discount_approval_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, read_only=True
    )
    invoice_due_days = serializers.IntegerField(read_only=True)
    allow_backorders = serializers.BooleanField(read_only=True)
    quote_terms = serializers.CharField(read_only=True)
    quote_terms_en = serializers.CharField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_has_logo(self, current: SalesSettings) -> bool:
        return bool(current.logo)


class SalesSettingsInputSerializer(StrictInputSerializer):
    company_name = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    company_name_en = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    address = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    address_en = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    email = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    website = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    tax_number = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    bank_name = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    bank_account = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    logo = serializers.FileField(
        required=False, allow_null=True, help_text="PNG or JPEG up to 1 MB; null removes it."
    )
    default_currency = serializers.CharField(required=False, max_length=10)
    quote_valid_days = serializers.CharField(required=False, max_length=20)
    discount_approval_percent = serializers.CharField(required=False, max_length=40)
    invoice_due_days = serializers.CharField(required=False, max_length=20)
    allow_backorders = serializers.BooleanField(required=False)
    quote_terms = serializers.CharField(required=False, allow_blank=True)
    quote_terms_en = serializers.CharField(required=False, allow_blank=True)


class SalesSettingsViewSet(GenericViewSet):
    """The one row of sales settings."""

    object_type = SalesSettings.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "retrieve": (Quote.security_type, Action.VIEW),
        "partial_update": Action.MANAGE,
    }
    serializer_class = SalesSettingsSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    pagination_class = None

    @extend_schema(
        operation_id="sales_settings_retrieve",
        responses={200: SalesSettingsSerializer, **error_responses(401, 403)},
    )
    def retrieve(self, request):
        return Response(SalesSettingsSerializer(get_settings()).data)

    @extend_schema(
        operation_id="sales_settings_update",
        request=SalesSettingsInputSerializer,
        responses={200: SalesSettingsSerializer, **error_responses(400, 401, 403, 415)},
    )
    def partial_update(self, request):
        values = parse(SalesSettingsInputSerializer, request, partial=True)
        updated = quote_services.settings_update(actor=request.user, **values)
        return Response(SalesSettingsSerializer(updated).data)
