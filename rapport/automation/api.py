"""REST API of automation rules and their run log. Both need `manage` on `automation.rule`
(rules act as the system actor on any record, so designing them is an administrator's job,
and the run log names the records they touched)."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from rapport.core.api import CursorPagination, StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity.api import GenericViewSet, GrantPermission
from rapport.identity.models import Action

from . import services
from .models import Rule, RuleRun, RunState, Trigger


class RuleOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    display_name = serializers.CharField(
        read_only=True, help_text="The name in the request's language."
    )
    object_type = serializers.CharField(read_only=True)
    trigger = serializers.ChoiceField(choices=Trigger.choices, read_only=True)
    trigger_config = serializers.JSONField(read_only=True)
    webhook_token = serializers.CharField(
        read_only=True,
        required=False,
        help_text="Webhook rules: the secret token of POST /api/v1/automation/hooks/<token>/, "
        "in the answer that made it only (create, or trigger_config.regenerate); only its "
        "hash is kept.",
    )
    condition = serializers.JSONField(read_only=True, help_text="A filter-language tree.")
    actions = serializers.JSONField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    version = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class RuleInputSerializer(StrictInputSerializer):
    name = serializers.CharField(allow_blank=True, max_length=200)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    object_type = serializers.CharField(
        max_length=60, help_text="The record type, e.g. customers.account."
    )
    trigger = serializers.CharField(
        max_length=20, help_text="One of: " + ", ".join(Trigger.values) + "."
    )
    trigger_config = serializers.JSONField(
        required=False,
        help_text='For updated: {"field": "tier", "to": "A"} (both optional); for '
        'stage_changed: {"to": "customer"}; for schedule: {"cron": "0 9 * * 1-5"}.',
    )
    condition = serializers.JSONField(
        required=False,
        help_text='The filter language, as text ("tier = A and tag = 3") or as a tree.',
    )
    actions = serializers.JSONField(
        help_text='Ordered list, e.g. [{"type": "assign_owner", "round_robin": {"team": 2}}, '
        '{"type": "create_task", "subject": "…", "due_in_days": 2}].'
    )
    is_active = serializers.BooleanField(required=False)
    position = serializers.IntegerField(required=False)


class RuleUpdateSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    object_type = serializers.CharField(required=False, max_length=60)
    trigger = serializers.CharField(required=False, max_length=20)
    trigger_config = serializers.JSONField(required=False)
    condition = serializers.JSONField(required=False)
    actions = serializers.JSONField(required=False)


class DryRunSerializer(StrictInputSerializer):
    object_id = serializers.IntegerField(help_text="The record to test the rule against.")


class RunOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    rule = serializers.IntegerField(source="rule_id", read_only=True)
    rule_version = serializers.IntegerField(read_only=True)
    object_type = serializers.CharField(read_only=True)
    object_id = serializers.IntegerField(read_only=True, allow_null=True)
    trigger_detail = serializers.JSONField(
        read_only=True, help_text="What fired it: the event topic and the changed fields."
    )
    state = serializers.ChoiceField(choices=RunState.choices, read_only=True)
    attempts = serializers.IntegerField(read_only=True)
    next_attempt_at = serializers.DateTimeField(read_only=True, allow_null=True)
    error = serializers.CharField(read_only=True)
    results = serializers.JSONField(read_only=True, help_text="What each action changed.")
    chain = serializers.JSONField(
        read_only=True, help_text="The [rule, record type, record id] links that led here."
    )
    created_at = serializers.DateTimeField(read_only=True)
    started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)


class RulePagination(CursorPagination):
    ordering = ("object_type", "position", "id")
    page_size = 100


class RuleFilter(django_filters.FilterSet):
    class Meta:
        model = Rule
        fields = ["object_type", "trigger", "is_active"]


class RunFilter(django_filters.FilterSet):
    class Meta:
        model = RuleRun
        fields = ["rule", "object_type", "object_id", "state"]


def _rule_or_404(pk) -> Rule:
    try:
        return Rule.objects.get(pk=int(pk), retired_at__isnull=True)
    except (Rule.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


@extend_schema_view(
    list=extend_schema(responses={200: RuleOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(responses={200: RuleOutputSerializer, **error_responses(401, 403, 404)}),
)
class RuleViewSet(GenericViewSet):
    """Automation rules: trigger → condition → actions, in their order per record type."""

    object_type = Rule.security_type
    permission_classes = [GrantPermission]
    grant_actions = dict.fromkeys(
        (
            "list",
            "retrieve",
            "create",
            "partial_update",
            "activate",
            "deactivate",
            "dry_run",
            "destroy",
        ),
        Action.MANAGE,
    )
    serializer_class = RuleOutputSerializer
    filterset_class = RuleFilter
    pagination_class = RulePagination
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        return Rule.objects.filter(retired_at__isnull=True).order_by(
            "object_type", "position", "id"
        )

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(RuleOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(RuleOutputSerializer(_rule_or_404(pk)).data)

    @extend_schema(
        request=RuleInputSerializer,
        responses={201: RuleOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(RuleInputSerializer, request)
        rule = services.rule_create(actor=request.user, **values)
        return Response(RuleOutputSerializer(rule).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=RuleUpdateSerializer,
        responses={200: RuleOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Change the rule (a new version is kept).",
    )
    def partial_update(self, request, pk=None):
        rule = _rule_or_404(pk)
        values = parse(RuleUpdateSerializer, request, partial=True)
        rule = services.rule_update(actor=request.user, rule=rule, **values)
        return Response(RuleOutputSerializer(rule).data)

    @extend_schema(
        request=None,
        responses={204: None, **error_responses(401, 403, 404)},
        description="Delete the rule from use; its run log and versions stay.",
    )
    def destroy(self, request, pk=None):
        services.rule_retire(actor=request.user, rule=_rule_or_404(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None, responses={200: RuleOutputSerializer, **error_responses(400, 401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        rule = services.rule_activate(actor=request.user, rule=_rule_or_404(pk))
        return Response(RuleOutputSerializer(rule).data)

    @extend_schema(
        request=None, responses={200: RuleOutputSerializer, **error_responses(401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        rule = services.rule_deactivate(actor=request.user, rule=_rule_or_404(pk))
        return Response(RuleOutputSerializer(rule).data)

    @extend_schema(
        request=DryRunSerializer,
        responses={200: RunOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Test the rule against one record: whether its condition holds "
        "(trigger_detail.condition) and what each action would change. Nothing is changed; "
        "the dry run is kept in the run log.",
    )
    @action(detail=True, methods=["post"], url_path="dry-run")
    def dry_run(self, request, pk=None):
        rule = _rule_or_404(pk)
        values = parse(DryRunSerializer, request)
        run = services.rule_dry_run(actor=request.user, rule=rule, record_id=values["object_id"])
        return Response(RunOutputSerializer(run).data)


@extend_schema_view(
    list=extend_schema(responses={200: RunOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(responses={200: RunOutputSerializer, **error_responses(401, 403, 404)}),
)
class RuleRunViewSet(GenericViewSet):
    """The run log: what fired, why, what it changed, errors. Filter by rule, by record
    (object_type + object_id) or by state."""

    object_type = Rule.security_type
    permission_classes = [GrantPermission]
    grant_actions = {"list": Action.MANAGE, "retrieve": Action.MANAGE}
    serializer_class = RunOutputSerializer
    filterset_class = RunFilter
    pagination_class = CursorPagination
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        return RuleRun.objects.order_by("-id")

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(RunOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        run = RuleRun.objects.filter(pk=pk).first()
        if run is None:
            raise NotFound()
        return Response(RunOutputSerializer(run).data)
