"""Merges in the API: merge two accounts or two contacts, read a merge, undo it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity import policy
from rapport.identity.api import GenericViewSet, SignedIn
from rapport.identity.models import Action

from . import services
from .models import Account, Contact, MergeRecord
from .services.merge import OTHER, SURVIVOR

MODELS = {Account.security_type: Account, Contact.security_type: Contact}
MERGE_TYPES = [(code, code) for code in sorted(MODELS)]  # the schema's MergeTypeEnum


class MergeInputSerializer(StrictInputSerializer):
    type = serializers.ChoiceField(choices=MERGE_TYPES)
    survivor = serializers.IntegerField(help_text="The record that stays.")
    other = serializers.IntegerField(help_text="The record merged into it (kept, inactive).")
    keep = serializers.DictField(
        child=serializers.ChoiceField(choices=[SURVIVOR, OTHER]),
        required=False,
        help_text='Per field, whose value survives: {"name": "other"}. Unnamed fields keep '
        "the survivor's value unless it is blank.",
    )


class MergeSerializer(serializers.ModelSerializer):
    merged_by = serializers.CharField(source="merged_by.username")
    undone_by = serializers.CharField(source="undone_by.username", allow_null=True)
    moved = serializers.SerializerMethodField(help_text="Counts of what moved, by kind.")

    class Meta:
        model = MergeRecord
        fields = [
            "id",
            "object_type",
            "survivor_id",
            "loser_id",
            "merged_by",
            "merged_at",
            "moved",
            "undone_by",
            "undone_at",
        ]

    def get_moved(self, merge) -> dict[str, int]:
        return {kind: len(ids) for kind, ids in (merge.moved or {}).items()}


class MergeViewSet(GenericViewSet):
    """Merge duplicates. Needs change on both records and delete on the one merged away
    (checked by the service); a merge is visible to whoever may view its survivor."""

    permission_classes = [SignedIn]
    serializer_class = MergeSerializer

    def get_queryset(self):
        return MergeRecord.objects.none()

    def _visible(self, pk) -> MergeRecord:
        merge = MergeRecord.objects.select_related("merged_by", "undone_by").filter(pk=pk).first()
        model = MODELS.get(merge.object_type) if merge else None
        if model is None or not (
            model.objects.restrict(self.request.user, Action.VIEW)
            .filter(pk=merge.survivor_id)
            .exists()
        ):
            raise NotFound()
        return merge

    @extend_schema(
        request=MergeInputSerializer,
        responses={201: MergeSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def create(self, request):
        values = parse(MergeInputSerializer, request)
        model = MODELS[values["type"]]
        survivor = policy.get_for(request.user, Action.CHANGE, model, values["survivor"])
        other = policy.get_for(request.user, Action.VIEW, model, values["other"])
        merge = services.records_merge(
            actor=request.user, survivor=survivor, other=other, keep=values.get("keep")
        )
        return Response(
            MergeSerializer(self._visible(merge.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(responses={200: MergeSerializer, **error_responses(401, 404)})
    def retrieve(self, request, pk=None):
        return Response(MergeSerializer(self._visible(pk)).data)

    @extend_schema(
        request=None, responses={200: MergeSerializer, **error_responses(400, 401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        merge = self._visible(pk)
        services.merge_undo(actor=request.user, merge=merge)
        return Response(MergeSerializer(self._visible(pk)).data)
