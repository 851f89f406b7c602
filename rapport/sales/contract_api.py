"""REST API of contracts: parse, authorize, call the service, render.

`/api/v1/sales/contracts/` lists the contracts the caller may see; writes go through
`rapport.sales.services.contracts` (`contract_create`, `contract_update`,
`contract_activate`, `contract_terminate`, `contract_renew`, `contract_files_add`). Files
are uploaded as multipart `files` and downloaded through the permission-checked page.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.customers.api import AccountRefSerializer, RestrictedRelatedField
from rapport.customers.models import Account
from rapport.identity.api import GenericViewSet, GrantPermission, IdFilter, UserRefSerializer
from rapport.identity.models import Action

from .models import Contract, ContractStatus, Opportunity, Order
from .services import contracts as contract_services


class ContractFileSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    sha256 = serializers.CharField(read_only=True)
    uploaded_at = serializers.DateTimeField(read_only=True)
    url = serializers.SerializerMethodField()

    def get_url(self, attachment) -> str:
        return reverse("sales:contract_file", args=[attachment.pk])


class ContractOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=ContractStatus.choices, read_only=True)
    account = AccountRefSerializer(read_only=True)
    opportunity = serializers.IntegerField(source="opportunity_id", read_only=True, allow_null=True)
    order = serializers.IntegerField(source="order_id", read_only=True, allow_null=True)
    renewal_of = serializers.IntegerField(source="renewal_of_id", read_only=True, allow_null=True)
    owner = UserRefSerializer(read_only=True)
    value = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    currency = serializers.CharField(read_only=True)
    signed_on = serializers.DateField(read_only=True, allow_null=True)
    start_date = serializers.DateField(read_only=True)
    end_date = serializers.DateField(read_only=True, allow_null=True)
    auto_renew = serializers.BooleanField(read_only=True)
    renewal_notice_days = serializers.IntegerField(read_only=True)
    renewal_reminded_at = serializers.DateTimeField(read_only=True, allow_null=True)
    terms = serializers.CharField(read_only=True)
    terminated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)


class ContractDetailSerializer(ContractOutputSerializer):
    files = serializers.SerializerMethodField()

    def get_files(self, contract) -> list[dict]:
        return ContractFileSerializer(contract.attachments.filter(is_active=True), many=True).data


class _ContractInput(StrictInputSerializer):
    title = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    account = RestrictedRelatedField(Account, required=False)
    opportunity = RestrictedRelatedField(Opportunity, required=False, allow_null=True)
    order = RestrictedRelatedField(Order, required=False, allow_null=True)
    value = serializers.CharField(required=False, max_length=40)
    currency = serializers.CharField(required=False, max_length=10)
    signed_on = serializers.DateField(required=False, allow_null=True)
    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False, allow_null=True)
    auto_renew = serializers.BooleanField(required=False)
    renewal_notice_days = serializers.IntegerField(required=False)
    terms = serializers.CharField(required=False, allow_blank=True)


class ContractCreateSerializer(_ContractInput):
    title = serializers.CharField(allow_blank=True, max_length=1000)
    account = RestrictedRelatedField(Account)
    start_date = serializers.DateField()


class ContractRenewSerializer(StrictInputSerializer):
    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False)
    value = serializers.CharField(required=False, max_length=40)


class ContractReasonSerializer(StrictInputSerializer):
    reason = serializers.CharField(allow_blank=True, max_length=1000)


class ContractFilesSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField())


class ContractFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label=gettext_lazy("Search the number, title or customer")
    )
    status = django_filters.MultipleChoiceFilter(choices=ContractStatus.choices)
    owner = IdFilter(field_name="owner_id")
    account = IdFilter(field_name="account_id")
    ends_before = django_filters.DateFilter(field_name="end_date", lookup_expr="lte")

    class Meta:
        model = Contract
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
        responses={200: ContractOutputSerializer, **error_responses(400, 401, 403)},
        description="Contracts the caller may see, newest first.",
    ),
    retrieve=extend_schema(
        responses={200: ContractDetailSerializer, **error_responses(401, 403, 404)},
        description="A contract with its files.",
    ),
)
class ContractViewSet(GenericViewSet):
    """Contracts: drafts, in force, renewal, termination, files."""

    object_type = Contract.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "create": Action.ADD,
        "partial_update": Action.CHANGE,
        "activate": Action.CHANGE,
        "terminate": Action.CHANGE,
        "renew": Action.ADD,
        "files": Action.CHANGE,
    }
    serializer_class = ContractOutputSerializer
    filterset_class = ContractFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["id", "end_date", "start_date", "value"]
    ordering = ["-id"]

    def get_queryset(self):
        return Contract.objects.restrict(self.request.user, Action.VIEW).select_related(
            "account", "owner"
        )

    def fetch(self, action_name: str, pk) -> Contract:
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            raise NotFound() from None
        contract = (
            Contract.objects.restrict(self.request.user, action_name)
            .select_related("account", "owner")
            .filter(pk=pk)
            .first()
        )
        if contract is None:
            raise NotFound()
        return contract

    def render(self, contract: Contract, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().filter(pk=contract.pk).first() or contract
        return Response(ContractDetailSerializer(fresh).data, status=status_code)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ContractOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return self.render(self.fetch(Action.VIEW, pk))

    @extend_schema(
        request=ContractCreateSerializer,
        responses={201: ContractDetailSerializer, **error_responses(400, 401, 403, 415)},
        description="A draft contract; an end date before the start is a 400 naming `end_date`.",
    )
    def create(self, request):
        values = parse(ContractCreateSerializer, request)
        contract = contract_services.contract_create(actor=request.user, **values)
        return self.render(contract, status.HTTP_201_CREATED)

    @extend_schema(
        request=_ContractInput,
        responses={200: ContractDetailSerializer, **_WRITE},
        description="Change a draft or in-force contract.",
    )
    def partial_update(self, request, pk=None):
        contract = self.fetch(Action.CHANGE, pk)
        values = parse(_ContractInput, request, partial=True)
        return self.render(
            contract_services.contract_update(actor=request.user, contract=contract, **values)
        )

    @extend_schema(
        request=None,
        responses={200: ContractDetailSerializer, **_WRITE},
        description="Draft → in force.",
    )
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        contract = self.fetch(Action.CHANGE, pk)
        return self.render(
            contract_services.contract_activate(actor=request.user, contract=contract)
        )

    @extend_schema(
        request=ContractReasonSerializer,
        responses={200: ContractDetailSerializer, **_WRITE},
        description="In force → terminated early (a reason is required).",
    )
    @action(detail=True, methods=["post"])
    def terminate(self, request, pk=None):
        contract = self.fetch(Action.CHANGE, pk)
        values = parse(ContractReasonSerializer, request)
        return self.render(
            contract_services.contract_terminate(actor=request.user, contract=contract, **values)
        )

    @extend_schema(
        request=ContractRenewSerializer,
        responses={201: ContractDetailSerializer, **_WRITE},
        description="A new contract in force continuing this one (linked by `renewal_of`); "
        "this one becomes renewed. Dates default to the next term of the same length.",
    )
    @action(detail=True, methods=["post"])
    def renew(self, request, pk=None):
        contract = self.fetch(Action.CHANGE, pk)
        values = parse(ContractRenewSerializer, request)
        renewal = contract_services.contract_renew(actor=request.user, contract=contract, **values)
        return self.render(renewal, status.HTTP_201_CREATED)

    @extend_schema(
        request={"multipart/form-data": ContractFilesSerializer},
        responses={201: ContractFileSerializer(many=True), **_WRITE},
        description="Attach files (multipart `files`), checked like every attachment: type "
        "and size; one bad file stores none.",
    )
    @action(
        detail=True,
        methods=["post"],
        parser_classes=[MultiPartParser],
        pagination_class=None,
        filter_backends=[],
    )
    def files(self, request, pk=None):
        contract = self.fetch(Action.CHANGE, pk)
        stored = contract_services.contract_files_add(
            actor=request.user, contract=contract, uploads=request.FILES.getlist("files")
        )
        return Response(
            ContractFileSerializer(stored, many=True).data, status=status.HTTP_201_CREATED
        )
