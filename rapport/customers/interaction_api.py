"""REST API of interactions and tasks: parse, authorize, call the service, render.

`/api/v1/interactions/` holds calls, e-mails, meetings, visits, SMS, chats, notes and tasks.
Seeing one follows seeing its account or contact (controlled by parent); writes go through
`customers.services` (`interaction_log`, `task_create`, `interaction_update`,
`task_complete`, `task_reopen`, `interaction_delete`).
"""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.customfields.api import CustomValuesField
from rapport.core.errors import NotFound
from rapport.identity import policy
from rapport.identity.api import (
    APIView,
    GenericViewSet,
    GrantPermission,
    IdFilter,
    UserRefSerializer,
)
from rapport.identity.models import Action, User

from . import services
from .api import (
    AccountRefSerializer,
    FieldRulesSerializer,
    FilterLanguageFilter,
    RestrictedRelatedField,
)
from .models import (
    Account,
    Attachment,
    ConsentChannel,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    Contact,
    ContactRole,
    Direction,
    Interaction,
    InteractionKind,
    Outcome,
    Priority,
)
from .querysets import consent_matrix, interactions_for


class ContactRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    download = serializers.SerializerMethodField(help_text="GET this URL for the file.")

    @extend_schema_field(OpenApiTypes.URI)
    def get_download(self, attachment) -> str:
        return reverse("api-attachment-download", args=[attachment.pk])


class AttachUploadSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField())


class InteractionOutputSerializer(FieldRulesSerializer):
    object_type = Interaction.security_type

    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=InteractionKind.choices, read_only=True)
    subject = serializers.CharField(read_only=True)
    body = serializers.CharField(required=False, help_text="Subject to field rules.")
    occurred_at = serializers.DateTimeField(read_only=True)
    direction = serializers.CharField(read_only=True)
    outcome = serializers.CharField(read_only=True)
    duration_minutes = serializers.IntegerField(read_only=True, allow_null=True)
    next_step = serializers.CharField(read_only=True)
    account = AccountRefSerializer(read_only=True, allow_null=True)
    contact = ContactRefSerializer(read_only=True, allow_null=True)
    participant_contacts = ContactRefSerializer(
        source="visible_participants",
        many=True,
        read_only=True,
        help_text="Other contacts present that the caller can see.",
    )
    participant_users = UserRefSerializer(many=True, read_only=True)
    owner = UserRefSerializer(read_only=True)
    due_at = serializers.DateTimeField(read_only=True, allow_null=True)
    assignee = UserRefSerializer(read_only=True, allow_null=True)
    priority = serializers.CharField(read_only=True)
    remind_at = serializers.DateTimeField(read_only=True, allow_null=True)
    done_at = serializers.DateTimeField(read_only=True, allow_null=True)
    done_by = UserRefSerializer(read_only=True, allow_null=True)
    attachments = AttachmentSerializer(source="active_attachments", many=True, read_only=True)
    custom = CustomValuesField(Interaction.security_type, read_only=True)
    follow_up_of = serializers.IntegerField(
        source="follow_up_of_id", read_only=True, allow_null=True
    )
    is_active = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


def _kind_choices(*, tasks: bool):
    return [(k.value, k.label) for k in InteractionKind if (k == InteractionKind.TASK) == tasks]


class _CommonInput(StrictInputSerializer):
    subject = serializers.CharField(required=False, allow_blank=True, max_length=200)
    body = serializers.CharField(required=False, allow_blank=True)
    account = RestrictedRelatedField(Account, required=False, allow_null=True)
    contact = RestrictedRelatedField(Contact, required=False, allow_null=True)
    participant_contacts = RestrictedRelatedField(Contact, many=True, required=False)
    participant_users = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), many=True, required=False
    )
    custom = CustomValuesField(Interaction.security_type, required=False)


class InteractionCreateSerializer(_CommonInput):
    """A logged interaction (any kind but "task"), or a task (kind "task")."""

    kind = serializers.ChoiceField(choices=InteractionKind.choices)
    occurred_at = serializers.DateTimeField(
        required=False, help_text="When it happened; defaults to now. Not for tasks."
    )
    direction = serializers.ChoiceField(choices=Direction.choices, required=False, allow_blank=True)
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False, allow_blank=True)
    duration_minutes = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    next_step = serializers.CharField(required=False, allow_blank=True, max_length=300)
    follow_up_due = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Also create a task for the next step."
    )
    due_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Tasks only.")
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Tasks only; defaults to the caller.",
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    remind_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Tasks only.")


class InteractionUpdateSerializer(_CommonInput):
    occurred_at = serializers.DateTimeField(required=False)
    direction = serializers.ChoiceField(choices=Direction.choices, required=False, allow_blank=True)
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False, allow_blank=True)
    duration_minutes = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    next_step = serializers.CharField(required=False, allow_blank=True, max_length=300)
    due_at = serializers.DateTimeField(required=False, allow_null=True)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    remind_at = serializers.DateTimeField(required=False, allow_null=True)


_TASK_ONLY = {"due_at", "assignee", "priority", "remind_at"}
_LOG_ONLY = {
    "occurred_at",
    "direction",
    "outcome",
    "duration_minutes",
    "next_step",
    "follow_up_due",
}


class _UtcIsoDateTimeField(IsoDateTimeField):
    def clean(self, value):
        cleaned = super().clean(value)
        if cleaned is None:
            return None
        try:  # an offset PostgreSQL cannot store (past ±15:59) is bad input, not a 500
            return cleaned.astimezone(datetime.UTC)
        except OverflowError:
            raise forms.ValidationError(
                forms.DateTimeField.default_error_messages["invalid"], code="invalid"
            ) from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = _UtcIsoDateTimeField


class InteractionFilter(django_filters.FilterSet):
    filter = FilterLanguageFilter(Interaction.security_type)
    q = django_filters.CharFilter(
        field_name="subject", lookup_expr="icontains", label=gettext_lazy("Search the subject")
    )
    account = IdFilter(field_name="account_id")
    contact = IdFilter(field_name="contact_id")
    owner = IdFilter(field_name="owner_id")
    assignee = IdFilter(field_name="assignee_id")
    kind = django_filters.MultipleChoiceFilter(choices=InteractionKind.choices)
    open = django_filters.BooleanFilter(
        field_name="done_at", lookup_expr="isnull", label=gettext_lazy("Open tasks only")
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label=gettext_lazy("Open tasks past their due time")
    )
    occurred_after = UtcIsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = UtcIsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    due_before = UtcIsoDateTimeFilter(field_name="due_at", lookup_expr="lt")

    class Meta:
        model = Interaction
        fields = ["is_active"]

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = {"kind": "task", "done_at__isnull": True, "due_at__lt": timezone.now()}
        return queryset.filter(**overdue) if value else queryset.exclude(**overdue)


@extend_schema_view(
    list=extend_schema(
        responses={200: InteractionOutputSerializer, **error_responses(400, 401, 403)},
        description=(
            "Interactions and tasks the caller may see: those of every account or contact "
            "they may see, their own, and tasks given to them. Newest first by default. "
            "My open tasks: `?kind=task&open=true&assignee=<my id>`; overdue: `&overdue=true`."
        ),
    ),
    retrieve=extend_schema(
        responses={200: InteractionOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class InteractionViewSet(GenericViewSet):
    """Calls, e-mails, meetings, visits, SMS, chats, notes and tasks."""

    object_type = Interaction.security_type
    permission_classes = [GrantPermission]
    grant_actions = {"complete": Action.CHANGE, "reopen": Action.CHANGE, "attach": Action.CHANGE}
    serializer_class = InteractionOutputSerializer
    filterset_class = InteractionFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["occurred_at", "due_at", "created_at", "id"]
    ordering = ["-occurred_at", "-id"]

    def get_queryset(self):
        return interactions_for(self.request.user)

    def fetch(self, action_name: str, pk) -> Interaction:
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            raise NotFound() from None
        return policy.get_for(self.request.user, action_name, Interaction, pk)

    def render(self, interaction: Interaction, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().filter(pk=interaction.pk).first() or interaction
        return Response(self.get_serializer(fresh).data, status=status_code)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        interaction = self.get_object()
        return Response(self.get_serializer(interaction).data)

    @extend_schema(
        request=InteractionCreateSerializer,
        responses={201: InteractionOutputSerializer, **error_responses(400, 401, 403, 415)},
        description=(
            'Log an interaction, or with `kind` "task" create a task. `follow_up_due` with a '
            "`next_step` also creates a follow-up task (both or neither are stored)."
        ),
    )
    def create(self, request):
        values = parse(InteractionCreateSerializer, request)
        if values.get("kind") == InteractionKind.TASK:
            _refuse(values, _LOG_ONLY)
            values.pop("kind")
            interaction = services.task_create(actor=request.user, **values)
        else:
            _refuse(values, _TASK_ONLY)
            follow_up_due = values.pop("follow_up_due", None)
            interaction = services.interaction_log(
                actor=request.user, follow_up_due=follow_up_due, **values
            )
        return self.render(interaction, status.HTTP_201_CREATED)

    @extend_schema(
        request=InteractionUpdateSerializer,
        responses={200: InteractionOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        interaction = self.fetch(Action.CHANGE, pk)
        values = parse(InteractionUpdateSerializer, request, partial=True)
        services.interaction_update(actor=request.user, interaction=interaction, **values)
        return self.render(interaction)

    @extend_schema(request=None, responses={204: None, **error_responses(401, 403, 404)})
    def destroy(self, request, pk=None):
        interaction = self.fetch(Action.DELETE, pk)
        services.interaction_delete(actor=request.user, interaction=interaction)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request={"multipart/form-data": AttachUploadSerializer},
        responses={200: InteractionOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Attach files (form field `files`, repeatable). All or none: one file of "
        "a kind that is not allowed, too large or not what its name says stores none.",
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def attach(self, request, pk=None):
        interaction = self.fetch(Action.CHANGE, pk)
        services.attachments_add(
            actor=request.user, interaction=interaction, uploads=request.FILES.getlist("files")
        )
        return self.render(interaction)

    @extend_schema(
        request=None,
        responses={200: InteractionOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """Mark a task done (its assignee, or whoever may change it)."""
        task = self.fetch(Action.CHANGE, pk)
        services.task_complete(actor=request.user, task=task)
        return self.render(task)

    @extend_schema(
        request=None,
        responses={200: InteractionOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """Open a done task again."""
        task = self.fetch(Action.CHANGE, pk)
        services.task_reopen(actor=request.user, task=task)
        return self.render(task)


def _refuse(values: dict, fields: set[str]) -> None:
    """Fields that belong to the other kind (a due date on a call …) are errors, not ignored."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    wrong = sorted(set(values) & fields)
    if wrong:
        raise ValidationError(
            {
                name: ValidationError(
                    _("This field does not apply to this type of interaction."),
                    code="not_applicable",
                )
                for name in wrong
            }
        )


class AttachmentDownloadView(APIView):
    """The file of an attachment, to whoever may see its interaction (an audited read)."""

    permission_classes = [GrantPermission]
    object_type = Interaction.security_type

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            **error_responses(401, 403, 404),
        }
    )
    def get(self, request, pk: int):
        attachment = Attachment.objects.filter(pk=pk, is_active=True).first()
        if attachment is None:
            raise NotFound()
        policy.get_for(request.user, Action.VIEW, Interaction, attachment.interaction_id)
        services.attachment_downloaded(actor=request.user, attachment=attachment)
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.name,
            content_type=attachment.content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response


class ContactRoleSerializer(StrictInputSerializer):
    account = RestrictedRelatedField(Account)
    role = serializers.ChoiceField(choices=ContactRole.choices, allow_blank=True)


class AccountContactRoleSerializer(serializers.Serializer):
    account = AccountRefSerializer(read_only=True)
    role = serializers.CharField(read_only=True)


class ContactRoleViewSet(GenericViewSet):
    """A contact's role at each account (decision maker, influencer, user …)."""

    object_type = Contact.security_type
    permission_classes = [GrantPermission]
    grant_actions = {"create": Action.CHANGE}
    serializer_class = AccountContactRoleSerializer
    pagination_class = None  # a handful of rows, never paged
    filter_backends: list = []

    def get_queryset(self):
        return Contact.objects.restrict(self.request.user, Action.VIEW)

    def _rows(self, contact: Contact) -> list[dict]:
        accounts = (
            Account.objects.restrict(self.request.user, Action.VIEW)
            .filter(accountcontact__contact=contact)
            .values("id", "name", "accountcontact__role")
            .order_by("name", "id")
        )
        return [
            {"account": {"id": row["id"], "name": row["name"]}, "role": row["accountcontact__role"]}
            for row in accounts
        ]

    @extend_schema(
        responses={200: AccountContactRoleSerializer(many=True), **error_responses(401, 403, 404)}
    )
    def list(self, request, pk=None):
        contact = policy.get_for(request.user, Action.VIEW, Contact, pk)
        return Response(AccountContactRoleSerializer(self._rows(contact), many=True).data)

    @extend_schema(
        request=ContactRoleSerializer,
        responses={
            200: AccountContactRoleSerializer(many=True),
            **error_responses(400, 401, 403, 404, 415),
        },
        description='Set the contact\'s role at one of its accounts ("" for none).',
    )
    def create(self, request, pk=None):
        contact = policy.get_for(request.user, Action.CHANGE, Contact, pk)
        values = parse(ContactRoleSerializer, request)
        services.contact_role_set(
            actor=request.user, contact=contact, account=values["account"], role=values["role"]
        )
        return Response(AccountContactRoleSerializer(self._rows(contact), many=True).data)


# --- consent ----------------------------------------------------------------------------------


class ConsentOutputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=ConsentChannel.choices, read_only=True)
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices, read_only=True)
    status = serializers.ChoiceField(
        choices=ConsentStatus.choices,
        read_only=True,
        allow_null=True,
        help_text="null: never asked.",
    )
    allowed = serializers.BooleanField(
        read_only=True,
        help_text="May the contact be reached this way for this purpose now (marketing and "
        "research need a grant; service is allowed until withdrawn).",
    )
    source = serializers.CharField(read_only=True, allow_null=True)
    evidence = serializers.CharField(read_only=True, allow_null=True)
    given_at = serializers.DateTimeField(read_only=True, allow_null=True)
    recorded_by = UserRefSerializer(read_only=True, allow_null=True)


class ConsentInputSerializer(StrictInputSerializer):
    channel = serializers.ChoiceField(choices=ConsentChannel.choices)
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    status = serializers.ChoiceField(choices=ConsentStatus.choices)
    source = serializers.ChoiceField(choices=ConsentSource.choices)
    evidence = serializers.CharField(
        required=False, allow_blank=True, max_length=500, help_text="Required for a grant."
    )
    at = serializers.DateTimeField(required=False, help_text="When the person answered.")


class ConsentViewSet(GenericViewSet):
    """A contact's consent per channel and purpose. Recording a grant needs the change grant
    over the contact; a withdrawal only seeing it."""

    object_type = Contact.security_type
    permission_classes = [GrantPermission]
    grant_actions = {"create": Action.VIEW}  # the service decides between view and change
    serializer_class = ConsentOutputSerializer
    pagination_class = None  # one row per channel and purpose, never paged
    filter_backends: list = []

    def get_queryset(self):
        return Contact.objects.restrict(self.request.user, Action.VIEW)

    @staticmethod
    def _rows(contact: Contact) -> list[dict]:
        rows = []
        for row in consent_matrix(contact):
            for cell in row["cells"]:
                consent = cell.consent
                rows.append(
                    {
                        "channel": cell.channel,
                        "purpose": cell.purpose,
                        "status": consent.status if consent else None,
                        "allowed": cell.allowed,
                        "source": consent.source if consent else None,
                        "evidence": consent.evidence if consent else None,
                        "given_at": consent.given_at if consent else None,
                        "recorded_by": consent.recorded_by if consent else None,
                    }
                )
        return rows

    @extend_schema(
        responses={200: ConsentOutputSerializer(many=True), **error_responses(401, 403, 404)}
    )
    def list(self, request, pk=None):
        contact = policy.get_for(request.user, Action.VIEW, Contact, pk)
        return Response(ConsentOutputSerializer(self._rows(contact), many=True).data)

    @extend_schema(
        request=ConsentInputSerializer,
        responses={
            200: ConsentOutputSerializer(many=True),
            **error_responses(400, 401, 403, 404, 415),
        },
        description="Record the contact's answer for one channel and purpose.",
    )
    def create(self, request, pk=None):
        contact = policy.get_for(request.user, Action.VIEW, Contact, pk)
        values = parse(ConsentInputSerializer, request)
        services.consent_record(actor=request.user, contact=contact, **values)
        return Response(ConsentOutputSerializer(self._rows(contact), many=True).data)
