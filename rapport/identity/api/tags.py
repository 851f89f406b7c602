"""REST API of tags: the tree (everyone signed in reads it; tag managers change it) and
bulk tag/untag of records of any taggable type (`POST /api/v1/tags/{id}/apply/`)."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.errors import DomainError, NotFound
from rapport.core.tags import registry
from rapport.core.tags import services as tag_services
from rapport.core.tags.models import Colour, Tag

from ..models import Action
from .base import GenericViewSet, GrantPermission, IdFilter

MAX_APPLY = 1000  # records per call; more in several calls


class TagOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    label = serializers.CharField(
        read_only=True, help_text="The name in the request's language (English name if given)."
    )
    colour = serializers.ChoiceField(choices=Colour.choices, read_only=True)
    parent = serializers.IntegerField(source="parent_id", read_only=True, allow_null=True)
    path = serializers.CharField(
        read_only=True, help_text="Ids from the top down, e.g. /3/17/: a subtree shares a prefix."
    )
    depth = serializers.IntegerField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)


class TagRefSerializer(serializers.Serializer):
    """A tag as shown on a record."""

    id = serializers.IntegerField(read_only=True)
    label = serializers.CharField(read_only=True)
    colour = serializers.ChoiceField(choices=Colour.choices, read_only=True)


class TagCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(allow_blank=True, max_length=200)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    colour = serializers.CharField(
        required=False, max_length=50, help_text="One of: " + ", ".join(Colour.values) + "."
    )
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Tag.objects.all(), required=False, allow_null=True
    )


class TagUpdateSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    colour = serializers.CharField(required=False, max_length=50)
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Tag.objects.all(),
        required=False,
        allow_null=True,
        help_text="Move the tag (and everything under it); null moves it to the top.",
    )


class TagApplySerializer(StrictInputSerializer):
    type = serializers.CharField(help_text="The records' type, e.g. customers.account.")
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        allow_empty=False,
        max_length=MAX_APPLY,
        help_text=f"Ids of the records (at most {MAX_APPLY}).",
    )
    remove = serializers.BooleanField(
        default=False, help_text="Take the tag off instead of putting it on."
    )

    def validate_type(self, value: str) -> str:
        if registry.taggable_model(value) is None:
            raise serializers.ValidationError(
                _("“%(type)s” cannot carry tags; use one of: %(types)s.")
                % {"type": value, "types": ", ".join(registry.taggable_models())},
                code="invalid_choice",
            )
        return value.strip().lower()


class TagApplyResultSerializer(serializers.Serializer):
    tag = TagOutputSerializer(read_only=True)
    type = serializers.CharField(read_only=True)
    remove = serializers.BooleanField(read_only=True)
    changed = serializers.ListField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="Ids of the records whose tags changed (the others already were so).",
    )


class TagFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=gettext_lazy("Search name"))
    parent = IdFilter(field_name="parent_id")

    class Meta:
        model = Tag
        fields = ["is_active", "colour"]

    def search(self, queryset, name, value):
        value = (value or "").strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(name_en__icontains=value))


@extend_schema_view(
    list=extend_schema(responses={200: TagOutputSerializer, **error_responses(400, 401)}),
    retrieve=extend_schema(responses={200: TagOutputSerializer, **error_responses(401, 404)}),
)
class TagViewSet(GenericViewSet):
    """The tag tree. Reading needs only to be signed in; changes need `manage` on `core.tag`.
    Applying a tag to records needs `change` on every one of them (all or nothing)."""

    object_type = Tag.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": None,
        "retrieve": None,
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
        "deactivate": Action.MANAGE,
        "reactivate": Action.MANAGE,
        "apply": None,  # the service checks `change` on each record
    }
    serializer_class = TagOutputSerializer
    filterset_class = TagFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["path", "name", "id"]

    def get_queryset(self):
        return Tag.objects.all()

    def get_object(self) -> Tag:
        # Tags have no owner or scope: the type-wide grant checked by GrantPermission is the
        # whole rule, so there is no per-record check (policy.can would look for one).
        try:
            return Tag.objects.get(pk=int(self.kwargs["pk"]))
        except (Tag.DoesNotExist, ValueError, TypeError):
            raise NotFound() from None

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(TagOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(TagOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=TagCreateSerializer,
        responses={201: TagOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(TagCreateSerializer, request)
        tag = tag_services.tag_create(actor=request.user, **values)
        return Response(TagOutputSerializer(tag).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=TagUpdateSerializer,
        responses={200: TagOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Rename, recolour or move a tag. Moving under itself is refused (400).",
    )
    def partial_update(self, request, pk=None):
        tag = self.get_object()
        values = parse(TagUpdateSerializer, request, partial=True)
        tag = tag_services.tag_update(actor=request.user, tag=tag, **values)
        return Response(TagOutputSerializer(tag).data)

    @extend_schema(
        request=None,
        responses={200: TagOutputSerializer, **error_responses(401, 403, 404)},
        description="Retire the tag and every tag under it; records keep the links.",
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        tag = self.get_object()
        tag_services.tag_deactivate(actor=request.user, tag=tag)
        return Response(TagOutputSerializer(tag).data)

    @extend_schema(
        request=None, responses={200: TagOutputSerializer, **error_responses(400, 401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        tag = tag_services.tag_reactivate(actor=request.user, tag=self.get_object())
        return Response(TagOutputSerializer(tag).data)

    @extend_schema(
        request=TagApplySerializer,
        responses={200: TagApplyResultSerializer, **error_responses(400, 401, 403, 404, 415)},
        description=(
            "Put this tag on records of one type, or take it off (`remove`). All or nothing: "
            "an id the caller cannot see is a 400 naming `ids`; a record the caller may see "
            "but not change is a 403 naming it, and nothing is stored. Each changed record "
            'gets an audit event and a `record.updated` event with fields ["tags"].'
        ),
    )
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        tag = self.get_object()
        values = parse(TagApplySerializer, request)
        model = registry.taggable_model(values["type"])
        ids = list(dict.fromkeys(values["ids"]))
        records = {
            record.pk: record
            for record in model._default_manager.restrict(request.user, Action.VIEW).filter(
                pk__in=ids
            )
        }
        missing = [pk for pk in ids if pk not in records]
        if missing:
            raise serializers.ValidationError(
                {
                    "ids": [
                        serializers.ErrorDetail(
                            _("No record with id %(ids)s that you can see.")
                            % {"ids": ", ".join(str(pk) for pk in missing[:10])},
                            code="does_not_exist",
                        )
                    ]
                }
            )
        service = tag_services.records_untag if values["remove"] else tag_services.records_tag
        try:
            changed = service(actor=request.user, records=[records[pk] for pk in ids], tags=[tag])
        except DomainError as error:
            if error.field == "records":
                error.field = "ids"  # the request's name for the records
            raise
        return Response(
            TagApplyResultSerializer(
                {
                    "tag": tag,
                    "type": values["type"],
                    "remove": values["remove"],
                    "changed": [record.pk for record in changed],
                }
            ).data
        )
