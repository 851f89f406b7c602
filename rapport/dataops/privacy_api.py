"""API of data-subject requests and retention policies: parse, call `privacy` /
`privacy_retention`, render. Reading requests needs view on `dataops.subjectrequest`,
everything else manage (the services check again, per request); retention needs manage on
`dataops.retention`. Anonymizing also needs delete on each contact (the customers service
checks it)."""

from __future__ import annotations

import django_filters
from django.db import transaction
from django.db.models import Q
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity.api.base import GenericViewSet, GrantPermission, UserRefSerializer
from rapport.identity.models import Action

from . import privacy, privacy_retention
from .api import JobRefSerializer
from .models import (
    MatchState,
    RetentionAction,
    RetentionPolicy,
    SubjectRequest,
    SubjectRequestChannel,
    SubjectRequestKind,
    SubjectRequestStatus,
)


class SubjectSerializer(serializers.Serializer):
    name = serializers.CharField(source="subject_name")
    phone = serializers.CharField(source="subject_phone")
    email = serializers.CharField(source="subject_email")
    id_number = serializers.CharField(source="subject_id_number")


class MatchedContactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    anonymized_at = serializers.DateTimeField(allow_null=True)


class RelatedSerializer(serializers.Serializer):
    interactions = serializers.IntegerField()
    tasks = serializers.IntegerField()
    participations = serializers.IntegerField()
    consents = serializers.IntegerField()
    attachments = serializers.IntegerField()
    audit_events = serializers.IntegerField()
    accounts = serializers.ListField(child=serializers.DictField())


class MatchSerializer(serializers.Serializer):
    contact = MatchedContactSerializer()
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text="phone, email, id_number, name"
    )
    state = serializers.ChoiceField(choices=MatchState.choices)
    anonymized_at = serializers.DateTimeField(allow_null=True)
    related = RelatedSerializer(help_text="What hangs off the contact.")


class SubjectRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=SubjectRequestKind.choices)
    channel = serializers.ChoiceField(choices=SubjectRequestChannel.choices)
    subject = SubjectSerializer(source="*", help_text="Who the person is (stored encrypted).")
    details = serializers.CharField()
    received_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    overdue = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=SubjectRequestStatus.choices)
    assignee = UserRefSerializer(allow_null=True)
    outcome_note = serializers.CharField()
    bundle = serializers.SerializerMethodField()
    erased_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_overdue(self, request) -> bool:
        return request.is_overdue(timezone.now())

    @extend_schema_field(JobRefSerializer(allow_null=True))
    def get_bundle(self, request) -> dict | None:
        job = request.bundle_job
        return {"id": job.pk, "state": job.state} if job is not None else None


class SubjectRequestDetailSerializer(SubjectRequestSerializer):
    matches = serializers.SerializerMethodField()

    @extend_schema_field(MatchSerializer(many=True))
    def get_matches(self, request) -> list[dict]:
        matches = list(request.matches.select_related("contact").order_by("id"))
        related = privacy.related_counts([match.contact_id for match in matches])
        return MatchSerializer(
            [
                {
                    "contact": match.contact,
                    "reasons": match.reasons,
                    "state": match.state,
                    "anonymized_at": match.anonymized_at,
                    "related": related[match.contact_id],
                }
                for match in matches
            ],
            many=True,
        ).data


class SubjectRequestCreateSerializer(StrictInputSerializer):
    kind = serializers.ChoiceField(choices=SubjectRequestKind.choices)
    channel = serializers.ChoiceField(
        choices=SubjectRequestChannel.choices, default=SubjectRequestChannel.EMAIL
    )
    subject_name = serializers.CharField(required=False, allow_blank=True, max_length=120)
    subject_phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    subject_email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    subject_id_number = serializers.CharField(required=False, allow_blank=True, max_length=30)
    details = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    received_at = serializers.DateTimeField(required=False, help_text="Default: now.")
    due_at = serializers.DateTimeField(
        required=False, help_text="Default: SUBJECT_REQUEST_DAYS (15) after it was received."
    )
    assignee = serializers.IntegerField(
        required=False, allow_null=True, help_text="Id of a user who may handle requests."
    )


class SubjectRequestUpdateSerializer(StrictInputSerializer):
    assignee = serializers.IntegerField(required=False, allow_null=True)
    due_at = serializers.DateTimeField(required=False)
    details = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class MatchDecisionSerializer(StrictInputSerializer):
    contacts = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=200,
        help_text="Ids of matched contacts.",
    )
    state = serializers.ChoiceField(choices=MatchState.choices)


class AnonymizeSerializer(StrictInputSerializer):
    confirm = serializers.BooleanField(help_text="Must be true: anonymization cannot be undone.")


class ErasureSerializer(serializers.Serializer):
    anonymized = serializers.ListField(child=serializers.IntegerField())
    already = serializers.ListField(
        child=serializers.IntegerField(), help_text="Anonymized before: nothing changed."
    )
    counts = serializers.DictField(child=serializers.IntegerField())


class CompleteSerializer(StrictInputSerializer):
    outcome_note = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class RejectSerializer(StrictInputSerializer):
    reason = serializers.CharField(max_length=5000)


class SubjectRequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[*SubjectRequestStatus.choices, ("open", "open"), ("overdue", "overdue")],
        method="by_status",
    )
    kind = django_filters.ChoiceFilter(choices=SubjectRequestKind.choices)
    mine = django_filters.BooleanFilter(method="assigned_to_me")

    class Meta:
        model = SubjectRequest
        fields = ["status", "kind"]

    def by_status(self, queryset, name, value):
        open_states = [SubjectRequestStatus.RECEIVED, SubjectRequestStatus.IN_PROGRESS]
        if value == "open":
            return queryset.filter(status__in=open_states)
        if value == "overdue":
            return queryset.filter(status__in=open_states, due_at__lt=timezone.now())
        return queryset.filter(status=value)

    def assigned_to_me(self, queryset, name, value):
        if value is None:
            return queryset
        mine = Q(assignee=self.request.user.pk)
        return queryset.filter(mine) if value else queryset.exclude(mine)


def _assignee(user_id):
    from rapport.identity.models import User

    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise ValidationError({"assignee": [_("No such user.")]})
    return user  # the service checks that they may handle requests


@extend_schema_view(
    list=extend_schema(
        responses={200: SubjectRequestSerializer(many=True), **error_responses(400, 401, 403)}
    ),
    retrieve=extend_schema(
        responses={200: SubjectRequestDetailSerializer, **error_responses(401, 403, 404)}
    ),
)
class SubjectRequestViewSet(GenericViewSet):
    """Data-subject requests (access, erasure, rectification, restriction): record one (the
    person is looked for at once), confirm the matched contacts, write the access bundle as
    a job and download it, anonymize the confirmed contacts, complete or reject. Lists
    filter by `status` (open, overdue, received, in_progress, completed, rejected), `kind`
    and `mine`; ordering by `due_at`, `received_at` or `id`."""

    object_type = SubjectRequest.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
        "find": Action.MANAGE,
        "decide": Action.MANAGE,
        "bundle": Action.MANAGE,
        "download": Action.MANAGE,
        "anonymize": Action.MANAGE,
        "complete": Action.MANAGE,
        "reject": Action.MANAGE,
    }
    serializer_class = SubjectRequestSerializer
    filterset_class = SubjectRequestFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["due_at", "received_at", "id"]

    def get_queryset(self):
        return privacy.requests_for(self.request.user).select_related("bundle_job")

    def _request(self, pk) -> SubjectRequest:
        found = self.get_queryset().filter(pk=pk).first()
        if found is None:
            raise NotFound()
        return found

    def _detail(self, pk, status_code: int = 200) -> Response:
        return Response(SubjectRequestDetailSerializer(self._request(pk)).data, status=status_code)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(SubjectRequestSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return self._detail(pk)

    @extend_schema(
        request=SubjectRequestCreateSerializer,
        responses={201: SubjectRequestDetailSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(SubjectRequestCreateSerializer, request)
        values["assignee"] = _assignee(values.get("assignee"))
        created = privacy.request_create(actor=request.user, **values)
        return self._detail(created.pk, 201)

    @extend_schema(
        request=SubjectRequestUpdateSerializer,
        responses={200: SubjectRequestDetailSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        values = parse(SubjectRequestUpdateSerializer, request)
        if "assignee" in values:
            values["assignee"] = _assignee(values["assignee"])
        privacy.request_update(actor=request.user, request=self._request(pk), **values)
        return self._detail(pk)

    @extend_schema(
        request=None,
        responses={200: SubjectRequestDetailSerializer, **error_responses(401, 403, 404)},
    )
    @action(detail=True, methods=["post"])
    def find(self, request, pk=None):
        """Look for the person again (new matches are added to confirm)."""
        privacy.request_find(actor=request.user, request=self._request(pk))
        return self._detail(pk)

    @extend_schema(
        request=MatchDecisionSerializer,
        responses={200: SubjectRequestDetailSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        """Confirm (or reject) matched contacts as the person."""
        values = parse(MatchDecisionSerializer, request)
        privacy.match_decide(actor=request.user, request=self._request(pk), **values)
        return self._detail(pk)

    @extend_schema(
        request=None, responses={202: JobRefSerializer, **error_responses(400, 401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def bundle(self, request, pk=None):
        """Write the access bundle as a job; poll /api/v1/jobs/{id}/, then download."""
        from . import tasks

        job = privacy.bundle_start(actor=request.user, request=self._request(pk))
        transaction.on_commit(lambda: tasks.privacy_bundle.delay(job.pk))
        return Response({"id": job.pk, "state": job.state}, status=202)

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            **error_responses(400, 401, 403, 404),
        }
    )
    @action(detail=True, methods=["get"], url_path="bundle/download")
    def download(self, request, pk=None):
        """The finished bundle (a zip: JSON, a readable HTML page, attachments); audited."""
        path = privacy.bundle_file(actor=request.user, request=self._request(pk))
        return FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=f"subject-request-{pk}.zip",
            content_type="application/zip",
        )

    @extend_schema(
        request=AnonymizeSerializer,
        responses={200: ErasureSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    @action(detail=True, methods=["post"])
    def anonymize(self, request, pk=None):
        """Anonymize the confirmed contacts of an erasure request (cannot be undone; a
        second call changes nothing and says so in `already`)."""
        values = parse(AnonymizeSerializer, request)
        if not values["confirm"]:
            raise ValidationError({"confirm": [_("Confirm: this cannot be undone.")]})
        erasure = privacy.request_erase(actor=request.user, request=self._request(pk))
        return Response(
            ErasureSerializer(
                {
                    "anonymized": erasure.anonymized,
                    "already": erasure.already,
                    "counts": erasure.counts,
                }
            ).data
        )

    @extend_schema(
        request=CompleteSerializer,
        responses={200: SubjectRequestDetailSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        values = parse(CompleteSerializer, request)
        privacy.request_complete(actor=request.user, request=self._request(pk), **values)
        return self._detail(pk)

    @extend_schema(
        request=RejectSerializer,
        responses={200: SubjectRequestDetailSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        values = parse(RejectSerializer, request)
        privacy.request_reject(actor=request.user, request=self._request(pk), **values)
        return self._detail(pk)


# --- retention --------------------------------------------------------------------------------


class RetentionPolicySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    data_class = serializers.CharField()
    label = serializers.CharField(source="get_data_class_display")
    action = serializers.ChoiceField(choices=RetentionAction.choices)
    actions = serializers.SerializerMethodField(help_text="Actions this data class allows.")
    days = serializers.IntegerField()
    enabled = serializers.BooleanField()
    last_run_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()

    def get_actions(self, policy) -> list[str]:
        return list(privacy_retention.ACTIONS[policy.data_class])


class RetentionPolicyUpdateSerializer(StrictInputSerializer):
    days = serializers.IntegerField(
        required=False, min_value=privacy_retention.MIN_DAYS, max_value=privacy_retention.MAX_DAYS
    )
    action = serializers.ChoiceField(choices=RetentionAction.choices, required=False)
    enabled = serializers.BooleanField(required=False)


class PreviewSerializer(serializers.Serializer):
    policy = RetentionPolicySerializer()
    count = serializers.IntegerField(help_text="Records the policy would touch if it ran now.")


class RetentionRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    created_by = UserRefSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    counts = serializers.SerializerMethodField()
    errors = serializers.ListField(child=serializers.DictField())

    def get_counts(self, job) -> dict[str, int]:
        return dict((job.result or {}).get("counts") or (job.checkpoint or {}).get("counts") or {})


@extend_schema_view(
    list=extend_schema(
        responses={200: RetentionPolicySerializer(many=True), **error_responses(401, 403)}
    ),
    retrieve=extend_schema(
        responses={200: RetentionPolicySerializer, **error_responses(401, 403, 404)}
    ),
)
class RetentionPolicyViewSet(GenericViewSet):
    """Retention policies per data class (interactions, inactive contacts, withdrawn
    consents, export/import files, access bundles, closed requests): how many days, then
    what. `preview` counts what each would touch now (nothing changes); `run` applies the
    enabled ones as a job (also nightly); `runs` is the history with counts per class."""

    object_type = RetentionPolicy.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.MANAGE,
        "retrieve": Action.MANAGE,
        "partial_update": Action.MANAGE,
        "preview": Action.MANAGE,
        "run": Action.MANAGE,
        "runs": Action.MANAGE,
    }
    serializer_class = RetentionPolicySerializer
    pagination_class = None

    def get_queryset(self):
        return RetentionPolicy.objects.order_by("id")

    def get_object(self) -> RetentionPolicy:
        # policies have no owner or scope: the type-wide grant is the whole rule
        found = RetentionPolicy.objects.filter(pk=self.kwargs.get("pk")).first()
        if found is None:
            raise NotFound()
        return found

    def list(self, request):
        return Response(RetentionPolicySerializer(self.get_queryset(), many=True).data)

    def retrieve(self, request, pk=None):
        return Response(RetentionPolicySerializer(self.get_object()).data)

    @extend_schema(
        request=RetentionPolicyUpdateSerializer,
        responses={200: RetentionPolicySerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        values = parse(RetentionPolicyUpdateSerializer, request)
        policy = privacy_retention.policy_update(
            actor=request.user, policy=self.get_object(), **values
        )
        return Response(RetentionPolicySerializer(policy).data)

    @extend_schema(responses={200: PreviewSerializer(many=True), **error_responses(401, 403)})
    @action(detail=False, methods=["get"])
    def preview(self, request):
        """A dry run: how many records each policy would touch now."""
        rows = [{"policy": p, "count": n} for p, n in privacy_retention.preview()]
        return Response(PreviewSerializer(rows, many=True).data)

    @extend_schema(request=None, responses={202: JobRefSerializer, **error_responses(401, 403)})
    @action(detail=False, methods=["post"])
    def run(self, request):
        """Apply the enabled policies now, as a job (an unfinished run is resumed)."""
        from . import tasks

        job = privacy_retention.retention_start(actor=request.user)
        transaction.on_commit(lambda: tasks.retention.delay(job.pk))
        return Response({"id": job.pk, "state": job.state}, status=202)

    @extend_schema(responses={200: RetentionRunSerializer(many=True), **error_responses(401, 403)})
    @action(detail=False, methods=["get"])
    def runs(self, request):
        """The latest runs, newest first, with the records touched per data class."""
        return Response(RetentionRunSerializer(privacy_retention.runs(), many=True).data)
