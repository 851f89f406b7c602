"""REST API of identity: the token endpoint, users, departments, teams, roles and grants,
account requests, the signed-in user's profile and tokens, record shares.

Also the permission every API endpoint builds on: `GrantPermission`, which reads the view's
`object_type` and the request's action and asks the one grant logic (`policy`).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.apps import apps
from django.conf import settings
from django.contrib.auth import authenticate, user_login_failed
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import permissions, serializers, status, views, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core import trail
from rapport.core.api import LanguageMixin, StrictInputSerializer, error_responses, parse
from rapport.core.errors import DomainError, NotFound, PermissionDenied

from . import policy, services
from .backends import axes_username
from .middleware import has_mfa, requires_mfa
from .models import (
    AccountRequest,
    Action,
    ApiToken,
    Department,
    FieldRule,
    Grant,
    RecordShare,
    Role,
    Team,
    User,
)

# --- the permission every endpoint declares ------------------------------------------------

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


# --- base views: every endpoint derives from these and declares `permission_classes` -------


class APIView(LanguageMixin, views.APIView):
    """Base of every Rapport API view. The default permission denies everything."""


class GenericViewSet(LanguageMixin, viewsets.GenericViewSet):
    """Base of every Rapport viewset. The default permission denies everything."""

    lookup_value_converter = "int"  # with SimpleRouter(use_regex_path=False): ids are ints


# --- small shared serializers --------------------------------------------------------------


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


# --- token endpoint ------------------------------------------------------------------------


class TokenRequestSerializer(StrictInputSerializer):
    username = serializers.CharField(help_text="Username or e-mail address.")
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Authenticator code, or a recovery code; required when the user has TOTP.",
    )
    name = serializers.CharField(required=False, max_length=100, help_text="The token's name.")
    days = serializers.IntegerField(required=False, help_text="Lifetime in days (1–366).")


class TokenIssuedSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True, help_text="The secret; shown only this once.")
    expires_at = serializers.DateTimeField(read_only=True)


class InvalidCredentials(DomainError):
    status = 401
    default_code = "invalid_credentials"
    default_message = gettext_lazy("The username or password is not correct.")


class AccountLocked(PermissionDenied):
    default_code = "account_locked"
    default_message = gettext_lazy(
        "This account is locked after too many failed sign-ins. Ask an administrator to unlock it."
    )


def _verify_second_factor(user: User, code: str) -> bool:
    from allauth.mfa.models import Authenticator

    code = (code or "").strip().replace(" ", "")
    if not code:
        return False
    for authenticator in Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES]
    ).order_by("-type"):  # TOTP first, then recovery codes
        # `wrap()` gives allauth's own TOTP / RecoveryCodes checkers (TOTP marks a code used).
        if authenticator.wrap().validate_code(code):
            authenticator.record_usage()
            return True
    return False


class TokenView(APIView):
    """Exchange username (or e-mail) + password [+ TOTP] for a bearer token.

    Public by design. Failures count towards the django-axes lockout like a web sign-in.
    """

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]  # public: this is how a client signs in

    @extend_schema(
        operation_id="auth_token_create",
        tags=["auth"],
        auth=[],
        request=TokenRequestSerializer,
        responses={201: TokenIssuedSerializer, **error_responses(400, 401, 403)},
        description=(
            "Sign in with username or e-mail and password, plus `otp` when the user has "
            "two-factor authentication. Errors: `invalid_credentials` (401), `otp_required` / "
            "`otp_invalid` (400), `account_locked` (403), `mfa_setup_required` (403)."
        ),
    )
    def post(self, request):
        values = parse(TokenRequestSerializer, request)
        login = values["username"].strip()
        credentials = {"username": login}
        user = authenticate(request=request._request, username=login, password=values["password"])
        if user is None:
            if getattr(request._request, "axes_locked_out", False):
                raise AccountLocked()
            raise InvalidCredentials()
        otp_used = False
        if has_mfa(user):
            code = values.get("otp", "")
            if not code:
                raise DomainError(
                    _("Enter the code from your authenticator app."),
                    code="otp_required",
                    field="otp",
                )
            if not _verify_second_factor(user, code):
                # A wrong second factor counts as a failed sign-in (audit and lockout).
                user_login_failed.send(
                    sender=__name__, credentials=credentials, request=request._request
                )
                if getattr(request._request, "axes_locked_out", False):
                    raise AccountLocked()
                raise DomainError(
                    _("The authenticator code is not correct."), code="otp_invalid", field="otp"
                )
            otp_used = True
        elif requires_mfa(user):
            raise PermissionDenied(
                _("Your role requires two-factor authentication. Set it up before using the API."),
                code="mfa_setup_required",
            )
        with transaction.atomic():  # no sign-in event without the token it issued
            trail.record(
                actor=user,
                action="auth.login",
                target=user,
                extra={"method": "password+otp" if otp_used else "password", "via": "api_token"},
            )
            token, secret = services.token_create(
                actor=user,
                name=values.get("name") or _("API token %(date)s") % {"date": timezone.localdate()},
                days=values.get("days"),
            )
        if settings.AXES_RESET_ON_SUCCESS:
            from axes.utils import reset

            reset(username=axes_username(None, credentials))
        return Response(
            {"token": secret, "expires_at": token.expires_at}, status=status.HTTP_201_CREATED
        )


# --- users ---------------------------------------------------------------------------------


class UserOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    name = serializers.CharField(source="__str__", read_only=True)
    phone = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    department = DepartmentRefSerializer(read_only=True, allow_null=True)
    manager = UserRefSerializer(read_only=True, allow_null=True)
    roles = serializers.SerializerMethodField(help_text="Role codes.")

    def get_roles(self, record) -> list[str]:
        return [role.code for role in record.roles.all()]

    language = serializers.CharField(read_only=True)
    timezone = serializers.CharField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    deactivated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    successor = UserRefSerializer(read_only=True, allow_null=True)
    last_login = serializers.DateTimeField(read_only=True, allow_null=True)
    date_joined = serializers.DateTimeField(read_only=True)


class UserDetailSerializer(UserOutputSerializer):
    is_locked = serializers.SerializerMethodField()
    mfa_enabled = serializers.SerializerMethodField()

    def get_is_locked(self, user: User) -> bool:
        return services.user_is_locked(user)

    def get_mfa_enabled(self, user: User) -> bool:
        return has_mfa(user)


class UserCreateSerializer(StrictInputSerializer):
    username = serializers.CharField(allow_blank=True, trim_whitespace=False)
    email = serializers.CharField(required=False, allow_blank=True)
    password = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, write_only=True
    )
    display_name = serializers.CharField(required=False, allow_blank=True)
    title = serializers.CharField(required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True)
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True
    )
    manager = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )
    roles = serializers.SlugRelatedField(
        slug_field="code", queryset=Role.objects.all(), many=True, required=False
    )
    language = serializers.CharField(required=False)
    timezone = serializers.CharField(required=False)


class UserUpdateSerializer(StrictInputSerializer):
    username = serializers.CharField(required=False, allow_blank=True)
    email = serializers.CharField(required=False, allow_blank=True)
    display_name = serializers.CharField(required=False, allow_blank=True)
    title = serializers.CharField(required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True)
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True
    )
    manager = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )
    language = serializers.CharField(required=False)
    timezone = serializers.CharField(required=False)


class ReasonSerializer(StrictInputSerializer):
    reason = serializers.CharField(required=False, allow_blank=True)


class OffboardSerializer(StrictInputSerializer):
    successor = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    reason = serializers.CharField(required=False, allow_blank=True)


class OffboardResultSerializer(serializers.Serializer):
    moved = serializers.DictField(
        child=serializers.IntegerField(), help_text="Records handed over, per record type."
    )
    user = UserOutputSerializer()


class UserRolesSerializer(StrictInputSerializer):
    roles = serializers.SlugRelatedField(
        slug_field="code", queryset=Role.objects.all(), many=True, allow_empty=True
    )


class UserFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method=_search_filter(("username", "email", "display_name")),
        label=gettext_lazy("Search"),
    )
    department = django_filters.NumberFilter(field_name="department_id")
    role = django_filters.CharFilter(field_name="roles__code", distinct=True)

    class Meta:
        model = User
        fields = ["is_active"]


@extend_schema_view(
    list=extend_schema(responses={200: UserOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(responses={200: UserDetailSerializer, **error_responses(401, 403, 404)}),
)
class UserViewSet(GenericViewSet):
    """Users (never deleted: deactivated or offboarded)."""

    object_type = "identity.user"
    permission_classes = [GrantPermission]
    grant_actions = {
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
        "deactivate": Action.MANAGE,
        "reactivate": Action.MANAGE,
        "offboard": Action.MANAGE,
        "unlock": Action.MANAGE,
        "roles": ("identity.role", Action.MANAGE),
    }
    serializer_class = UserOutputSerializer
    filterset_class = UserFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["username", "date_joined", "id"]

    def get_queryset(self):
        return (
            User.objects.restrict(self.request.user, Action.VIEW)
            .select_related("department", "manager", "successor")
            .prefetch_related("roles")
        )

    def _managed(self, pk) -> User:
        return policy.get_for(self.request.user, Action.MANAGE, User, _pk_or_404(pk))

    def _detail(self, user: User, status_code: int = 200) -> Response:
        user = self.get_queryset().get(pk=user.pk)
        return Response(UserDetailSerializer(user).data, status=status_code)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(UserOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(UserDetailSerializer(self.get_object()).data)

    @extend_schema(
        request=UserCreateSerializer,
        responses={201: UserDetailSerializer, **error_responses(400, 401, 403)},
    )
    def create(self, request):
        values = parse(UserCreateSerializer, request)
        if "timezone" in values:
            values["timezone_name"] = values.pop("timezone")
        user = services.user_create(actor=request.user, **values)
        return self._detail(user, status.HTTP_201_CREATED)

    @extend_schema(
        request=UserUpdateSerializer,
        responses={200: UserDetailSerializer, **error_responses(400, 401, 403, 404)},
    )
    def partial_update(self, request, pk=None):
        user = self._managed(pk)
        values = parse(UserUpdateSerializer, request, partial=True)
        services.user_update(actor=request.user, user=user, **values)
        return self._detail(user)

    @extend_schema(
        request=ReasonSerializer,
        responses={200: UserDetailSerializer, **error_responses(400, 401, 403, 404)},
        description="Deactivate: ends every session and revokes every API token.",
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        user = self._managed(pk)
        values = parse(ReasonSerializer, request)
        services.user_deactivate(actor=request.user, user=user, reason=values.get("reason", ""))
        return self._detail(user)

    @extend_schema(
        request=None, responses={200: UserDetailSerializer, **error_responses(401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        user = self._managed(pk)
        services.user_reactivate(actor=request.user, user=user)
        return self._detail(user)

    @extend_schema(
        request=OffboardSerializer,
        responses={200: OffboardResultSerializer, **error_responses(400, 401, 403, 404)},
        description=(
            "Offboard in one audited step: deactivate, end sessions, revoke tokens and hand "
            "every owned record to `successor`."
        ),
    )
    @action(detail=True, methods=["post"])
    def offboard(self, request, pk=None):
        user = self._managed(pk)
        values = parse(OffboardSerializer, request)
        moved = services.user_offboard(
            actor=request.user,
            user=user,
            successor=values["successor"],
            reason=values.get("reason", ""),
        )
        user = self.get_queryset().get(pk=user.pk)
        return Response({"moved": moved, "user": UserOutputSerializer(user).data})

    @extend_schema(
        request=None, responses={200: UserDetailSerializer, **error_responses(401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def unlock(self, request, pk=None):
        user = self._managed(pk)
        services.user_unlock(actor=request.user, user=user)
        return self._detail(user)

    @extend_schema(
        request=UserRolesSerializer,
        responses={200: UserDetailSerializer, **error_responses(400, 401, 403, 404)},
        description="Replace the user's roles with the given role codes.",
    )
    @action(detail=True, methods=["post", "put"])
    def roles(self, request, pk=None):
        user = policy.get_for(request.user, Action.VIEW, User, _pk_or_404(pk))
        values = parse(UserRolesSerializer, request)
        services.user_set_roles(actor=request.user, user=user, roles=values["roles"])
        return self._detail(user)


# --- departments and teams -----------------------------------------------------------------


class DepartmentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    code = serializers.CharField(read_only=True)
    parent = serializers.IntegerField(source="parent_id", read_only=True, allow_null=True)
    path = serializers.CharField(read_only=True)
    depth = serializers.IntegerField(read_only=True)
    manager = UserRefSerializer(read_only=True, allow_null=True)
    is_active = serializers.BooleanField(read_only=True)


class DepartmentCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(allow_blank=True)
    code = serializers.CharField(allow_blank=True)
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True
    )
    manager = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )


class DepartmentUpdateSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True)
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True
    )
    manager = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )


class DepartmentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method=_search_filter(("name", "code")), label=gettext_lazy("Search")
    )
    parent = django_filters.NumberFilter(field_name="parent_id")

    class Meta:
        model = Department
        fields = ["is_active"]


@extend_schema_view(
    list=extend_schema(
        responses={200: DepartmentOutputSerializer, **error_responses(400, 401, 403)}
    ),
    retrieve=extend_schema(
        responses={200: DepartmentOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class DepartmentViewSet(GenericViewSet):
    """The organisation tree. Reading needs the user view grant; changes need user manage."""

    object_type = "identity.user"
    permission_classes = [GrantPermission]
    grant_actions = {"create": Action.MANAGE, "partial_update": Action.MANAGE}
    serializer_class = DepartmentOutputSerializer
    filterset_class = DepartmentFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["name", "code", "path", "id"]

    def get_queryset(self):
        return Department.objects.select_related("manager")

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(DepartmentOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(DepartmentOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=DepartmentCreateSerializer,
        responses={201: DepartmentOutputSerializer, **error_responses(400, 401, 403)},
    )
    def create(self, request):
        values = parse(DepartmentCreateSerializer, request)
        department = services.department_create(actor=request.user, **values)
        return Response(DepartmentOutputSerializer(department).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=DepartmentUpdateSerializer,
        responses={200: DepartmentOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    def partial_update(self, request, pk=None):
        department = self.get_object()
        values = parse(DepartmentUpdateSerializer, request, partial=True)
        department = services.department_update(actor=request.user, department=department, **values)
        return Response(DepartmentOutputSerializer(department).data)


class TeamOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    department = DepartmentRefSerializer(read_only=True, allow_null=True)
    lead = UserRefSerializer(read_only=True, allow_null=True)
    members = UserRefSerializer(many=True, read_only=True)


class TeamCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(allow_blank=True)
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True
    )
    lead = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )
    members = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), many=True, required=False
    )


class TeamUpdateSerializer(StrictInputSerializer):
    members = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), many=True)


class TeamFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method=_search_filter(("name",)), label=gettext_lazy("Search"))
    department = django_filters.NumberFilter(field_name="department_id")
    member = django_filters.NumberFilter(field_name="members", distinct=True)

    class Meta:
        model = Team
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(responses={200: TeamOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(responses={200: TeamOutputSerializer, **error_responses(401, 403, 404)}),
)
class TeamViewSet(GenericViewSet):
    object_type = "identity.user"
    permission_classes = [GrantPermission]
    grant_actions = {"create": Action.MANAGE, "partial_update": Action.MANAGE}
    serializer_class = TeamOutputSerializer
    filterset_class = TeamFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["name", "id"]

    def get_queryset(self):
        return Team.objects.select_related("department", "lead").prefetch_related("members")

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(TeamOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(TeamOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=TeamCreateSerializer,
        responses={201: TeamOutputSerializer, **error_responses(400, 401, 403)},
    )
    def create(self, request):
        values = parse(TeamCreateSerializer, request)
        team = services.team_create(actor=request.user, **values)
        return Response(
            TeamOutputSerializer(self.get_queryset().get(pk=team.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=TeamUpdateSerializer,
        responses={200: TeamOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Replace the team's members.",
    )
    def partial_update(self, request, pk=None):
        team = self.get_object()
        values = parse(TeamUpdateSerializer, request)
        services.team_set_members(actor=request.user, team=team, members=values["members"])
        return Response(TeamOutputSerializer(self.get_queryset().get(pk=team.pk)).data)


# --- roles, grants, field rules ------------------------------------------------------------


class GrantOutputSerializer(serializers.Serializer):
    object_type = serializers.CharField(read_only=True)
    action = serializers.CharField(read_only=True)
    scope = serializers.CharField(read_only=True)
    conditions = serializers.DictField(read_only=True)


class FieldRuleOutputSerializer(serializers.Serializer):
    object_type = serializers.CharField(read_only=True)
    field = serializers.CharField(read_only=True)
    rule = serializers.CharField(read_only=True)


class RoleOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(source="__str__", read_only=True)
    description = serializers.CharField(read_only=True)
    is_builtin = serializers.BooleanField(read_only=True)
    require_mfa = serializers.BooleanField(read_only=True)
    grants = GrantOutputSerializer(many=True, read_only=True)
    field_rules = FieldRuleOutputSerializer(many=True, read_only=True)


class RoleCreateSerializer(StrictInputSerializer):
    code = serializers.CharField(allow_blank=True)
    name = serializers.CharField(allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    require_mfa = serializers.BooleanField(required=False)


class RoleUpdateSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    require_mfa = serializers.BooleanField(required=False)


class GrantInputSerializer(StrictInputSerializer):
    object_type = serializers.CharField(help_text="e.g. customers.account")
    action = serializers.CharField(help_text="view, add, change, delete, export, import, …")
    scope = serializers.CharField(
        allow_null=True, help_text="own, team, department, all; null removes the grant."
    )
    conditions = serializers.DictField(
        required=False, allow_empty=True, help_text='e.g. {"province": ["广东省"]}'
    )


class FieldRuleInputSerializer(StrictInputSerializer):
    object_type = serializers.CharField()
    field = serializers.CharField()
    rule = serializers.CharField(
        allow_null=True, help_text="readonly, masked, hidden; null removes the rule."
    )


class RoleFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method=_search_filter(("code", "name")), label=gettext_lazy("Search")
    )

    class Meta:
        model = Role
        fields = ["is_builtin", "require_mfa"]


@extend_schema_view(
    list=extend_schema(responses={200: RoleOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(responses={200: RoleOutputSerializer, **error_responses(401, 403, 404)}),
)
class RoleViewSet(GenericViewSet):
    object_type = "identity.role"
    permission_classes = [GrantPermission]
    grant_actions = {
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
        "grants": Action.MANAGE,
        "field_rules": Action.MANAGE,
    }
    serializer_class = RoleOutputSerializer
    filterset_class = RoleFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["code", "name", "id"]

    def get_queryset(self):
        return Role.objects.prefetch_related(
            Prefetch("grants", queryset=Grant.objects.order_by("object_type", "action")),
            Prefetch("field_rules", queryset=FieldRule.objects.order_by("object_type", "field")),
        )

    def _render(self, role: Role, status_code: int = 200) -> Response:
        return Response(
            RoleOutputSerializer(self.get_queryset().get(pk=role.pk)).data, status=status_code
        )

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(RoleOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(RoleOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=RoleCreateSerializer,
        responses={201: RoleOutputSerializer, **error_responses(400, 401, 403)},
    )
    def create(self, request):
        values = parse(RoleCreateSerializer, request)
        role = services.role_create(actor=request.user, **values)
        return self._render(role, status.HTTP_201_CREATED)

    @extend_schema(
        request=RoleUpdateSerializer,
        responses={200: RoleOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    def partial_update(self, request, pk=None):
        role = self.get_object()
        values = parse(RoleUpdateSerializer, request, partial=True)
        services.role_update(actor=request.user, role=role, **values)
        return self._render(role)

    @extend_schema(
        request=GrantInputSerializer,
        responses={200: RoleOutputSerializer, **error_responses(400, 401, 403, 404)},
        description=(
            "Set the role's grant for one object type and action (scope null removes it). "
            "An action the object type does not have is refused with code `unknown_action`."
        ),
    )
    @action(detail=True, methods=["post", "put"])
    def grants(self, request, pk=None):
        role = self.get_object()
        values = parse(GrantInputSerializer, request)
        services.grant_set(
            actor=request.user,
            role=role,
            object_type=values["object_type"],
            action=values["action"],
            scope=values["scope"],
            conditions=values.get("conditions") or None,
        )
        return self._render(role)

    @extend_schema(
        request=FieldRuleInputSerializer,
        responses={200: RoleOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Set (or with rule null remove) a field rule of the role.",
    )
    @action(detail=True, methods=["post", "put"], url_path="field-rules")
    def field_rules(self, request, pk=None):
        role = self.get_object()
        values = parse(FieldRuleInputSerializer, request)
        services.field_rule_set(actor=request.user, role=role, **values)
        return self._render(role)


# --- account requests ----------------------------------------------------------------------


class AccountRequestOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    department = DepartmentRefSerializer(read_only=True, allow_null=True)
    roles = serializers.SerializerMethodField(help_text="Role codes.")

    def get_roles(self, record) -> list[str]:
        return [role.code for role in record.roles.all()]

    reason = serializers.CharField(read_only=True)
    state = serializers.CharField(read_only=True)
    requested_by = UserRefSerializer(read_only=True)
    decided_by = UserRefSerializer(read_only=True, allow_null=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    decision_note = serializers.CharField(read_only=True)
    created_user = UserRefSerializer(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)


class AccountRequestCreateSerializer(StrictInputSerializer):
    username = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    display_name = serializers.CharField(allow_blank=True)
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True
    )
    roles = serializers.SlugRelatedField(
        slug_field="code", queryset=Role.objects.all(), many=True, required=False
    )
    reason = serializers.CharField(required=False, allow_blank=True)


class DecisionSerializer(StrictInputSerializer):
    note = serializers.CharField(required=False, allow_blank=True)


class AccountRequestFilter(django_filters.FilterSet):
    class Meta:
        model = AccountRequest
        fields = ["state"]


@extend_schema_view(
    list=extend_schema(
        responses={200: AccountRequestOutputSerializer, **error_responses(400, 401, 403)}
    ),
    retrieve=extend_schema(
        responses={200: AccountRequestOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class AccountRequestViewSet(GenericViewSet):
    """Managers request accounts for new colleagues; administrators approve or reject.

    Administrators (user manage) see every request; anyone else sees the requests they made.
    Who may request is the service's rule (user add grant, department manager or team lead).
    """

    object_type = "identity.user"
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": None,
        "retrieve": None,
        "create": None,
        "approve": Action.MANAGE,
        "reject": Action.MANAGE,
    }
    serializer_class = AccountRequestOutputSerializer
    filterset_class = AccountRequestFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["created_at", "id"]

    def get_queryset(self):
        if not self.request.user.is_authenticated:  # schema generation
            return AccountRequest.objects.none()
        requests = AccountRequest.objects.select_related(
            "department", "requested_by", "decided_by", "created_user"
        ).prefetch_related("roles")
        if not policy.has_grant(self.request.user, "identity.user", Action.MANAGE):
            requests = requests.filter(requested_by=self.request.user)
        return requests

    def _render(self, request_record: AccountRequest, status_code: int = 200) -> Response:
        return Response(
            AccountRequestOutputSerializer(self.get_queryset().get(pk=request_record.pk)).data,
            status=status_code,
        )

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(AccountRequestOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(AccountRequestOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=AccountRequestCreateSerializer,
        responses={201: AccountRequestOutputSerializer, **error_responses(400, 401, 403)},
    )
    def create(self, request):
        values = parse(AccountRequestCreateSerializer, request)
        created = services.account_request_create(actor=request.user, **values)
        return self._render(created, status.HTTP_201_CREATED)

    def _decide(self, request, pk, approve: bool) -> Response:
        request_record = self.get_object()
        values = parse(DecisionSerializer, request)
        services.account_request_decide(
            actor=request.user,
            request=request_record,
            approve=approve,
            note=values.get("note", ""),
        )
        return self._render(request_record)

    @extend_schema(
        request=DecisionSerializer,
        responses={200: AccountRequestOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Approve: creates the user (who sets a password through a reset link).",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, pk, approve=True)

    @extend_schema(
        request=DecisionSerializer,
        responses={200: AccountRequestOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, pk, approve=False)


# --- the signed-in user --------------------------------------------------------------------


class MeUpdateSerializer(StrictInputSerializer):
    display_name = serializers.CharField(required=False, allow_blank=True)
    language = serializers.CharField(required=False)
    timezone = serializers.CharField(required=False)
    phone = serializers.CharField(required=False, allow_blank=True)


class MeView(APIView):
    """The signed-in user's own profile: language, time zone, name, phone."""

    permission_classes = [SignedIn]

    def _render(self, request) -> Response:
        user = (
            User.objects.select_related("department", "manager", "successor")
            .prefetch_related("roles")
            .get(pk=request.user.pk)
        )
        return Response(UserDetailSerializer(user).data)

    @extend_schema(tags=["me"], responses={200: UserDetailSerializer, **error_responses(401)})
    def get(self, request):
        return self._render(request)

    @extend_schema(
        tags=["me"],
        request=MeUpdateSerializer,
        responses={200: UserDetailSerializer, **error_responses(400, 401)},
    )
    def patch(self, request):
        values = parse(MeUpdateSerializer, request, partial=True)
        services.user_update(actor=request.user, user=request.user, **values)
        if "language" in values:  # answer in the language just chosen
            translation.activate(request.user.language)
        return self._render(request)


class ApiTokenOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    prefix = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)
    last_used_at = serializers.DateTimeField(read_only=True, allow_null=True)
    revoked_at = serializers.DateTimeField(read_only=True, allow_null=True)
    is_usable = serializers.BooleanField(read_only=True)


class ApiTokenCreatedSerializer(ApiTokenOutputSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret; shown only this once.")


class ApiTokenCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(allow_blank=True)
    days = serializers.IntegerField(required=False)


@extend_schema_view(
    list=extend_schema(
        tags=["me"], responses={200: ApiTokenOutputSerializer, **error_responses(401)}
    )
)
class MyTokenViewSet(GenericViewSet):
    """The signed-in user's own API tokens."""

    permission_classes = [SignedIn]
    serializer_class = ApiTokenOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        if not self.request.user.is_authenticated:  # schema generation
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ApiTokenOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=["me"],
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenCreatedSerializer, **error_responses(400, 401)},
    )
    def create(self, request):
        values = parse(ApiTokenCreateSerializer, request)
        token, secret = services.token_create(
            actor=request.user, name=values["name"], days=values.get("days")
        )
        data = dict(ApiTokenOutputSerializer(token).data)
        data["token"] = secret
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(tags=["me"], responses={204: None, **error_responses(401, 404)})
    def destroy(self, request, pk=None):
        token = self.get_object()
        services.token_revoke(actor=request.user, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- record shares -------------------------------------------------------------------------


class ShareOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    object_type = serializers.SerializerMethodField()
    object_id = serializers.IntegerField(read_only=True)
    user = UserRefSerializer(read_only=True, allow_null=True)
    team = serializers.IntegerField(source="team_id", read_only=True, allow_null=True)
    level = serializers.CharField(read_only=True)
    granted_by = UserRefSerializer(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    def get_object_type(self, share: RecordShare) -> str:
        return f"{share.content_type.app_label}.{share.content_type.model}"


class ShareCreateSerializer(StrictInputSerializer):
    object_type = serializers.CharField(help_text="e.g. customers.account")
    object_id = serializers.IntegerField()
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    level = serializers.CharField(required=False, help_text="view or change")


def _shareable_model(object_type: str):
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        model = None
    if model is None or not getattr(model, "shareable", False):
        raise DomainError(
            _("Records of type “%(type)s” cannot be shared.") % {"type": object_type},
            code="unknown_object_type",
            field="object_type",
        )
    return model


SHARE_FILTER_PARAMETERS = [
    OpenApiParameter("object_type", OpenApiTypes.STR, required=True),
    OpenApiParameter("object_id", OpenApiTypes.INT, required=True),
]


@extend_schema_view(
    list=extend_schema(
        parameters=SHARE_FILTER_PARAMETERS,
        responses={200: ShareOutputSerializer, **error_responses(400, 401, 404)},
        description="The shares of one record the caller can see.",
    )
)
class ShareViewSet(GenericViewSet):
    """Record shares. The grant checked is the record's own: change it to share or unshare."""

    permission_classes = [SignedIn]
    serializer_class = ShareOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        return RecordShare.objects.select_related("content_type", "user", "granted_by")

    def list(self, request):
        model = _shareable_model(request.query_params.get("object_type", ""))
        record = policy.get_for(
            request.user, Action.VIEW, model, _pk_or_404(request.query_params.get("object_id"))
        )
        shares = self.get_queryset().filter(
            content_type=ContentType.objects.get_for_model(model), object_id=record.pk
        )
        page = self.paginate_queryset(shares)
        return self.get_paginated_response(ShareOutputSerializer(page, many=True).data)

    @extend_schema(
        request=ShareCreateSerializer,
        responses={201: ShareOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    def create(self, request):
        values = parse(ShareCreateSerializer, request)
        model = _shareable_model(values["object_type"])
        record = policy.get_for(request.user, Action.CHANGE, model, values["object_id"])
        extra: dict[str, Any] = {}
        if values.get("level"):
            extra["level"] = values["level"]
        share = services.record_share(
            actor=request.user,
            record=record,
            user=values.get("user"),
            team=values.get("team"),
            **extra,
        )
        return Response(
            ShareOutputSerializer(self.get_queryset().get(pk=share.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(responses={204: None, **error_responses(401, 403, 404)})
    def destroy(self, request, pk=None):
        share = self.get_queryset().filter(pk=_pk_or_404(pk)).first()
        if share is None:
            raise NotFound()
        model = share.content_type.model_class()
        if model is None:
            raise NotFound()
        policy.get_for(request.user, Action.CHANGE, model, share.object_id)
        services.record_unshare(actor=request.user, share=share)
        return Response(status=status.HTTP_204_NO_CONTENT)
