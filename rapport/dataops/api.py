"""Data operations API: the duplicate check a client runs before it creates a record."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from rapport.core import duplicates, imports
from rapport.core.api import CursorPagination, StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity import policy
from rapport.identity.api.base import APIView, GenericViewSet, SignedIn

from . import exporting, importing, scan, selectors, services
from .models import DuplicatePair, ImportMode, ImportRun


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


# --- imports ---------------------------------------------------------------------------------


class ImportRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField(source="object_type")
    file_name = serializers.CharField()
    encoding = serializers.CharField()
    headers = serializers.ListField(child=serializers.CharField())
    row_count = serializers.IntegerField()
    mapping = serializers.DictField(
        child=serializers.CharField(), help_text='{"column number": "field"}'
    )
    mode = serializers.CharField()
    key = serializers.CharField()
    state = serializers.CharField()
    job = serializers.IntegerField(source="job_id", allow_null=True)
    dry_run = serializers.DictField(help_text="Counts and failures of the last dry run.")
    created_at = serializers.DateTimeField()


class ImportCreateSerializer(serializers.Serializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [kind.object_type for kind in imports.types()]

    type = serializers.ChoiceField(
        choices=[],
        help_text="What the rows are: customers.account, customers.contact, "
        "customers.interaction, sales.lead …",
    )
    file = serializers.FileField(help_text="CSV (UTF-8, UTF-16, GB18030/GBK) or XLSX.")


class ImportConfigureSerializer(StrictInputSerializer):
    mapping = serializers.DictField(child=serializers.CharField(allow_blank=True))
    mode = serializers.ChoiceField(choices=ImportMode.choices, default=ImportMode.CREATE)
    key = serializers.CharField(required=False, allow_blank=True, default="")


class ImportStartSerializer(StrictInputSerializer):
    dry_run = serializers.BooleanField(default=False)


class PreviewRowSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    cells = serializers.ListField(child=serializers.CharField(allow_blank=True))
    outcome = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ImportViewSet(GenericViewSet):
    """Imports of CSV/XLSX files: upload (header read, mapping suggested), configure,
    preview, run or dry-run as a job, failed rows, rollback. Each caller sees their own
    imports; importing needs the import grant on the record type."""

    permission_classes = [SignedIn]
    serializer_class = ImportRunSerializer
    parser_classes = [MultiPartParser, JSONParser]

    def get_queryset(self):
        if not self.request.user.is_authenticated:
            return ImportRun.objects.none()
        return ImportRun.objects.filter(created_by=self.request.user)

    def _run(self, pk) -> ImportRun:
        run = self.get_queryset().filter(pk=pk).first()
        if run is None:
            raise NotFound()
        return run

    @extend_schema(responses={200: ImportRunSerializer(many=True), **error_responses(400, 401)})
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ImportRunSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": ImportCreateSerializer},
        responses={201: ImportRunSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = ImportCreateSerializer(data=request.data)
        values.is_valid(raise_exception=True)
        run = importing.import_create(
            actor=request.user,
            object_type=values.validated_data["type"],
            upload=values.validated_data["file"],
        )
        return Response(ImportRunSerializer(run).data, status=201)

    @extend_schema(responses={200: ImportRunSerializer, **error_responses(401, 404)})
    def retrieve(self, request, pk=None):
        return Response(ImportRunSerializer(self._run(pk)).data)

    @extend_schema(
        request=ImportConfigureSerializer,
        responses={200: ImportRunSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    @action(detail=True, methods=["post"])
    def configure(self, request, pk=None):
        values = parse(ImportConfigureSerializer, request)
        run = importing.import_configure(actor=request.user, run=self._run(pk), **values)
        return Response(ImportRunSerializer(run).data)

    @extend_schema(responses={200: PreviewRowSerializer(many=True), **error_responses(401, 404)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def preview(self, request, pk=None):
        rows = importing.preview(request.user, self._run(pk))
        return Response(PreviewRowSerializer(rows, many=True).data)

    @extend_schema(
        request=ImportStartSerializer,
        responses={202: JobRefSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        from . import tasks

        values = parse(ImportStartSerializer, request)
        job = importing.import_start(
            actor=request.user, run=self._run(pk), dry_run=values["dry_run"]
        )
        transaction.on_commit(lambda: tasks.import_execute.delay(job.pk))
        return Response({"id": job.pk, "state": job.state}, status=202)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY, **error_responses(401, 404)})
    @action(detail=True, methods=["get"], url_path="failed-rows")
    def failed_rows(self, request, pk=None):
        run = self._run(pk)
        response = HttpResponse(importing.failed_rows(run), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="failed-rows-{run.pk}.csv"'
        return response

    @extend_schema(
        request=None, responses={200: ImportRunSerializer, **error_responses(400, 401, 404)}
    )
    @action(detail=True, methods=["post"])
    def rollback(self, request, pk=None):
        run = importing.import_rollback(actor=request.user, run=self._run(pk))
        return Response(ImportRunSerializer(run).data)


# --- exports ---------------------------------------------------------------------------------


class ExportInputSerializer(StrictInputSerializer):
    type = serializers.ChoiceField(choices=sorted(exporting.MODELS))
    format = serializers.ChoiceField(choices=exporting.FORMATS, default="csv")
    filter = serializers.CharField(
        required=False, allow_blank=True, help_text="Filter language, as in ?filter= of the list."
    )
    sort = serializers.CharField(required=False, allow_blank=True)
    columns = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Column keys; default: the list's default columns.",
    )
    params = serializers.DictField(
        required=False, help_text="Quick filters of the list page (tier, owner …)."
    )


class ExportView(APIView):
    """Export a list (its filter, sort and columns) to CSV or XLSX as a job; download the
    file from /api/v1/exports/{job}/download/ when the job has succeeded. Needs the export
    grant; restricted and field-masked like the list; audited."""

    permission_classes = [SignedIn]

    @extend_schema(
        operation_id="exports_create",
        request=ExportInputSerializer,
        responses={202: JobRefSerializer, **error_responses(400, 401, 403, 415)},
    )
    def post(self, request):
        from . import tasks

        values = parse(ExportInputSerializer, request)
        job = exporting.export_start(
            actor=request.user,
            object_type=values.pop("type"),
            file_format=values.pop("format"),
            state=values,
        )
        if not exporting.waiting(job):  # else it runs once its approval ends
            transaction.on_commit(lambda: tasks.export_execute.delay(job.pk))
        return Response({"id": job.pk, "state": job.state}, status=202)


class ExportDownloadView(APIView):
    """The finished export's file (its owner only; audited)."""

    permission_classes = [SignedIn]

    @extend_schema(
        operation_id="exports_download",
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            **error_responses(400, 401, 404),
        },
    )
    def get(self, request, pk: int):
        from django.http import FileResponse

        from rapport.core.models import Job

        job = Job.objects.filter(pk=pk).first()
        if job is None:
            raise NotFound()
        path = exporting.export_file(actor=request.user, job=job)
        return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)
