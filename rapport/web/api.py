"""REST API of jobs: the caller's own long-running work, its progress and cancellation."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from rapport.core import jobs
from rapport.core.api import error_responses
from rapport.core.models import Job
from rapport.identity.api import GenericViewSet, SignedIn


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
