"""API plumbing shared by every app: deny-by-default, cursor pagination, one error shape.

Every error response has this body (the `Error` schema in OpenAPI):

    {"error": {"code": "validation_error", "message": "…",
               "fields": {"credit_code": [{"code": "check_digit", "message": "…"}]}}}
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, pagination, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = "-id"

    def decode_cursor(self, request):
        # DRF answers a cursor it cannot decode with 404; it is bad input, documented as 400.
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError(
                {
                    self.cursor_query_param: [
                        exceptions.ErrorDetail(
                            str(self.invalid_cursor_message), code="invalid_cursor"
                        )
                    ]
                }
            ) from None


class FieldErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable error code.")
    message = serializers.CharField(help_text="Human-readable message in the request language.")
    fields = serializers.DictField(
        child=FieldErrorSerializer(many=True), required=False, help_text="Errors per field name."
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


ERROR_RESPONSES = {
    code: OpenApiResponse(ErrorSerializer, description=description)
    for code, description in (
        (400, "Bad input"),
        (401, "Not authenticated"),
        (403, "Permission denied"),
        (404, "Not found"),
    )
}
ERROR_RESPONSES_409 = {
    **ERROR_RESPONSES,
    409: OpenApiResponse(ErrorSerializer, description="Conflict"),
    415: OpenApiResponse(ErrorSerializer, description="Unsupported request media type"),
}


def error_responses(*codes: int) -> dict:
    """The documented error responses of an operation: `error_responses(400, 404)`."""
    return {code: ERROR_RESPONSES_409[code] for code in codes}


# --- input parsing --------------------------------------------------------------------------


class StrictInputSerializer(serializers.Serializer):
    """Parse-only input: a field the endpoint does not know is an error naming that field.

    Silently ignoring a misspelt field would make a client believe a change was saved.
    """

    unknown_field_message = gettext_lazy("Unknown field.")

    def to_internal_value(self, data):
        if isinstance(data, dict):
            known = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - known)
            if unknown:
                raise exceptions.ValidationError(
                    {
                        name: [
                            exceptions.ErrorDetail(
                                str(self.unknown_field_message), code="unknown_field"
                            )
                        ]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


def parse(serializer_class, request, *, partial: bool = False, **context) -> dict:
    """Validate the request body with an input serializer; the values given, nothing else."""
    serializer = serializer_class(
        data=request.data, partial=partial, context={"request": request, **context}
    )
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- views ----------------------------------------------------------------------------------


class LanguageMixin:
    """Answer in the signed-in user's saved language, also for bearer-token requests.

    The locale middleware only sees session users; a token is authenticated inside the view,
    so the user's language is activated here, and Content-Language says what was used.
    Mixed into the base views in `rapport.identity.api` (not defined here: DRF imports this
    module while loading its settings, before its generic views exist).
    """

    def perform_authentication(self, request) -> None:
        super().perform_authentication(request)  # type: ignore[misc]
        language = getattr(request.user, "language", "")
        if language and translation.check_for_language(language):
            translation.activate(language)
            request._request.LANGUAGE_CODE = translation.get_language()

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        response["Content-Language"] = translation.get_language()
        return response


def _error(code: str, message: str, fields: dict | None = None) -> dict:
    body: dict = {"code": code, "message": str(message)}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _drf_fields(detail, prefix: str = "") -> dict[str, list[dict[str, str]]]:
    fields: dict[str, list[dict[str, str]]] = {}
    if isinstance(detail, dict):
        for name, value in detail.items():
            key = (
                f"{prefix}{name}"
                if name != "non_field_errors"
                else (prefix.rstrip(".") or "__all__")
            )
            nested = _drf_fields(value, f"{key}.") if isinstance(value, dict) else None
            if nested:
                fields.update(nested)
            else:
                items = value if isinstance(value, list) else [value]
                fields[key] = [
                    {"code": getattr(item, "code", "invalid") or "invalid", "message": str(item)}
                    for item in items
                    if not isinstance(item, (dict, list))
                ]
    elif isinstance(detail, list):
        fields[prefix.rstrip(".") or "__all__"] = [
            {"code": getattr(item, "code", "invalid") or "invalid", "message": str(item)}
            for item in detail
        ]
    return fields


def django_validation_fields(error: DjangoValidationError) -> dict[str, list[dict[str, str]]]:
    fields: dict[str, list[dict[str, str]]] = {}
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            key = "__all__" if name == "__all__" else name
            fields[key] = [
                {"code": item.code or "invalid", "message": " ".join(item.messages)}
                for item in errors
            ]
    else:
        fields["__all__"] = [
            {"code": item.code or "invalid", "message": " ".join(item.messages)}
            for item in error.error_list
        ]
    return fields


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        return Response(
            _error(
                "validation_error", _("Some fields are not valid."), django_validation_fields(exc)
            ),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DomainError):
        fields = (
            {exc.field: [{"code": exc.code, "message": str(exc.message)}]} if exc.field else None
        )
        return Response(_error(exc.code, exc.message, fields), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _error(
            "validation_error", _("Some fields are not valid."), _drf_fields(exc.detail)
        )
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = _error(code, str(detail))
    return response
