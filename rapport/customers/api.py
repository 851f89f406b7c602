"""REST API of accounts and contacts: parse, authorize, call the service, render.

Reads start from `restrict(user, action)`; output applies the user's field rules (hidden
fields left out, masked fields masked); every write goes through `customers.services`.
"""

from __future__ import annotations

from functools import partial

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.customfields.api import CustomValuesField
from rapport.core.errors import NotFound
from rapport.core.tags.models import Tag
from rapport.core.tags.selectors import attach_tags, with_tags
from rapport.identity import policy
from rapport.identity.api import (
    GenericViewSet,
    GrantPermission,
    IdFilter,
    TagRefSerializer,
    UserRefSerializer,
)
from rapport.identity.models import Action, User

from . import options as account_options
from . import services
from .filtering import apply_filter
from .list_api import BulkAssignMixin, BulkStageMixin, SavedViewFilter
from .models import Account, Contact
from .querysets import accounts_matching, contacts_matching, contacts_with_identifier, with_owner


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
    tags = TagRefSerializer(many=True, read_only=True, source="tag_list")
    custom = CustomValuesField(Account.security_type, read_only=True)
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
    custom = CustomValuesField(Account.security_type, required=False)


class AccountCreateSerializer(AccountUpdateSerializer):
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="Defaults to the caller.",
    )


class RestoreSerializer(StrictInputSerializer):
    event = serializers.IntegerField(min_value=1, help_text="The audit event's seq.")
    field = serializers.CharField()


class AssignSerializer(StrictInputSerializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())


class TagIdsField(forms.Field):
    """Tag ids from a repeated query parameter (`?tag=3&tag=8`); each must name a tag."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        values = [str(item).strip() for item in (value or []) if str(item).strip()]
        if not all(item.isdigit() and len(item) <= 18 for item in values):
            raise forms.ValidationError(gettext_lazy("Tag ids are whole numbers."), code="invalid")
        return list(dict.fromkeys(int(item) for item in values))

    def validate(self, value: list[int]) -> None:
        super().validate(value)
        if value:
            known = set(Tag.objects.filter(pk__in=value).values_list("pk", flat=True))
            unknown = [str(pk) for pk in value if pk not in known]
            if unknown:
                raise forms.ValidationError(
                    gettext_lazy("There is no tag with id %(ids)s."),
                    code="does_not_exist",
                    params={"ids": ", ".join(unknown)},
                )


@extend_schema_field(
    {
        "type": "integer",
        "description": "Tag id: records with this tag or a tag below it. Repeat for several "
        "tags; an unknown id is a 400 naming `tag`.",
    }
)
class TagFilter(django_filters.MultipleChoiceFilter):
    """Records carrying the tag or a tag below it; repeat for several (see `tag_match`)."""

    field_class = TagIdsField

    def filter(self, queryset, value):
        if not value:
            return queryset
        mode = self.parent.form.cleaned_data.get("tag_match") or "any"
        return with_tags(queryset, value, mode=mode)


class TagMatchFilter(django_filters.ChoiceFilter):
    """How `tag` combines several tags; read by `TagFilter`, filters nothing itself."""

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", [("any", "any"), ("all", "all")])
        kwargs.setdefault(
            "label", gettext_lazy("With several tags: any of them (default) or all of them.")
        )
        super().__init__(**kwargs)

    def filter(self, queryset, value):
        return queryset


TAG_FILTER_LABEL = gettext_lazy(
    "Tag id: records with this tag or a tag below it. Repeat for several tags."
)


class FilterLanguageFilter(django_filters.CharFilter):
    """`?filter=` in the one filter language (see rapport.core.filterlang), e.g.
    `tier in (A, B) and updated_at < today-90`. A bad filter is a 400 naming what is wrong."""

    def __init__(self, object_type: str, **kwargs) -> None:
        self.object_type = object_type
        kwargs.setdefault(
            "label",
            gettext_lazy(
                "Filter language, e.g. tier in (A, B) and (province = 上海市 or tag = 3) "
                "and updated_at < today-90"
            ),
        )
        super().__init__(**kwargs)

    def filter(self, queryset, value):
        if not value or not value.strip():
            return queryset
        try:
            return apply_filter(queryset, self.parent.request.user, self.object_type, value)
        except DjangoValidationError as error:
            items = error.error_dict.get("filter", []) if hasattr(error, "error_dict") else [error]
            raise drf_exceptions.ValidationError(
                {
                    "filter": [
                        drf_exceptions.ErrorDetail(message, code=item.code or "invalid")
                        for item in items
                        for message in item.messages
                    ]
                }
            ) from error


def _option_choices(field: str) -> list[tuple[str, str]]:
    return [(item.code, item.display_label) for item in account_options.options(field)]


class AccountFilter(django_filters.FilterSet):
    filter = FilterLanguageFilter(Account.security_type)
    view = SavedViewFilter(Account.security_type)
    q = django_filters.CharFilter(
        method="filter_q",
        label=gettext_lazy("Search name, short name, credit code, city or phone"),
    )
    owner = IdFilter(field_name="owner_id")
    parent = IdFilter(field_name="parent_id")
    tag = TagFilter(label=TAG_FILTER_LABEL)
    tag_match = TagMatchFilter()
    # Configured options (retired ones too: accounts may carry them); see /account-options/.
    tier = django_filters.ChoiceFilter(choices=partial(_option_choices, "tier"))
    lifecycle_stage = django_filters.ChoiceFilter(
        choices=partial(_option_choices, "lifecycle_stage")
    )

    def filter_q(self, accounts, name, text):
        return accounts_matching(accounts, text, user=self.request.user)

    class Meta:
        model = Account
        fields = ["tier", "lifecycle_stage", "industry", "province", "city", "is_active"]


class RecordViewSet(BulkAssignMixin, GenericViewSet):
    """List, retrieve (audited), create, change, deactivate/reactivate and assign records."""

    permission_classes = [GrantPermission]
    grant_actions = {
        "deactivate": Action.DELETE,
        "reactivate": Action.CHANGE,
        "assign": Action.ASSIGN,
        "restore": Action.CHANGE,
        "bulk_assign": Action.ASSIGN,
        "bulk_stage": Action.CHANGE,
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
        attach_tags([record])
        return Response(self.get_serializer(record).data, status=status_code)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        attach_tags(page)  # one query for the page's tags
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        record = self.get_object()
        services.record_viewed(actor=request.user, record=record)
        attach_tags([record])
        return Response(self.get_serializer(record).data)

    @extend_schema(
        request=RestoreSerializer,
        responses={200: None, **error_responses(400, 401, 403, 404, 415)},
        description="Put back the value a field had before the change recorded in audit event "
        "`event` (its `seq`). An ordinary audited update that names the version it restored.",
    )
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        record = self.fetch(Action.CHANGE, pk)
        values = parse(RestoreSerializer, request)
        services.record_restore(
            actor=request.user, record=record, event_seq=values["event"], field=values["field"]
        )
        return self.render(record)

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
    restore=extend_schema(
        request=RestoreSerializer,
        responses={200: AccountOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Put back the value a field had before the change recorded in audit "
        "event `event` (its seq); an audited update naming the version it restored.",
    ),
    assign=extend_schema(
        request=AssignSerializer,
        responses={200: AccountOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Hand the account to another owner (needs the assign grant).",
    ),
)
class AccountViewSet(BulkStageMixin, RecordViewSet):
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
    id_number = _rule_field(serializers.CharField)
    custom = CustomValuesField(Contact.security_type, read_only=True)
    accounts = AccountRefSerializer(
        many=True, read_only=True, help_text="The linked accounts the caller can see."
    )
    tags = TagRefSerializer(many=True, read_only=True, source="tag_list")
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
    id_number = serializers.CharField(
        required=False, allow_blank=True, help_text="Resident identity card number; encrypted."
    )
    accounts = RestrictedRelatedField(Account, many=True, required=False)
    custom = CustomValuesField(Contact.security_type, required=False)


class ContactCreateSerializer(ContactUpdateSerializer):
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="Defaults to the caller.",
    )


class ContactFilter(django_filters.FilterSet):
    filter = FilterLanguageFilter(Contact.security_type)
    view = SavedViewFilter(Contact.security_type)
    q = django_filters.CharFilter(
        method="filter_q",
        label=gettext_lazy("Search name, job title, accounts, phone or e-mail"),
    )
    owner = IdFilter(field_name="owner_id")
    account = IdFilter(field_name="accounts", distinct=True)
    tag = TagFilter(label=TAG_FILTER_LABEL)
    tag_match = TagMatchFilter()
    phone = django_filters.CharFilter(
        method="filter_identifier", label=gettext_lazy("Exactly this phone, in any format")
    )
    email = django_filters.CharFilter(
        method="filter_identifier", label=gettext_lazy("Exactly this e-mail address")
    )
    id_number = django_filters.CharFilter(
        method="filter_identifier", label=gettext_lazy("Exactly this ID number")
    )

    def filter_q(self, contacts, name, text):
        return contacts_matching(contacts, text, user=self.request.user)

    class Meta:
        model = Contact
        fields = ["is_active"]

    def filter_identifier(self, contacts, name, value):
        try:
            return contacts_with_identifier(contacts, kind=name, value=value)
        except DjangoValidationError as error:
            raise drf_exceptions.ValidationError(
                {name: [drf_exceptions.ErrorDetail(m, code=error.code) for m in error.messages]}
            ) from error


@extend_schema_view(
    list=extend_schema(responses={200: ContactOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(
        responses={200: ContactOutputSerializer, **error_responses(401, 403, 404)},
        description="The contact's details. Each read is recorded in the audit trail.",
    ),
    restore=extend_schema(
        request=RestoreSerializer,
        responses={200: ContactOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Put back the value a field had before the change recorded in audit "
        "event `event` (its seq); an audited update naming the version it restored.",
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
