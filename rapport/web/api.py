"""REST API of jobs (the caller's own long-running work) and of global search."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from rapport.core import jobs
from rapport.core import search as search_index
from rapport.core.api import error_responses
from rapport.core.models import Job
from rapport.identity.api import APIView, GenericViewSet, SignedIn


class JobOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    state = serializers.CharField(read_only=True)
    percent = serializers.IntegerField(read_only=True)
    total = serializers.IntegerField(read_only=True)
    processed = serializers.IntegerField(read_only=True)
    succeeded = serializers.IntegerField(read_only=True)
    failed = serializers.IntegerField(read_only=True)
    errors = serializers.ListField(child=serializers.DictField(), read_only=True)
    result = serializers.DictField(read_only=True)
    is_finished = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)


class JobFilter(django_filters.FilterSet):
    class Meta:
        model = Job
        fields = ["state", "kind"]


@extend_schema_view(
    list=extend_schema(responses={200: JobOutputSerializer, **error_responses(400, 401)}),
    retrieve=extend_schema(responses={200: JobOutputSerializer, **error_responses(401, 404)}),
)
class JobViewSet(GenericViewSet):
    """The caller's own jobs (imports, exports, reports …): poll for progress, cancel."""

    permission_classes = [SignedIn]  # a user's own jobs only: the queryset is theirs
    serializer_class = JobOutputSerializer
    filterset_class = JobFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        if not self.request.user.is_authenticated:  # schema generation
            return Job.objects.none()
        return Job.objects.filter(created_by=self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=None, responses={200: JobOutputSerializer, **error_responses(401, 404)})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        job = jobs.job_cancel(actor=request.user, job=self.get_object())
        return Response(self.get_serializer(job).data)


# --- search ---------------------------------------------------------------------------------


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=200, allow_blank=True, trim_whitespace=True)
    type = serializers.MultipleChoiceField(choices=(), required=False)
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = search_index.registry.object_types()


class SearchHitSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    subtitle = serializers.CharField(
        read_only=True, help_text="Details, with the caller's field rules applied."
    )
    url = serializers.CharField(read_only=True, help_text="The record's page.")


class SearchGroupSerializer(serializers.Serializer):
    type = serializers.CharField(source="object_type", read_only=True)
    label = serializers.CharField(read_only=True)
    more = serializers.BooleanField(read_only=True, help_text="More matches than shown.")
    results = SearchHitSerializer(source="hits", many=True, read_only=True)


class SearchResultsSerializer(serializers.Serializer):
    query = serializers.CharField(read_only=True)
    fuzzy = serializers.BooleanField(
        read_only=True, help_text="Nothing matched as typed; these match close spellings."
    )
    groups = SearchGroupSerializer(many=True, read_only=True)


class SearchView(APIView):
    """Search every record type the caller may see (restricted, ranked, field rules applied)."""

    # Any signed-in user: each type's matches come from `restrict(user, "view")`, so a user
    # without a grant on a type simply finds nothing of it.
    permission_classes = [SignedIn]

    @extend_schema(
        operation_id="search",
        parameters=[
            OpenApiParameter(
                "q",
                str,
                required=True,
                description="Chinese (simplified or traditional), pinyin, initials, English "
                "word prefixes, or an exact phone number or e-mail address.",
            ),
            OpenApiParameter(
                "type",
                str,
                many=True,
                description="Only these object types (repeatable), e.g. customers.account.",
            ),
            OpenApiParameter("limit", int, description="Hits per type, 1–50 (default 10)."),
        ],
        responses={200: SearchResultsSerializer, **error_responses(400, 401)},
    )
    def get(self, request):
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        values = params.validated_data
        results = search_index.search(
            request.user, values["q"], types=values.get("type") or None, limit=values["limit"]
        )
        return Response(
            SearchResultsSerializer(
                {"query": values["q"], "fuzzy": results.fuzzy, "groups": results.groups}
            ).data
        )
