"""REST API of account requests."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core import locks
from rapport.core.api import StrictInputSerializer, error_responses, parse

from .. import policy, services
from ..models import AccountRequest, Action, Department, Role
from .base import (
    CodeRelatedField,
    DepartmentRefSerializer,
    GenericViewSet,
    GrantPermission,
    UserRefSerializer,
)


class AccountRequestOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    department = DepartmentRefSerializer(read_only=True, allow_null=True)
    roles = serializers.SerializerMethodField(help_text="Role codes.")

    def get_roles(self, record) -> list[str]:
        return [role.code for role in record.roles.all()]

    reason = serializers.CharField(read_only=True)
    state = serializers.CharField(read_only=True)
    requested_by = UserRefSerializer(read_only=True)
    decided_by = UserRefSerializer(read_only=True, allow_null=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    decision_note = serializers.CharField(read_only=True)
    created_user = UserRefSerializer(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    waiting_for_approval = serializers.SerializerMethodField(
        help_text="Why nobody decides it for now (an approval process for new accounts is "
        "deciding it), or empty."
    )

    def get_waiting_for_approval(self, record) -> str:
        waiting = self.context.get("waiting")
        if waiting is None:
            return locks.lock_reason(record) or ""
        return waiting.get(record.pk, "")


class AccountRequestCreateSerializer(StrictInputSerializer):
    username = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    display_name = serializers.CharField(allow_blank=True)
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True
    )
    roles = CodeRelatedField(
        slug_field="code", queryset=Role.objects.all(), many=True, required=False
    )
    reason = serializers.CharField(required=False, allow_blank=True)


class DecisionSerializer(StrictInputSerializer):
    note = serializers.CharField(required=False, allow_blank=True)


class AccountRequestFilter(django_filters.FilterSet):
    class Meta:
        model = AccountRequest
        fields = ["state"]


@extend_schema_view(
    list=extend_schema(
        responses={200: AccountRequestOutputSerializer, **error_responses(400, 401, 403)}
    ),
    retrieve=extend_schema(
        responses={200: AccountRequestOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class AccountRequestViewSet(GenericViewSet):
    """Managers request accounts for new colleagues; administrators approve or reject.

    Administrators (user manage) see every request; anyone else sees the requests they made.
    Who may request is the service's rule (user add grant, department manager or team lead).
    """

    object_type = "identity.user"
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": None,
        "retrieve": None,
        "create": None,
        "approve": Action.MANAGE,
        "reject": Action.MANAGE,
    }
    serializer_class = AccountRequestOutputSerializer
    filterset_class = AccountRequestFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["created_at", "id"]

    def get_queryset(self):
        if not self.request.user.is_authenticated:  # schema generation
            return AccountRequest.objects.none()
        requests = AccountRequest.objects.select_related(
            "department", "requested_by", "decided_by", "created_user"
        ).prefetch_related("roles")
        if not policy.has_grant(self.request.user, "identity.user", Action.MANAGE):
            requests = requests.filter(requested_by=self.request.user)
        return requests

    def _render(self, request_record: AccountRequest, status_code: int = 200) -> Response:
        return Response(
            AccountRequestOutputSerializer(self.get_queryset().get(pk=request_record.pk)).data,
            status=status_code,
        )

    def list(self, request):
        page = list(self.paginate_queryset(self.filter_queryset(self.get_queryset())))
        context = {"waiting": locks.lock_reasons(page)}
        return self.get_paginated_response(
            AccountRequestOutputSerializer(page, many=True, context=context).data
        )

    def retrieve(self, request, pk=None):
        return Response(AccountRequestOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=AccountRequestCreateSerializer,
        responses={201: AccountRequestOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(AccountRequestCreateSerializer, request)
        created = services.account_request_create(actor=request.user, **values)
        return self._render(created, status.HTTP_201_CREATED)

    def _decide(self, request, pk, approve: bool) -> Response:
        request_record = self.get_object()
        values = parse(DecisionSerializer, request)
        services.account_request_decide(
            actor=request.user,
            request=request_record,
            approve=approve,
            note=values.get("note", ""),
        )
        return self._render(request_record)

    @extend_schema(
        request=DecisionSerializer,
        responses={200: AccountRequestOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Approve: creates the user (who sets a password through a reset link).",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, pk, approve=True)

    @extend_schema(
        request=DecisionSerializer,
        responses={200: AccountRequestOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, pk, approve=False)
