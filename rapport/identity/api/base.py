"""The permission every endpoint declares, the base views and shared serializers."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy
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


class GenericViewSet(LanguageMixin, viewsets.GenericViewSet):
    """Base of every Rapport viewset. The default permission denies everything."""

    lookup_value_converter = "int"  # with SimpleRouter(use_regex_path=False): ids are ints


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    name = serializers.CharField(source="__str__", read_only=True)


class DepartmentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    code = serializers.CharField(read_only=True)


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
