"""REST API of leads, their pools and assignment rules: parse, authorize, call the service,
render.

`/api/v1/sales/leads/` lists the leads the caller may see — their own (and, by their grant,
their team's or department's) and the leads in the pools they may claim from. Writes go
through `rapport.sales.services.leads`; a lead the caller may not see reads as not found.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core import normalize
from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.customers.api import AccountRefSerializer, FieldRulesSerializer, RestrictedRelatedField
from rapport.customers.models import Account, Contact
from rapport.customers.validators import identifier_blind, normalize_email, normalize_phone
from rapport.identity.api import GenericViewSet, GrantPermission, IdFilter, UserRefSerializer
from rapport.identity.models import Action, Team, User

from .lead_selectors import lead_for, leads_visible
from .models.leads import (
    OPEN_LEAD_STATUSES,
    AssignmentMethod,
    Lead,
    LeadAssignmentRule,
    LeadFollowUp,
    LeadPool,
    LeadRating,
    LeadSource,
    LeadStatus,
)
from .services import leads as lead_services

LEAD = Lead.security_type


class LeadRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="__str__", read_only=True)


class LeadOutputSerializer(FieldRulesSerializer):
    object_type = LEAD

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    company = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    phone = serializers.CharField(required=False, help_text="E.164. Subject to field rules.")
    email = serializers.CharField(required=False, help_text="Subject to field rules.")
    source = serializers.CharField(read_only=True, help_text=", ".join(LeadSource.values))
    source_detail = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True, help_text=", ".join(LeadStatus.values))
    rating = serializers.CharField(read_only=True)
    industry = serializers.CharField(read_only=True)
    province = serializers.CharField(read_only=True)
    city = serializers.CharField(read_only=True)
    website = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    budget = serializers.DecimalField(
        max_digits=18, decimal_places=2, read_only=True, allow_null=True
    )
    currency = serializers.CharField(read_only=True)
    is_decision_maker = serializers.BooleanField(read_only=True, allow_null=True)
    need = serializers.CharField(read_only=True)
    expected_purchase_date = serializers.DateField(read_only=True, allow_null=True)
    owner = UserRefSerializer(read_only=True, allow_null=True)
    pool = LeadRefSerializer(read_only=True, allow_null=True)
    in_pool = serializers.BooleanField(read_only=True)
    assigned_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_follow_up_at = serializers.DateTimeField(read_only=True, allow_null=True)
    returned_count = serializers.IntegerField(read_only=True)
    disqualify_reason = serializers.CharField(read_only=True)
    converted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    converted_account = AccountRefSerializer(read_only=True, allow_null=True)
    converted_contact = LeadRefSerializer(read_only=True, allow_null=True)
    converted_opportunity = serializers.IntegerField(
        source="converted_opportunity_id", read_only=True, allow_null=True
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class _LeadInput(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    company = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    title = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=100)
    email = serializers.CharField(required=False, allow_blank=True, max_length=300)
    source = serializers.CharField(
        required=False, max_length=40, help_text=", ".join(LeadSource.values)
    )
    source_detail = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    rating = serializers.CharField(required=False, allow_blank=True, max_length=20)
    industry = serializers.CharField(required=False, allow_blank=True, max_length=100)
    province = serializers.CharField(required=False, allow_blank=True, max_length=100)
    city = serializers.CharField(required=False, allow_blank=True, max_length=100)
    website = serializers.CharField(required=False, allow_blank=True, max_length=300)
    description = serializers.CharField(required=False, allow_blank=True)
    budget = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=40)
    currency = serializers.CharField(required=False, max_length=3)
    is_decision_maker = serializers.BooleanField(required=False, allow_null=True)
    need = serializers.CharField(required=False, allow_blank=True)
    expected_purchase_date = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=40
    )


class LeadCreateSerializer(_LeadInput):
    name = serializers.CharField(allow_blank=True, max_length=1000)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Left out: the assignment rules decide. null: into the pool.",
    )
    pool = serializers.PrimaryKeyRelatedField(
        queryset=LeadPool.objects.filter(is_active=True), required=False, allow_null=True
    )


class LeadAssignSerializer(StrictInputSerializer):
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), allow_null=True, help_text="null: the pool."
    )
    pool = serializers.PrimaryKeyRelatedField(
        queryset=LeadPool.objects.filter(is_active=True), required=False, allow_null=True
    )


class LeadReleaseSerializer(StrictInputSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class LeadQualifySerializer(StrictInputSerializer):
    budget = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=40)
    currency = serializers.CharField(required=False, max_length=3)
    is_decision_maker = serializers.BooleanField(required=False, allow_null=True)
    need = serializers.CharField(required=False, allow_blank=True)
    expected_purchase_date = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=40
    )
    rating = serializers.CharField(required=False, allow_blank=True, max_length=20)


class LeadDisqualifySerializer(StrictInputSerializer):
    reason = serializers.CharField(allow_blank=True, max_length=1000)


class LeadStatusSerializer(StrictInputSerializer):
    status = serializers.CharField(max_length=20, help_text="new, working, qualified, disqualified")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class LeadConvertSerializer(StrictInputSerializer):
    account = RestrictedRelatedField(
        Account, required=False, allow_null=True, help_text="An existing account; else a new one."
    )
    contact = RestrictedRelatedField(
        Contact, required=False, allow_null=True, help_text="An existing contact; else a new one."
    )
    create_opportunity = serializers.BooleanField(required=False, default=True)
    opportunity_name = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=2, required=False, allow_null=True
    )
    pipeline = serializers.IntegerField(required=False, allow_null=True)


class LeadFollowUpOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.CharField(read_only=True, help_text=", ".join(LeadFollowUp.Kind.values))
    summary = serializers.CharField(read_only=True)
    occurred_at = serializers.DateTimeField(read_only=True)
    next_step = serializers.CharField(read_only=True)
    author = UserRefSerializer(read_only=True)


class LeadFollowUpInputSerializer(StrictInputSerializer):
    kind = serializers.CharField(required=False, max_length=20)
    summary = serializers.CharField(allow_blank=True)
    occurred_at = serializers.DateTimeField(required=False)
    next_step = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class LeadDuplicatesInputSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    company = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=100)
    email = serializers.CharField(required=False, allow_blank=True, max_length=300)
    exclude = serializers.IntegerField(required=False, help_text="A lead being edited.")


class LeadDuplicateOutputSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="lead, account or contact")
    id = serializers.IntegerField(source="record.pk")
    name = serializers.CharField(source="record.__str__")
    score = serializers.IntegerField()
    reasons = serializers.ListField(child=serializers.CharField())
    url = serializers.CharField()


def _search(leads, text: str, user=None):
    """The search index (name, company, title and place, in Chinese or pinyin; phone and
    e-mail exactly through the blind index), or the name or company containing the text, a
    phone or e-mail on the lead's own blind index, or its number."""
    from rapport.core import search

    text = normalize.text(text)
    if not text:
        return leads
    condition = Q(name__icontains=text) | Q(company__icontains=text)
    key = normalize.company_key(text)
    if key:
        condition |= Q(company_key__startswith=key)
    for kind, normalizer in (("phone", normalize_phone), ("email", normalize_email)):
        try:
            value = normalizer(text)
        except ValidationError:
            continue
        if value:
            condition |= Q(**{f"{kind}_blind": identifier_blind(kind, value)})
    if text.lstrip("#").isdigit():
        condition |= Q(pk=int(text.lstrip("#")))
    return search.filter_queryset(leads, text, also=condition, user=user)


class LeadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label=gettext_lazy("Name, company, phone or e-mail")
    )
    status = django_filters.MultipleChoiceFilter(choices=LeadStatus.choices)
    source = django_filters.MultipleChoiceFilter(choices=LeadSource.choices)
    rating = django_filters.MultipleChoiceFilter(choices=LeadRating.choices)
    owner = IdFilter(field_name="owner_id")
    pool = IdFilter(field_name="pool_id")
    in_pool = django_filters.BooleanFilter(
        field_name="owner", lookup_expr="isnull", label=gettext_lazy("In a pool (no owner)")
    )
    open = django_filters.BooleanFilter(method="only_open", label=gettext_lazy("Open leads only"))

    class Meta:
        model = Lead
        fields: list[str] = []

    def search(self, queryset, name, value):
        return _search(queryset, value, user=self.request.user)

    def only_open(self, queryset, name, value):
        if value is None:
            return queryset
        condition = Q(status__in=OPEN_LEAD_STATUSES)
        return queryset.filter(condition if value else ~condition)


@extend_schema_view(
    list=extend_schema(
        responses={200: LeadOutputSerializer, **error_responses(400, 401, 403)},
        description="Leads the caller may see, newest first: their own (and their team's or "
        "department's, by their grant) and the leads in the pools they may claim from "
        "(`?in_pool=true`).",
    ),
    retrieve=extend_schema(responses={200: LeadOutputSerializer, **error_responses(401, 403, 404)}),
)
class LeadViewSet(GenericViewSet):
    """Leads: capture, qualification, the pool, conversion."""

    object_type = LEAD
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "create": Action.ADD,
        "partial_update": Action.CHANGE,
        "destroy": Action.DELETE,
        "claim": Action.CHANGE,
        "release": Action.CHANGE,
        "assign": Action.ASSIGN,
        "qualify": Action.CHANGE,
        "disqualify": Action.CHANGE,
        "set_status": Action.CHANGE,
        "convert": Action.CHANGE,
        "follow_ups": Action.VIEW,
        "follow_up_add": Action.CHANGE,
        "duplicates": Action.VIEW,
    }
    serializer_class = LeadOutputSerializer
    filterset_class = LeadFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["id", "created_at", "last_follow_up_at"]
    ordering = ["-id"]

    def get_queryset(self):
        return leads_visible(self.request.user).select_related(
            "owner", "pool", "converted_account", "converted_contact"
        )

    def fetch(self, pk) -> Lead:
        return lead_for(self.request.user, pk)

    def render(self, lead: Lead, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().filter(pk=lead.pk).first() or lead
        return Response(
            LeadOutputSerializer(fresh, context={"request": self.request}).data, status=status_code
        )

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = LeadOutputSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)

    def retrieve(self, request, pk=None):
        return self.render(self.fetch(pk))

    @extend_schema(
        request=LeadCreateSerializer,
        responses={201: LeadOutputSerializer, **error_responses(400, 401, 403, 415)},
        description="A new lead. Without `owner` the assignment rules decide; `owner: null` "
        "puts it in the pool. Duplicates are not refused: check `duplicates` first.",
    )
    def create(self, request):
        values = parse(LeadCreateSerializer, request)
        values.setdefault("source", LeadSource.API)
        lead = lead_services.lead_create(actor=request.user, **values)
        if not leads_visible(request.user).filter(pk=lead.pk).exists():
            return Response(
                LeadOutputSerializer(lead, context={"request": request}).data,
                status=status.HTTP_201_CREATED,
            )
        return self.render(lead, status.HTTP_201_CREATED)

    @extend_schema(
        request=_LeadInput,
        responses={200: LeadOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Change the lead's own fields; owner, pool and status have their own "
        "endpoints.",
    )
    def partial_update(self, request, pk=None):
        lead = self.fetch(pk)
        values = parse(_LeadInput, request, partial=True)
        lead_services.lead_update(actor=request.user, lead=lead, **values)
        return self.render(lead)

    @extend_schema(
        request=None,
        responses={204: None, **error_responses(400, 401, 403, 404)},
        description="Delete a lead entered by mistake, with its follow-ups (audited). A "
        "converted lead cannot be deleted (400, code `converted`).",
    )
    def destroy(self, request, pk=None):
        lead_services.lead_delete(actor=request.user, lead=self.fetch(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={200: LeadOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Take the lead from its pool (within the pool's limits; of two claims "
        "of one lead, one wins and the other gets a 400 with code `taken`).",
    )
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        lead = self.fetch(pk)
        return self.render(lead_services.lead_claim(actor=request.user, lead=lead))

    @extend_schema(
        request=LeadReleaseSerializer,
        responses={200: LeadOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Give the lead back to its pool.",
    )
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        lead = self.fetch(pk)
        values = parse(LeadReleaseSerializer, request)
        return self.render(lead_services.lead_release(actor=request.user, lead=lead, **values))

    @extend_schema(
        request=LeadAssignSerializer,
        responses={200: LeadOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        lead = self.fetch(pk)
        values = parse(LeadAssignSerializer, request)
        return self.render(lead_services.lead_assign(actor=request.user, lead=lead, **values))

    @extend_schema(
        request=LeadQualifySerializer,
        responses={200: LeadOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Record the qualification (BANT and rating) and mark the lead qualified.",
    )
    @action(detail=True, methods=["post"])
    def qualify(self, request, pk=None):
        lead = self.fetch(pk)
        values = parse(LeadQualifySerializer, request)
        return self.render(lead_services.lead_qualify(actor=request.user, lead=lead, **values))

    @extend_schema(
        request=LeadDisqualifySerializer,
        responses={200: LeadOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    @action(detail=True, methods=["post"])
    def disqualify(self, request, pk=None):
        lead = self.fetch(pk)
        values = parse(LeadDisqualifySerializer, request)
        return self.render(lead_services.lead_disqualify(actor=request.user, lead=lead, **values))

    @extend_schema(
        request=LeadStatusSerializer,
        responses={200: LeadOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        lead = self.fetch(pk)
        values = parse(LeadStatusSerializer, request)
        return self.render(lead_services.lead_set_status(actor=request.user, lead=lead, **values))

    @extend_schema(
        request=LeadConvertSerializer,
        responses={200: LeadOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Convert in one transaction: the account and contact given (existing "
        "matches) or new ones, and an opportunity; any refusal stores nothing.",
    )
    @action(detail=True, methods=["post"])
    def convert(self, request, pk=None):
        lead = self.fetch(pk)
        values = parse(LeadConvertSerializer, request)
        pipeline_id = values.pop("pipeline", None)
        if pipeline_id is not None:
            from .models import Pipeline

            values["pipeline"] = Pipeline.objects.filter(pk=pipeline_id).first()
            if values["pipeline"] is None:
                raise ValidationError({"pipeline": ValidationError("Not found.", "invalid")})
        return self.render(lead_services.lead_convert(actor=request.user, lead=lead, **values))

    @extend_schema(
        responses={200: LeadFollowUpOutputSerializer(many=True), **error_responses(401, 403, 404)},
        description="The follow-ups, newest first.",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="follow-ups",
        pagination_class=None,
        filter_backends=[],
    )
    def follow_ups(self, request, pk=None):
        lead = self.fetch(pk)
        rows = LeadFollowUp.objects.filter(lead=lead).select_related("author")
        return Response(LeadFollowUpOutputSerializer(rows, many=True).data)

    @extend_schema(
        request=LeadFollowUpInputSerializer,
        responses={201: LeadFollowUpOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    @follow_ups.mapping.post
    def follow_up_add(self, request, pk=None):
        lead = self.fetch(pk)
        values = parse(LeadFollowUpInputSerializer, request)
        follow_up = lead_services.lead_follow_up_add(actor=request.user, lead=lead, **values)
        return Response(
            LeadFollowUpOutputSerializer(follow_up).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=LeadDuplicatesInputSerializer,
        responses={
            200: LeadDuplicateOutputSerializer(many=True),
            **error_responses(400, 401, 403, 415),
        },
        description="Leads, contacts and accounts the caller may see that look like this "
        "lead (same phone or e-mail, same company), best first — ask before creating.",
    )
    @action(detail=False, methods=["post"], pagination_class=None, filter_backends=[])
    def duplicates(self, request):
        values = parse(LeadDuplicatesInputSerializer, request)
        exclude = values.pop("exclude", None)
        found = lead_services.lead_duplicates(user=request.user, values=values, exclude_id=exclude)
        return Response(LeadDuplicateOutputSerializer(found, many=True).data)


# --- pools and rules ---------------------------------------------------------------------------


class LeadPoolOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    team = LeadRefSerializer(read_only=True, allow_null=True)
    max_held = serializers.IntegerField(read_only=True, allow_null=True)
    claims_per_day = serializers.IntegerField(read_only=True, allow_null=True)
    return_after_days = serializers.IntegerField(read_only=True, allow_null=True)
    is_default = serializers.BooleanField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)


class LeadPoolInputSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    max_held = serializers.IntegerField(required=False, allow_null=True)
    claims_per_day = serializers.IntegerField(required=False, allow_null=True)
    return_after_days = serializers.IntegerField(required=False, allow_null=True)
    is_default = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class _AdminViewSet(GenericViewSet):
    object_type = LeadPool.security_type
    ordering_fields = ["id", "name"]
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.MANAGE,
        "retrieve": Action.MANAGE,
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
    }
    model = LeadPool
    output = LeadPoolOutputSerializer

    def get_queryset(self):
        return self.model.objects.all()

    def fetch(self, pk):
        found = self.get_queryset().filter(pk=pk).first()
        if found is None:
            raise NotFound()
        return found

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.output(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(self.output(self.fetch(pk)).data)


@extend_schema_view(
    list=extend_schema(responses={200: LeadPoolOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(
        responses={200: LeadPoolOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class LeadPoolViewSet(_AdminViewSet):
    """Lead pools (公海): who claims from them, the limits, the return after days."""

    def get_queryset(self):
        return LeadPool.objects.select_related("team").order_by("-is_default", "name", "id")

    @extend_schema(
        request=LeadPoolInputSerializer,
        responses={201: LeadPoolOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        pool = lead_services.pool_create(
            actor=request.user, **parse(LeadPoolInputSerializer, request)
        )
        return Response(LeadPoolOutputSerializer(pool).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=LeadPoolInputSerializer,
        responses={200: LeadPoolOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        pool = self.fetch(pk)
        values = parse(LeadPoolInputSerializer, request, partial=True)
        return Response(
            LeadPoolOutputSerializer(
                lead_services.pool_update(actor=request.user, pool=pool, **values)
            ).data
        )


class LeadRuleOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    condition = serializers.JSONField(read_only=True)
    method = serializers.CharField(read_only=True, help_text=", ".join(AssignmentMethod.values))
    team = LeadRefSerializer(read_only=True, allow_null=True)
    user = UserRefSerializer(read_only=True, allow_null=True)
    pool = LeadRefSerializer(read_only=True, allow_null=True)
    is_active = serializers.BooleanField(read_only=True)


class LeadRuleInputSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    position = serializers.IntegerField(required=False)
    condition = serializers.JSONField(
        required=False, help_text='The filter language, as text (province = "广东省") or tree.'
    )
    method = serializers.CharField(required=False, max_length=20)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    pool = serializers.PrimaryKeyRelatedField(
        queryset=LeadPool.objects.all(), required=False, allow_null=True
    )
    is_active = serializers.BooleanField(required=False)


@extend_schema_view(
    list=extend_schema(responses={200: LeadRuleOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(
        responses={200: LeadRuleOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class LeadRuleViewSet(_AdminViewSet):
    """Lead assignment rules, in order: the first whose condition holds decides."""

    grant_actions = {**_AdminViewSet.grant_actions, "destroy": Action.MANAGE}
    model = LeadAssignmentRule
    output = LeadRuleOutputSerializer

    def get_queryset(self):
        return LeadAssignmentRule.objects.select_related("team", "user", "pool").order_by(
            "position", "id"
        )

    @extend_schema(
        request=LeadRuleInputSerializer,
        responses={201: LeadRuleOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        rule = lead_services.rule_create(
            actor=request.user, **parse(LeadRuleInputSerializer, request)
        )
        return Response(LeadRuleOutputSerializer(rule).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=LeadRuleInputSerializer,
        responses={200: LeadRuleOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        rule = self.fetch(pk)
        values = parse(LeadRuleInputSerializer, request, partial=True)
        rule = lead_services.rule_update(actor=request.user, rule=rule, **values)
        return Response(LeadRuleOutputSerializer(rule).data)

    @extend_schema(request=None, responses={204: None, **error_responses(401, 403, 404)})
    def destroy(self, request, pk=None):
        lead_services.rule_delete(actor=request.user, rule=self.fetch(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
