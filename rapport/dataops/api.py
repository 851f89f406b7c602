"""Data operations API: the duplicate check a client runs before it creates a record."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from rapport.core import duplicates
from rapport.core.api import CursorPagination, StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity import policy
from rapport.identity.api.base import APIView, GenericViewSet, SignedIn

from . import scan, selectors, services
from .models import DuplicatePair


class PairPagination(CursorPagination):
    ordering = ("-score", "id")
    page_size = 50


class JobRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()


class DuplicateCheckSerializer(StrictInputSerializer):
    type = serializers.CharField(help_text="customers.account or customers.contact")
    values = serializers.DictField(
        help_text="The record's fields as it would be created: name, credit_code, phone, city "
        "(accounts); name, phones, emails, id_number, accounts (contacts)."
    )
    exclude = serializers.IntegerField(
        required=False, help_text="A record to leave out (the one being edited)."
    )


class CandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    score = serializers.IntegerField(help_text="0–100; 80 and above is a likely duplicate.")
    reasons = serializers.ListField(child=serializers.CharField())


class DuplicateResultsSerializer(serializers.Serializer):
    type = serializers.CharField()
    results = CandidateSerializer(many=True)


class DuplicateCheckView(APIView):
    """Likely duplicates of a record before it is created: identifiers (credit code, phone,
    e-mail, ID number) and fuzzy names (folded script, suffixes and sound), among the
    records the caller may see."""

    # Any signed-in user: the candidates come from `restrict(user, "view")`, so a caller
    # without a grant on the type finds nothing.
    permission_classes = [SignedIn]

    @extend_schema(
        operation_id="duplicates_check",
        request=DuplicateCheckSerializer,
        responses={200: DuplicateResultsSerializer, **error_responses(400, 401, 415)},
    )
    def post(self, request):
        values = parse(DuplicateCheckSerializer, request)
        object_type = values["type"]
        if object_type not in duplicates.supported():
            raise ValidationError(
                {
                    "type": [
                        _("“%(type)s” has no duplicate check; use one of: %(types)s.")
                        % {"type": object_type, "types": ", ".join(duplicates.supported())}
                    ]
                }
            )
        found = duplicates.find(
            request.user, object_type, values["values"], exclude_id=values.get("exclude")
        )
        results = [
            {
                "id": candidate.record.pk,
                "title": str(candidate.record),
                "score": candidate.score,
                "reasons": candidate.reasons,
            }
            for candidate in found
        ]
        return Response(DuplicateResultsSerializer({"type": object_type, "results": results}).data)


# --- possible duplicates found by the scan --------------------------------------------------


class PairSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField(source="object_type")
    first = serializers.SerializerMethodField()
    second = serializers.SerializerMethodField()
    score = serializers.IntegerField()
    reasons = serializers.ListField(source="reason_texts", child=serializers.CharField())
    state = serializers.CharField()

    def _ref(self, record) -> dict:
        return {"id": record.pk, "title": str(record)} if record is not None else {}

    @extend_schema_field(
        {"type": "object", "properties": {"id": {"type": "integer"}, "title": {"type": "string"}}}
    )
    def get_first(self, pair) -> dict:
        return self._ref(pair.first)

    @extend_schema_field(
        {"type": "object", "properties": {"id": {"type": "integer"}, "title": {"type": "string"}}}
    )
    def get_second(self, pair) -> dict:
        return self._ref(pair.second)


class PairQuerySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=sorted(selectors.MODELS), default="customers.account")


class DuplicatePairViewSet(GenericViewSet):
    """Possible duplicates found by the scan, best first: both records visible to the caller
    and active; "not duplicates" needs change on both."""

    permission_classes = [SignedIn]
    serializer_class = PairSerializer
    pagination_class = PairPagination

    def get_queryset(self):
        return DuplicatePair.objects.none()

    @extend_schema(
        parameters=[PairQuerySerializer],
        responses={200: PairSerializer(many=True), **error_responses(400, 401)},
    )
    def list(self, request):
        params = PairQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        pairs = selectors.pairs_for(request.user, params.validated_data["type"])
        page = self.paginate_queryset(pairs)
        return self.get_paginated_response(
            PairSerializer(selectors.with_records(request.user, list(page)), many=True).data
        )

    @extend_schema(request=None, responses={200: PairSerializer, **error_responses(401, 403, 404)})
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        pair = DuplicatePair.objects.filter(pk=pk).first()
        if pair is None:
            raise NotFound()
        services.pair_dismiss(actor=request.user, pair=pair)
        (pair,) = selectors.with_records(request.user, [pair])
        return Response(PairSerializer(pair).data)


class ScanView(APIView):
    """Start (or resume) the duplicate scan as a job; poll it at /api/v1/jobs/{id}/."""

    # Signed in, and the manage grant on duplicate scans (checked below: a POST would
    # otherwise ask for "add").
    permission_classes = [SignedIn]

    @extend_schema(
        operation_id="duplicates_scan",
        request=None,
        responses={202: JobRefSerializer, **error_responses(401, 403)},
    )
    def post(self, request):
        from rest_framework.exceptions import PermissionDenied

        from . import tasks

        if not policy.has_grant(request.user, "dataops.duplicate", "manage"):
            raise PermissionDenied()
        job = scan.scan_start(actor=request.user)
        tasks.duplicate_scan.delay(job.pk)
        return Response({"id": job.pk, "state": job.state}, status=202)
