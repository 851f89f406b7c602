"""The permission every endpoint declares, the base views and shared serializers."""

from __future__ import annotations

import zoneinfo

import django_filters
from django import forms
from django.db.models import Q
from django.urls import register_converter
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import permissions, serializers, views, viewsets

from rapport.core.api import LanguageMixin
from rapport.core.errors import NotFound

from .. import policy
from ..models import Action

METHOD_ACTIONS = {
    "GET": Action.VIEW,
    "HEAD": Action.VIEW,
    "OPTIONS": Action.VIEW,
    "POST": Action.ADD,
    "PUT": Action.CHANGE,
    "PATCH": Action.CHANGE,
    "DELETE": Action.DELETE,
}


def required_grant(request, view) -> tuple[str, str] | None:
    """(object type, action) the request needs, or None when being signed in is enough.

    The view names `object_type`; the action follows the HTTP method unless the view's
    `grant_actions` names it for a viewset action, as an action ("delete"), an
    (object type, action) pair, or None ("the service decides": self-service, requests).
    """
    object_type = view.object_type
    overrides = getattr(view, "grant_actions", {})
    name = getattr(view, "action", None)
    if name in overrides:
        required = overrides[name]
        if required is None or isinstance(required, tuple):
            return required
        return object_type, required
    return object_type, METHOD_ACTIONS.get(request.method or "", Action.MANAGE)


class GrantPermission(permissions.BasePermission):
    """Signed in, active, and holding a grant for the view's object type and the action.

    This is the coarse gate ("may this user add accounts at all?"); which records are
    reachable is decided by `restrict()` querysets and `policy.get_for`, and services check
    again. Object checks use `policy.can` for records of secured models.
    """

    message = gettext_lazy("You do not have permission to do this.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        required = required_grant(request, view)
        if required is None:
            return True
        return policy.has_grant(user, *required)

    def has_object_permission(self, request, view, obj) -> bool:
        required = required_grant(request, view)
        if required is None or not hasattr(type(obj), "security_type"):
            return True
        return policy.can(request.user, required[1], obj)


class SignedIn(permissions.IsAuthenticated):
    """Any active signed-in user: for self-service endpoints whose services check the rest."""

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and request.user.is_active


class APIView(LanguageMixin, views.APIView):
    """Base of every Rapport API view. The default permission denies everything."""


class RecordId:
    """A record id in a path: 1 to 18 digits, so that no id overflows a 64-bit column
    (Django's "int" takes any length; a 25-digit id then failed inside the database)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(RecordId, "recordid")


class GenericViewSet(LanguageMixin, viewsets.GenericViewSet):
    """Base of every Rapport viewset. The default permission denies everything."""

    # with SimpleRouter(use_regex_path=False): ids are ints that fit the database
    lookup_value_converter = "recordid"


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    name = serializers.CharField(source="__str__", read_only=True)


class DepartmentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    code = serializers.CharField(read_only=True)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """A record id in the query string: a whole number the database can compare, else a 400.

    NumberFilter takes any decimal up to 1e50; a value past the 64-bit id range made the
    database driver overflow (a 500) instead of the request being refused.
    """

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", -(2**63))
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)

    def get_max_validator(self):
        return None  # the field's own max_value bounds it


class TimeZoneField(serializers.CharField):
    """A time zone name such as "Asia/Shanghai".

    Refused here when zoneinfo cannot load it: a folder ("America") or a name too long for a
    file name made zoneinfo raise OSError, which the service's check did not expect (a 500).
    """

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            raise serializers.ValidationError(
                _("Unknown time zone “%(tz)s”.") % {"tz": value}, code="invalid_choice"
            ) from None
        return value


class CodeRelatedField(serializers.SlugRelatedField):
    """A record named by a text field, such as a role by its code.

    A name with U+0000 names no record; looked up, PostgreSQL refused the text with a
    DataError (a 500), which the lookup's own "does not exist" did not catch.
    """

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


def _search_filter(fields: tuple[str, ...]):
    def search(queryset, name, value):
        value = (value or "").strip()
        if not value:
            return queryset
        condition = Q()
        for field in fields:
            condition |= Q(**{f"{field}__icontains": value})
        return queryset.filter(condition)

    return search


def _pk_or_404(pk) -> int:
    try:
        return int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
