"""What the lists give the API: `?view=<id>` (a saved view's filter) on `/api/v1/accounts/` and
`/api/v1/contacts/`, and the bulk endpoints `bulk-assign/` (accounts, contacts) and
`bulk-stage/` (accounts), all or nothing through `services.bulk`."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.identity.api import IdFilter
from rapport.identity.models import Action, User
from rapport.identity.services import saved_views_for

from .filtering import apply_filter
from .services import bulk


def _filter_error(name: str, error: DjangoValidationError) -> drf_exceptions.ValidationError:
    items = error.error_dict.get("filter", []) if hasattr(error, "error_dict") else [error]
    return drf_exceptions.ValidationError(
        {
            name: [
                drf_exceptions.ErrorDetail(message, code=item.code or "invalid")
                for item in items
                for message in item.messages
            ]
        }
    )


@extend_schema_field(
    {
        "type": "integer",
        "description": "A saved view's id (see /api/v1/views/): its filter applies, on top of "
        "the other parameters. A view that is not yours or shared with your team is a 400 "
        "naming `view`.",
    }
)
class SavedViewFilter(IdFilter):
    """`?view=<id>`: the filter of one of the caller's saved views (own or shared with a team
    they belong to or lead)."""

    def __init__(self, object_type: str, **kwargs) -> None:
        self.object_type = object_type
        kwargs.setdefault(
            "label", gettext_lazy("A saved view's id: its filter applies (see /api/v1/views/).")
        )
        super().__init__(**kwargs)

    def filter(self, queryset, value):
        if value in (None, ""):
            return queryset
        user = self.parent.request.user
        view = saved_views_for(user, self.object_type).filter(pk=value).first()
        if view is None:
            raise drf_exceptions.ValidationError(
                {
                    "view": [
                        drf_exceptions.ErrorDetail(
                            _("There is no saved view %(id)s of this list for you.")
                            % {"id": value},
                            code="does_not_exist",
                        )
                    ]
                }
            )
        if not view.filter:
            return queryset
        try:
            return apply_filter(queryset, user, self.object_type, view.filter)
        except DjangoValidationError as error:
            raise _filter_error("view", error) from error


class BulkIdsField(serializers.ListField):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("child", serializers.IntegerField(min_value=1, max_value=2**63 - 1))
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("max_length", bulk.MAX_RECORDS)
        kwargs.setdefault(
            "help_text", f"Record ids (at most {bulk.MAX_RECORDS}); all change or none."
        )
        super().__init__(**kwargs)


class BulkAssignSerializer(StrictInputSerializer):
    ids = BulkIdsField()
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), help_text="An active user the caller can see."
    )


class BulkStageSerializer(StrictInputSerializer):
    ids = BulkIdsField()
    lifecycle_stage = serializers.CharField(
        max_length=20,
        help_text="The code of an active lifecycle stage (see /api/v1/account-options/).",
    )


class BulkResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many records the request covered.")
    ids = serializers.ListField(child=serializers.IntegerField())


def _records(view, ids: list[int]) -> list:
    """The records among those the caller may see, in the order given; a 400 naming the ids
    that are missing (not found or not visible: the same answer)."""
    ids = list(dict.fromkeys(ids))
    found = {
        record.pk: record
        for record in view.model.objects.restrict(view.request.user, Action.VIEW).filter(pk__in=ids)
    }
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        raise drf_exceptions.ValidationError(
            {
                "ids": [
                    drf_exceptions.ErrorDetail(
                        _("No record with id %(ids)s that you can see; nothing was changed.")
                        % {"ids": ", ".join(missing)},
                        code="does_not_exist",
                    )
                ]
            }
        )
    return [found[pk] for pk in ids]


class BulkAssignMixin:
    """`POST …/bulk-assign/` on a record viewset (needs the assign grant)."""

    @extend_schema(
        request=BulkAssignSerializer,
        responses={200: BulkResultSerializer, **error_responses(400, 401, 403, 415)},
        description="Hand every listed record to `owner`, all or nothing: one record the "
        "caller may not assign refuses the whole request, naming it. Each change is audited.",
    )
    @action(detail=False, methods=["post"], url_path="bulk-assign")
    def bulk_assign(self, request):
        values = parse(BulkAssignSerializer, request)
        records = _records(self, values["ids"])
        bulk.records_assign(actor=request.user, records=records, owner=values["owner"])
        return Response({"count": len(records), "ids": [record.pk for record in records]})


class BulkStageMixin:
    """`POST /api/v1/accounts/bulk-stage/` (needs the change grant)."""

    @extend_schema(
        request=BulkStageSerializer,
        responses={200: BulkResultSerializer, **error_responses(400, 401, 403, 415)},
        description="Move every listed account to `lifecycle_stage`, all or nothing: one "
        "account the caller may not change refuses the whole request, naming it. Each change "
        "is audited with its before and after.",
    )
    @action(detail=False, methods=["post"], url_path="bulk-stage")
    def bulk_stage(self, request):
        values = parse(BulkStageSerializer, request)
        accounts = _records(self, values["ids"])
        bulk.accounts_set_stage(
            actor=request.user, accounts=accounts, stage=values["lifecycle_stage"]
        )
        return Response({"count": len(accounts), "ids": [account.pk for account in accounts]})
