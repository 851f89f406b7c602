"""REST API of approvals: processes (designed by who manages automation rules), requests
(submit, see, cancel), "my approvals" (the tasks waiting for me, decided here) and
delegations while away. Parse and render only: `approvals` checks, validates and audits."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from rapport.core.api import CursorPagination, StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity import policy
from rapport.identity.api import (
    GenericViewSet,
    GrantPermission,
    IdFilter,
    SignedIn,
    UserRefSerializer,
)
from rapport.identity.models import Action, User

from . import approval_selectors as selectors
from . import approvals, registry
from .models import (
    ApprovalDelegation,
    ApprovalMode,
    ApprovalProcess,
    ApprovalRequest,
    ApprovalState,
    ApprovalTask,
    ApprovalTaskState,
    ApproverKind,
    Rule,
)

# --- serializers ---------------------------------------------------------------------------


class StepOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    approver_kind = serializers.ChoiceField(choices=ApproverKind.choices, read_only=True)
    user = serializers.IntegerField(source="user_id", read_only=True, allow_null=True)
    role = serializers.IntegerField(source="role_id", read_only=True, allow_null=True)
    manager_levels = serializers.IntegerField(read_only=True)
    team = serializers.IntegerField(source="team_id", read_only=True, allow_null=True)
    mode = serializers.ChoiceField(choices=ApprovalMode.choices, read_only=True)
    remind_after_hours = serializers.IntegerField(read_only=True, allow_null=True)
    escalate_after_hours = serializers.IntegerField(read_only=True, allow_null=True)
    escalate_to = serializers.IntegerField(source="escalate_to_id", read_only=True, allow_null=True)


class ProcessOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    display_name = serializers.CharField(
        read_only=True, help_text="The name in the request's language."
    )
    object_type = serializers.CharField(read_only=True)
    condition = serializers.JSONField(read_only=True, help_text="A filter-language tree.")
    description = serializers.CharField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    version = serializers.IntegerField(read_only=True)
    lock_record = serializers.BooleanField(read_only=True)
    steps = StepOutputSerializer(many=True, read_only=True, source="steps.all")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class StepInputSerializer(StrictInputSerializer):
    number = serializers.IntegerField(
        required=False, help_text="Steps sharing a number run in parallel (default: its place)."
    )
    name = serializers.CharField(allow_blank=True, max_length=200)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    approver_kind = serializers.CharField(
        required=False, help_text="One of: " + ", ".join(ApproverKind.values) + "."
    )
    user = serializers.IntegerField(required=False, allow_null=True)
    role = serializers.IntegerField(required=False, allow_null=True)
    manager_levels = serializers.IntegerField(required=False)
    team = serializers.IntegerField(required=False, allow_null=True)
    mode = serializers.CharField(
        required=False, help_text="For a role or team: any (one of them) or all."
    )
    remind_after_hours = serializers.IntegerField(required=False, allow_null=True)
    escalate_after_hours = serializers.IntegerField(required=False, allow_null=True)
    escalate_to = serializers.IntegerField(required=False, allow_null=True)


class ProcessInputSerializer(StrictInputSerializer):
    name = serializers.CharField(allow_blank=True, max_length=200)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    object_type = serializers.CharField(
        max_length=60, help_text="The record type, e.g. customers.account."
    )
    condition = serializers.JSONField(
        required=False,
        help_text='The filter language, as text ("tier = A") or as a tree; empty: always.',
    )
    description = serializers.CharField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    position = serializers.IntegerField(required=False)
    lock_record = serializers.BooleanField(required=False)
    steps = StepInputSerializer(many=True)


class ProcessUpdateSerializer(ProcessInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    object_type = serializers.CharField(required=False, max_length=60)
    steps = StepInputSerializer(many=True, required=False, help_text="Replaces every step.")


class ProcessRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)


class TaskOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    request = serializers.IntegerField(source="request_id", read_only=True)
    step_number = serializers.IntegerField(read_only=True)
    step_name = serializers.CharField(read_only=True)
    approver = UserRefSerializer(read_only=True)
    delegated_from = UserRefSerializer(read_only=True, allow_null=True)
    escalated_from = serializers.IntegerField(
        source="escalated_from_id", read_only=True, allow_null=True
    )
    state = serializers.CharField(
        read_only=True, help_text="One of: " + ", ".join(ApprovalTaskState.values) + "."
    )
    comment = serializers.CharField(read_only=True)
    decided_by = UserRefSerializer(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    due_at = serializers.DateTimeField(read_only=True, allow_null=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    reminded_at = serializers.DateTimeField(read_only=True, allow_null=True)
    escalated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)


class RequestSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    process = ProcessRefSerializer(read_only=True)
    object_type = serializers.CharField(read_only=True)
    object_id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    submitted_by = UserRefSerializer(read_only=True)
    state = serializers.CharField(
        read_only=True, help_text="One of: " + ", ".join(ApprovalState.values) + "."
    )
    current_number = serializers.IntegerField(read_only=True, allow_null=True)
    comment = serializers.CharField(read_only=True)
    submitted_at = serializers.DateTimeField(read_only=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)


class RequestOutputSerializer(RequestSummarySerializer):
    process_version = serializers.IntegerField(read_only=True)
    lock_record = serializers.BooleanField(read_only=True)
    steps = serializers.JSONField(read_only=True, help_text="The steps as they were at submit.")
    payload = serializers.JSONField(read_only=True)
    tasks = TaskOutputSerializer(many=True, read_only=True, source="tasks.all")


class MyTaskOutputSerializer(TaskOutputSerializer):
    request = RequestSummarySerializer(read_only=True)


class SubmitSerializer(StrictInputSerializer):
    object_type = serializers.CharField(max_length=60, help_text="e.g. customers.account.")
    object_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    process = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="The process; omitted: the first active one whose condition holds.",
    )
    comment = serializers.CharField(required=False, allow_blank=True)


class CommentSerializer(StrictInputSerializer):
    comment = serializers.CharField(required=False, allow_blank=True)


class DecideSerializer(StrictInputSerializer):
    approve = serializers.BooleanField(help_text="true: approve; false: reject.")
    comment = serializers.CharField(
        required=False, allow_blank=True, help_text="Required when rejecting."
    )


class DelegationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    user = UserRefSerializer(read_only=True)
    delegate = UserRefSerializer(read_only=True)
    starts_on = serializers.DateField(read_only=True)
    ends_on = serializers.DateField(read_only=True)
    reason = serializers.CharField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class DelegationInputSerializer(StrictInputSerializer):
    delegate = serializers.IntegerField(help_text="Who decides while you are away.")
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    reason = serializers.CharField(required=False, allow_blank=True)
    user = serializers.IntegerField(
        required=False, help_text="Who is away (managers of processes only; default: you)."
    )


# --- helpers -------------------------------------------------------------------------------


def _user_or_400(pk, name: str) -> User:
    user = User.objects.filter(pk=pk).first()
    if user is None:
        raise ValidationError(
            {name: ValidationError(_("There is no user %(id)s.") % {"id": pk}, code="unknown")}
        )
    return user


def _process_or_404(pk) -> ApprovalProcess:
    process = ApprovalProcess.objects.filter(pk=pk).prefetch_related("steps").first()
    if process is None:
        raise NotFound()
    return process


class ProcessPagination(CursorPagination):
    ordering = ("object_type", "position", "id")
    page_size = 100


class RequestPagination(CursorPagination):
    ordering = ("-submitted_at", "-id")


class TaskPagination(CursorPagination):
    ordering = ("created_at", "id")


class ProcessFilter(django_filters.FilterSet):
    class Meta:
        model = ApprovalProcess
        fields = ["object_type", "is_active"]


class RequestFilter(django_filters.FilterSet):
    object_id = IdFilter()
    process = IdFilter(field_name="process_id")

    class Meta:
        model = ApprovalRequest
        fields = ["state", "object_type", "object_id", "process"]


# --- processes -----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses={200: ProcessOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(
        responses={200: ProcessOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class ApprovalProcessViewSet(GenericViewSet):
    """Approval processes: for records of a type meeting a condition, ordered steps (steps
    sharing a number run in parallel). Managed with `manage` on automation rules."""

    object_type = Rule.security_type
    permission_classes = [GrantPermission]
    grant_actions = dict.fromkeys(
        ("list", "retrieve", "create", "partial_update", "activate", "deactivate"),
        Action.MANAGE,
    )
    serializer_class = ProcessOutputSerializer
    filterset_class = ProcessFilter
    pagination_class = ProcessPagination
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        return ApprovalProcess.objects.prefetch_related("steps").order_by(
            "object_type", "position", "id"
        )

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ProcessOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(ProcessOutputSerializer(_process_or_404(pk)).data)

    @extend_schema(
        request=ProcessInputSerializer,
        responses={201: ProcessOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(ProcessInputSerializer, request)
        steps = [dict(step) for step in values.pop("steps")]
        process = approvals.process_create(actor=request.user, steps=steps, **values)
        return Response(
            ProcessOutputSerializer(_process_or_404(process.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=ProcessUpdateSerializer,
        responses={200: ProcessOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Change the process (a new version; pending requests keep their steps).",
    )
    def partial_update(self, request, pk=None):
        process = _process_or_404(pk)
        values = parse(ProcessUpdateSerializer, request, partial=True)
        if "steps" in values:
            values["steps"] = [dict(step) for step in values["steps"]]
        approvals.process_update(actor=request.user, process=process, **values)
        return Response(ProcessOutputSerializer(_process_or_404(pk)).data)

    @extend_schema(
        request=None,
        responses={200: ProcessOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        approvals.process_set_active(actor=request.user, process=_process_or_404(pk), active=True)
        return Response(ProcessOutputSerializer(_process_or_404(pk)).data)

    @extend_schema(
        request=None,
        responses={200: ProcessOutputSerializer, **error_responses(401, 403, 404)},
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        approvals.process_set_active(actor=request.user, process=_process_or_404(pk), active=False)
        return Response(ProcessOutputSerializer(_process_or_404(pk)).data)


# --- requests ------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses={200: RequestOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(
        responses={200: RequestOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class ApprovalRequestViewSet(GenericViewSet):
    """Approval requests the signed-in user may see: their own, those they approve (or decide
    for someone away), those about records they may view; managers of processes see all.
    Filter by record (object_type + object_id), state or process."""

    permission_classes = [SignedIn]
    serializer_class = RequestOutputSerializer
    filterset_class = RequestFilter
    pagination_class = RequestPagination
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        return selectors.requests_visible_to(self.request.user).prefetch_related(
            selectors.tasks_prefetch()
        )

    def _get(self, pk) -> ApprovalRequest:
        found = self.get_queryset().filter(pk=pk).first()
        if found is None:
            raise NotFound()
        return found

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(RequestOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(RequestOutputSerializer(self._get(pk)).data)

    @extend_schema(
        request=SubmitSerializer,
        responses={201: RequestOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Submit a record for approval (needs view and change of the record).",
    )
    def create(self, request):
        values = parse(SubmitSerializer, request)
        automatable = registry.get(values["object_type"])
        if automatable is None:
            raise ValidationError(
                {
                    "object_type": ValidationError(
                        _("“%(type)s” is not a record type approvals can be asked for.")
                        % {"type": values["object_type"]},
                        code="unknown_type",
                    )
                }
            )
        record = policy.get_for(request.user, Action.VIEW, automatable.model, values["object_id"])
        process = None
        if values.get("process") is not None:
            process = ApprovalProcess.objects.filter(pk=values["process"]).first()
            if process is None:
                raise NotFound()
        submitted = approvals.approval_submit(
            actor=request.user,
            object_type=values["object_type"],
            record=record,
            process=process,
            comment=values.get("comment", ""),
        )
        return Response(
            RequestOutputSerializer(self._get(submitted.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=CommentSerializer,
        responses={200: RequestOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Withdraw a pending request (its submitter or a manager of processes).",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        values = parse(CommentSerializer, request)
        approvals.approval_cancel(
            actor=request.user, request=self._get(pk), comment=values.get("comment", "")
        )
        return Response(RequestOutputSerializer(self._get(pk)).data)


# --- my approvals --------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        responses={200: MyTaskOutputSerializer, **error_responses(400, 401)},
        description="My approvals: the tasks waiting for me (also those of whoever delegated "
        "to me while away), oldest first.",
    ),
    retrieve=extend_schema(responses={200: MyTaskOutputSerializer, **error_responses(401, 404)}),
)
class ApprovalTaskViewSet(GenericViewSet):
    """The approvals waiting for the signed-in user, and deciding them."""

    permission_classes = [SignedIn]
    serializer_class = MyTaskOutputSerializer
    pagination_class = TaskPagination
    filter_backends: list = []

    def get_queryset(self):
        if not self.request.user.is_authenticated:  # schema generation
            return ApprovalTask.objects.none()
        return selectors.pending_tasks_for(self.request.user).select_related("decided_by")

    def _visible(self, pk) -> ApprovalTask:
        user = self.request.user
        task = (
            ApprovalTask.objects.select_related(
                "request",
                "request__process",
                "request__submitted_by",
                "approver",
                "delegated_from",
                "decided_by",
            )
            .filter(pk=pk, request__in=selectors.requests_visible_to(user))
            .first()
        )
        if task is None:
            raise NotFound()
        return task

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(MyTaskOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(MyTaskOutputSerializer(self._visible(pk)).data)

    @extend_schema(
        request=DecideSerializer,
        responses={200: RequestOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Approve or reject (a comment is required to reject). Answers the request "
        "as it stands after the decision.",
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        values = parse(DecideSerializer, request)
        task = self._visible(pk)
        approvals.approval_decide(
            actor=request.user,
            task=task,
            approve=values["approve"],
            comment=values.get("comment", ""),
            via="api",
        )
        decided = (
            selectors.requests_visible_to(request.user)
            .prefetch_related(selectors.tasks_prefetch())
            .get(pk=task.request_id)
        )
        return Response(RequestOutputSerializer(decided).data)


# --- delegations ---------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        responses={200: DelegationOutputSerializer, **error_responses(400, 401)},
        description="My delegations (managers of processes: everyone's).",
    ),
)
class ApprovalDelegationViewSet(GenericViewSet):
    """Who decides my approvals while I am away."""

    permission_classes = [SignedIn]
    serializer_class = DelegationOutputSerializer
    pagination_class = CursorPagination
    filter_backends: list = []

    def get_queryset(self):
        user = self.request.user
        if not user.is_authenticated:  # schema generation
            return ApprovalDelegation.objects.none()
        delegations = ApprovalDelegation.objects.select_related("user", "delegate")
        if not selectors.can_manage(user):
            delegations = delegations.filter(user=user)
        return delegations.order_by("-id")

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(DelegationOutputSerializer(page, many=True).data)

    @extend_schema(
        request=DelegationInputSerializer,
        responses={201: DelegationOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(DelegationInputSerializer, request)
        delegation = approvals.delegation_set(
            actor=request.user,
            delegate=_user_or_400(values["delegate"], "delegate"),
            starts_on=values["starts_on"],
            ends_on=values["ends_on"],
            reason=values.get("reason", ""),
            user=_user_or_400(values["user"], "user") if "user" in values else None,
        )
        return Response(DelegationOutputSerializer(delegation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={200: DelegationOutputSerializer, **error_responses(401, 403, 404)},
        description="End the delegation now.",
    )
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        delegation = self.get_queryset().filter(pk=pk).first()
        if delegation is None:
            raise NotFound()
        delegation = approvals.delegation_end(actor=request.user, delegation=delegation)
        return Response(DelegationOutputSerializer(delegation).data)
