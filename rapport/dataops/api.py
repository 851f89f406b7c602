"""Data operations API: the duplicate check a client runs before it creates a record."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from rapport.core import duplicates
from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.identity.api.base import APIView, SignedIn


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
