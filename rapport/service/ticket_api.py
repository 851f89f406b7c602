"""REST API of tickets: parse, authorize, call the service, render.

`/api/v1/service/tickets/` lists the tickets the caller may see (their own, their teams'
queues, their department's for managers); writes go through `rapport.service.services`
(`ticket_create`, `ticket_update`, `ticket_assign`, `ticket_set_status`,
`ticket_message_add`). A ticket the caller may not see reads as not found.
"""

from __future__ import annotations

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.customers.api import AccountRefSerializer, RestrictedRelatedField
from rapport.customers.interaction_api import ContactRefSerializer
from rapport.customers.models import Account, Contact
from rapport.identity.api import GenericViewSet, GrantPermission, IdFilter, UserRefSerializer
from rapport.identity.models import Action, Team, User

from . import mail
from .models import (
    MessageKind,
    Ticket,
    TicketCategory,
    TicketChannel,
    TicketKind,
    TicketMessage,
    TicketPriority,
    TicketStatus,
)
from .services import merging
from .services import tickets as ticket_services


class TeamRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class AttachmentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    sha256 = serializers.CharField(read_only=True)


class MessageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=MessageKind.choices, read_only=True)
    author = UserRefSerializer(read_only=True, allow_null=True)
    body = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    email_address = serializers.CharField(
        read_only=True, help_text="Who the e-mail came from, or the reply went to."
    )
    sent_at = serializers.DateTimeField(read_only=True, allow_null=True)
    not_sent_reason = serializers.CharField(read_only=True)
    attachments = AttachmentOutputSerializer(many=True, read_only=True)


class MergeSerializer(StrictInputSerializer):
    into = serializers.IntegerField(help_text="The ticket to keep.")


class SplitSerializer(StrictInputSerializer):
    message = serializers.IntegerField(help_text="A message the customer wrote on the ticket.")
    subject = serializers.CharField(required=False, allow_blank=True, max_length=300)


class InboundEmailSerializer(serializers.Serializer):
    message = serializers.FileField(help_text="The raw e-mail (RFC 5322, an .eml file).")


class InboundResultSerializer(serializers.Serializer):
    ticket = serializers.IntegerField(allow_null=True)
    message = serializers.IntegerField(allow_null=True)
    created = serializers.BooleanField(help_text="A new ticket was opened.")
    duplicate = serializers.BooleanField(help_text="This e-mail was received before.")
    ignored = serializers.CharField(
        help_text="Why nothing was stored: automatic (an auto-reply) or own_mail; empty otherwise."
    )
    dropped = serializers.ListField(
        child=serializers.CharField(), help_text="Attachments not kept, with why."
    )


class TicketOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    subject = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    kind = serializers.ChoiceField(choices=TicketKind.choices, read_only=True)
    priority = serializers.ChoiceField(choices=TicketPriority.choices, read_only=True)
    channel = serializers.ChoiceField(choices=TicketChannel.choices, read_only=True)
    status = serializers.ChoiceField(choices=TicketStatus.choices, read_only=True)
    category = serializers.IntegerField(source="category_id", read_only=True, allow_null=True)
    account = AccountRefSerializer(read_only=True, allow_null=True)
    contact = ContactRefSerializer(read_only=True, allow_null=True)
    team = TeamRefSerializer(read_only=True, allow_null=True)
    assignee = UserRefSerializer(read_only=True, allow_null=True)
    parent = serializers.IntegerField(source="parent_id", read_only=True, allow_null=True)
    first_response_at = serializers.DateTimeField(read_only=True, allow_null=True)
    resolved_at = serializers.DateTimeField(read_only=True, allow_null=True)
    closed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_activity_at = serializers.DateTimeField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class _TicketInput(StrictInputSerializer):
    subject = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    description = serializers.CharField(required=False, allow_blank=True)
    kind = serializers.CharField(required=False, max_length=40)
    priority = serializers.CharField(required=False, max_length=40)
    category = serializers.PrimaryKeyRelatedField(
        queryset=TicketCategory.objects.all(), required=False, allow_null=True
    )
    account = RestrictedRelatedField(Account, required=False, allow_null=True)
    contact = RestrictedRelatedField(Contact, required=False, allow_null=True)
    parent = RestrictedRelatedField(Ticket, required=False, allow_null=True)


class TicketCreateSerializer(_TicketInput):
    subject = serializers.CharField(allow_blank=True, max_length=1000)
    channel = serializers.CharField(required=False, max_length=40)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True, help_text="The queue."
    )
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )


class TicketAssignSerializer(StrictInputSerializer):
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="null: back to the queue.",
    )


class TicketStatusSerializer(StrictInputSerializer):
    status = serializers.CharField(max_length=20, help_text=", ".join(TicketStatus.values))


class MessageInputSerializer(StrictInputSerializer):
    kind = serializers.CharField(max_length=20, help_text="reply or note")
    body = serializers.CharField(allow_blank=True)


class TicketFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        field_name="subject", lookup_expr="icontains", label=gettext_lazy("Search the subject")
    )
    status = django_filters.MultipleChoiceFilter(choices=TicketStatus.choices)
    priority = django_filters.MultipleChoiceFilter(choices=TicketPriority.choices)
    kind = django_filters.MultipleChoiceFilter(choices=TicketKind.choices)
    account = IdFilter(field_name="account_id")
    contact = IdFilter(field_name="contact_id")
    team = IdFilter(field_name="team_id")
    assignee = IdFilter(field_name="assignee_id")
    unassigned = django_filters.BooleanFilter(
        field_name="assignee", lookup_expr="isnull", label=gettext_lazy("Not given to anyone")
    )

    class Meta:
        model = Ticket
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(
        responses={200: TicketOutputSerializer, **error_responses(400, 401, 403)},
        description="Tickets the caller may see, newest first. A queue: "
        "`?team=<id>&unassigned=true&status=new&status=open`.",
    ),
    retrieve=extend_schema(
        responses={200: TicketOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class TicketViewSet(GenericViewSet):
    """Customer service tickets."""

    object_type = Ticket.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "create": Action.ADD,
        "partial_update": Action.CHANGE,
        "assign": Action.ASSIGN,
        "set_status": Action.CHANGE,
        "messages": Action.VIEW,
        "message_add": Action.CHANGE,
        "inbound_email": Action.ADD,
        "merge": Action.CHANGE,
        "split": Action.CHANGE,
    }
    serializer_class = TicketOutputSerializer
    filterset_class = TicketFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["id", "last_activity_at", "created_at", "priority"]
    ordering = ["-id"]

    def get_queryset(self):
        return Ticket.objects.restrict(self.request.user, Action.VIEW).select_related(
            "account", "contact", "team", "assignee"
        )

    def fetch(self, action_name: str, pk) -> Ticket:
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            raise NotFound() from None
        ticket = Ticket.objects.restrict(self.request.user, action_name).filter(pk=pk).first()
        if ticket is None:
            raise NotFound()
        return ticket

    def render(self, ticket: Ticket, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().filter(pk=ticket.pk).first() or ticket
        return Response(TicketOutputSerializer(fresh).data, status=status_code)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(TicketOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return self.render(self.fetch(Action.VIEW, pk))

    @extend_schema(
        request=TicketCreateSerializer,
        responses={201: TicketOutputSerializer, **error_responses(400, 401, 403, 415)},
        description="A new ticket. Without team and assignee it goes to the caller's team "
        "queue (or to the caller).",
    )
    def create(self, request):
        values = parse(TicketCreateSerializer, request)
        values.setdefault("channel", TicketChannel.API)
        ticket = ticket_services.ticket_create(actor=request.user, **values)
        return self.render(ticket, status.HTTP_201_CREATED)

    @extend_schema(
        request=_TicketInput,
        responses={200: TicketOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Change the ticket's own fields; queue, assignee and status have their "
        "own endpoints.",
    )
    def partial_update(self, request, pk=None):
        ticket = self.fetch(Action.CHANGE, pk)
        values = parse(_TicketInput, request, partial=True)
        ticket_services.ticket_update(actor=request.user, ticket=ticket, **values)
        return self.render(ticket)

    @extend_schema(
        request=TicketAssignSerializer,
        responses={200: TicketOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        ticket = self.fetch(Action.ASSIGN, pk)
        values = parse(TicketAssignSerializer, request)
        ticket_services.ticket_assign(actor=request.user, ticket=ticket, **values)
        return self.render(ticket)

    @extend_schema(
        request=TicketStatusSerializer,
        responses={200: TicketOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Move the ticket along its workflow (a move it does not allow is a 400).",
    )
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        ticket = self.fetch(Action.CHANGE, pk)
        values = parse(TicketStatusSerializer, request)
        ticket_services.ticket_set_status(actor=request.user, ticket=ticket, **values)
        return self.render(ticket)

    @extend_schema(
        responses={200: MessageOutputSerializer(many=True), **error_responses(401, 403, 404)},
        description="The conversation, oldest first (internal notes included).",
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def messages(self, request, pk=None):
        ticket = self.fetch(Action.VIEW, pk)
        rows = (
            TicketMessage.objects.filter(ticket=ticket)
            .select_related("author")
            .prefetch_related("attachments")
        )
        return Response(MessageOutputSerializer(rows, many=True).data)

    @extend_schema(
        request=MessageInputSerializer,
        responses={201: MessageOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Add a reply to the customer (kind reply) or an internal note (note).",
    )
    @messages.mapping.post
    def message_add(self, request, pk=None):
        ticket = self.fetch(Action.CHANGE, pk)
        values = parse(MessageInputSerializer, request)
        message = ticket_services.ticket_message_add(actor=request.user, ticket=ticket, **values)
        return Response(MessageOutputSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request={"multipart/form-data": InboundEmailSerializer},
        responses={200: InboundResultSerializer, **error_responses(400, 401, 403, 415)},
        description="Deliver an e-mail sent to the service mailbox (for a mail gateway: "
        "post the raw message as the file `message`). It opens a ticket or threads onto the "
        "ticket it answers; the same e-mail twice is stored once. Stored as the service "
        "mailbox; the caller needs the grant to add tickets.",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="inbound-email",
        parser_classes=[MultiPartParser],
    )
    def inbound_email(self, request):
        upload = request.FILES.get("message")
        if upload is None:
            raise ValidationError(
                {
                    "message": ValidationError(
                        gettext("Attach the e-mail as the file “message”."), "required"
                    )
                }
            )
        if upload.size > settings.SERVICE_MAIL_MAX_BYTES:
            raise ValidationError(
                {
                    "message": ValidationError(
                        gettext("The e-mail is larger than %(mb)d MB.")
                        % {"mb": settings.SERVICE_MAIL_MAX_BYTES // 1048576},
                        "too_large",
                    )
                }
            )
        result = mail.receive(upload.read())
        return Response(InboundResultSerializer(result.as_dict()).data)

    @extend_schema(
        request=MergeSerializer,
        responses={200: TicketOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Merge this ticket (a duplicate) into `into`: its conversation moves "
        "there and it is closed as a child of it. Returns the ticket kept.",
    )
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        ticket = self.fetch(Action.CHANGE, pk)
        values = parse(MergeSerializer, request)
        into = self.fetch(Action.CHANGE, values["into"])
        kept = merging.ticket_merge(actor=request.user, ticket=ticket, into=into)
        return self.render(kept)

    @extend_schema(
        request=SplitSerializer,
        responses={201: TicketOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Make a new ticket (a child of this one) of a message the customer wrote.",
    )
    @action(detail=True, methods=["post"])
    def split(self, request, pk=None):
        ticket = self.fetch(Action.CHANGE, pk)
        values = parse(SplitSerializer, request)
        message = TicketMessage.objects.filter(ticket=ticket, pk=values["message"]).first()
        if message is None:
            raise ValidationError(
                {
                    "message": ValidationError(
                        gettext("Choose something the customer wrote on this ticket."), "invalid"
                    )
                }
            )
        new = merging.ticket_split(
            actor=request.user, ticket=ticket, message=message, subject=values.get("subject", "")
        )
        return self.render(new, status.HTTP_201_CREATED)
