"""REST API of accounts and contacts: parse, authorize, call the service, render.

Reads start from `restrict(user, action)`; output applies the user's field rules (hidden
fields left out, masked fields masked); every write goes through `customers.services`.
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch, Q
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity import policy
from rapport.identity.api import GenericViewSet, GrantPermission, IdFilter, UserRefSerializer
from rapport.identity.models import Action, User

from . import services
from .models import Account, Contact
from .querysets import accounts_matching, with_owner


class RestrictedRelatedField(serializers.PrimaryKeyRelatedField):
    """A record id resolved among the records the requesting user may see.

    An id the user cannot see reads as "does not exist", so nothing leaks.
    """

    def __init__(self, model, **kwargs):
        self.model = model
        # Never used to look up (see get_queryset); it tells the schema the id's type.
        kwargs.setdefault("queryset", model.objects.none())
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return self.model.objects.restrict(user, Action.VIEW)


class FieldRulesSerializer(serializers.Serializer):
    """Output with the requesting user's field rules applied (never without a user)."""

    object_type = ""

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is None:
            raise RuntimeError("field rules need the request in the serializer context")
        return policy.apply_field_rules(request.user, self.object_type, data)


class AccountRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


def _rule_field(field_class, **kwargs):
    # Fields that can carry a field rule may be left out (hidden), so they are not required.
    return field_class(required=False, help_text="Subject to field rules.", **kwargs)


class AccountOutputSerializer(FieldRulesSerializer):
    object_type = Account.security_type

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    short_name = serializers.CharField(read_only=True)
    credit_code = _rule_field(serializers.CharField)
    industry = serializers.CharField(read_only=True)
    province = serializers.CharField(read_only=True)
    city = serializers.CharField(read_only=True)
    address = _rule_field(serializers.CharField)
    phone = _rule_field(serializers.CharField)
    website = _rule_field(serializers.CharField)
    tier = serializers.CharField(read_only=True)
    lifecycle_stage = serializers.CharField(read_only=True)
    parent = AccountRefSerializer(read_only=True, allow_null=True)
    owner = UserRefSerializer(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class AccountUpdateSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    short_name = serializers.CharField(required=False, allow_blank=True)
    credit_code = serializers.CharField(required=False, allow_blank=True)
    industry = serializers.CharField(required=False, allow_blank=True)
    province = serializers.CharField(required=False, allow_blank=True)
    city = serializers.CharField(required=False, allow_blank=True)
    address = serializers.CharField(required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True)
    website = serializers.CharField(required=False, allow_blank=True)
    tier = serializers.CharField(required=False)
    lifecycle_stage = serializers.CharField(required=False)
    parent = RestrictedRelatedField(Account, required=False, allow_null=True)


class AccountCreateSerializer(AccountUpdateSerializer):
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="Defaults to the caller.",
    )


class AssignSerializer(StrictInputSerializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())


def _search(fields: tuple[str, ...]):
    def search(queryset, name, value):
        value = (value or "").strip()
        if not value:
            return queryset
        condition = Q()
        for field in fields:
            condition |= Q(**{f"{field}__icontains": value})
        return queryset.filter(condition)

    return search


class AccountFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method=lambda accounts, _name, text: accounts_matching(accounts, text),
        label=gettext_lazy("Search name, short name or credit code"),
    )
    owner = IdFilter(field_name="owner_id")
    parent = IdFilter(field_name="parent_id")

    class Meta:
        model = Account
        fields = ["tier", "lifecycle_stage", "industry", "province", "city", "is_active"]


class RecordViewSet(GenericViewSet):
    """List, retrieve (audited), create, change, deactivate/reactivate and assign records."""

    permission_classes = [GrantPermission]
    grant_actions = {
        "deactivate": Action.DELETE,
        "reactivate": Action.CHANGE,
        "assign": Action.ASSIGN,
    }
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["name", "created_at", "updated_at", "id"]
    model: type[Account] | type[Contact]

    def restricted(self, action_name: str = Action.VIEW):
        return self.model.objects.restrict(self.request.user, action_name)

    def fetch(self, action_name: str, pk):
        """Fetch-and-authorize: 404 when the user may not see it, 403 when only seeing it."""
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            raise NotFound() from None
        return policy.get_for(self.request.user, action_name, self.model, pk)

    def render(self, record, status_code: int = status.HTTP_200_OK) -> Response:
        record = self.get_queryset().filter(pk=record.pk).first() or record
        return Response(self.get_serializer(record).data, status=status_code)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        record = self.get_object()
        services.record_viewed(actor=request.user, record=record)
        return Response(self.get_serializer(record).data)

    @extend_schema(
        request=AssignSerializer, responses={200: None, **error_responses(400, 401, 403, 404, 415)}
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        record = self.fetch(Action.ASSIGN, pk)
        values = parse(AssignSerializer, request)
        services.record_assign(actor=request.user, record=record, owner=values["owner"])
        return self.render(record)


@extend_schema_view(
    list=extend_schema(responses={200: AccountOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(
        responses={200: AccountOutputSerializer, **error_responses(401, 403, 404)},
        description="The account's details. Each read is recorded in the audit trail.",
    ),
    assign=extend_schema(
        request=AssignSerializer,
        responses={200: AccountOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Hand the account to another owner (needs the assign grant).",
    ),
)
class AccountViewSet(RecordViewSet):
    """Accounts (companies)."""

    object_type = Account.security_type
    model = Account
    serializer_class = AccountOutputSerializer
    filterset_class = AccountFilter

    def get_queryset(self):
        return with_owner(self.restricted()).select_related("parent")

    @extend_schema(
        request=AccountCreateSerializer,
        responses={201: AccountOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(AccountCreateSerializer, request)
        account = services.account_create(actor=request.user, **values)
        return self.render(account, status.HTTP_201_CREATED)

    @extend_schema(
        request=AccountUpdateSerializer,
        responses={200: AccountOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        account = self.fetch(Action.CHANGE, pk)
        values = parse(AccountUpdateSerializer, request, partial=True)
        services.account_update(actor=request.user, account=account, **values)
        return self.render(account)

    @extend_schema(
        request=None, responses={200: AccountOutputSerializer, **error_responses(401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        account = self.fetch(Action.DELETE, pk)
        services.account_deactivate(actor=request.user, account=account)
        return self.render(account)

    @extend_schema(
        request=None, responses={200: AccountOutputSerializer, **error_responses(401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        account = self.fetch(Action.CHANGE, pk)
        services.account_reactivate(actor=request.user, account=account)
        return self.render(account)


# --- contacts ------------------------------------------------------------------------------


class ContactOutputSerializer(FieldRulesSerializer):
    object_type = Contact.security_type

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    title = _rule_field(serializers.CharField)
    phones = _rule_field(serializers.ListField, child=serializers.CharField())
    emails = _rule_field(serializers.ListField, child=serializers.CharField())
    accounts = AccountRefSerializer(
        many=True, read_only=True, help_text="The linked accounts the caller can see."
    )
    owner = UserRefSerializer(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class ContactUpdateSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    title = serializers.CharField(required=False, allow_blank=True)
    phones = serializers.ListField(
        child=serializers.CharField(allow_blank=True), required=False, allow_empty=True
    )
    emails = serializers.ListField(
        child=serializers.CharField(allow_blank=True), required=False, allow_empty=True
    )
    accounts = RestrictedRelatedField(Account, many=True, required=False)


class ContactCreateSerializer(ContactUpdateSerializer):
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="Defaults to the caller.",
    )


class ContactFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method=_search(("name",)), label=gettext_lazy("Search name"))
    owner = IdFilter(field_name="owner_id")
    account = IdFilter(field_name="accounts", distinct=True)

    class Meta:
        model = Contact
        fields = ["is_active"]


@extend_schema_view(
    list=extend_schema(responses={200: ContactOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(
        responses={200: ContactOutputSerializer, **error_responses(401, 403, 404)},
        description="The contact's details. Each read is recorded in the audit trail.",
    ),
    assign=extend_schema(
        request=AssignSerializer,
        responses={200: ContactOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Hand the contact to another owner (needs the assign grant).",
    ),
)
class ContactViewSet(RecordViewSet):
    """Contacts (people)."""

    object_type = Contact.security_type
    model = Contact
    serializer_class = ContactOutputSerializer
    filterset_class = ContactFilter

    def get_queryset(self):
        visible_accounts = Account.objects.restrict(self.request.user, Action.VIEW).only(
            "id", "name"
        )
        return with_owner(self.restricted()).prefetch_related(
            Prefetch("accounts", queryset=visible_accounts)
        )

    @extend_schema(
        request=ContactCreateSerializer,
        responses={201: ContactOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(ContactCreateSerializer, request)
        contact = services.contact_create(actor=request.user, **values)
        return self.render(contact, status.HTTP_201_CREATED)

    @extend_schema(
        request=ContactUpdateSerializer,
        responses={200: ContactOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        contact = self.fetch(Action.CHANGE, pk)
        values = parse(ContactUpdateSerializer, request, partial=True)
        services.contact_update(actor=request.user, contact=contact, **values)
        return self.render(contact)

    @extend_schema(
        request=None, responses={200: ContactOutputSerializer, **error_responses(401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        contact = self.fetch(Action.DELETE, pk)
        services.contact_deactivate(actor=request.user, contact=contact)
        return self.render(contact)

    @extend_schema(
        request=None, responses={200: ContactOutputSerializer, **error_responses(401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        contact = self.fetch(Action.CHANGE, pk)
        services.contact_reactivate(actor=request.user, contact=contact)
        return self.render(contact)
