"""Identity pages: own profile and tokens, administration of users, departments, teams, roles
and account requests. Views parse and render; every write goes through `services`."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.db.models.functions import Lower
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core import errors
from rapport.core.paging import cursor_page

from . import forms, policy, services
from .models import AccountRequest, Action, ApiToken, Department, FieldRule, Grant, Role, Team, User

USER = "identity.user"
ROLE = "identity.role"


def lockout_response(request, credentials=None, *args, **kwargs):
    """What a locked-out login sees (django-axes calls this)."""
    if request is not None and request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse(
            {
                "error": {
                    "code": "account_locked",
                    "message": _(
                        "This account is locked after too many failed sign-ins. Ask an administrator to unlock it."
                    ),
                }
            },
            status=403,
        )
    return render(request, "identity/locked.html", status=403)


# --- helpers -------------------------------------------------------------------------------


def _require(user, object_type: str, action: str) -> None:
    if not policy.has_grant(user, object_type, action):
        raise PermissionDenied


def _call(form, service, /, **kwargs):
    """Run a service; on a refusal put its errors on the form and return None."""
    try:
        return service(**kwargs)
    except errors.PermissionDenied as error:
        raise PermissionDenied from error
    except errors.NotFound as error:
        raise Http404 from error
    except (ValidationError, errors.DomainError) as error:
        form.add_service_error(error)
        return None


def _message_call(http_request, service, /, **kwargs):
    """Run a service whose refusal is shown as a page message (buttons without a form)."""
    request = http_request
    try:
        return service(**kwargs), True
    except errors.PermissionDenied as error:
        raise PermissionDenied from error
    except errors.NotFound as error:
        raise Http404 from error
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    except errors.DomainError as error:
        messages.error(request, str(error.message))
    return None, False


def _locked_logins() -> set[str]:
    from axes.models import AccessAttempt

    return set(
        AccessAttempt.objects.filter(
            failures_since_start__gte=settings.AXES_FAILURE_LIMIT
        ).values_list("username", flat=True)
    )


def can_request_accounts(user) -> bool:
    return (
        policy.has_grant(user, USER, Action.ADD)
        or user.managed_departments.exists()
        or user.led_teams.exists()
    )


def _admin_context(request, section: str) -> dict:
    user = request.user
    return {
        "section": section,
        "can_manage_users": policy.has_grant(user, USER, Action.MANAGE),
        "can_view_roles": policy.has_grant(user, ROLE, Action.VIEW),
        "can_request": can_request_accounts(user),
    }


# --- own profile and tokens ----------------------------------------------------------------


@login_required
def profile(request):
    user = request.user
    profile_form = forms.ProfileForm(
        initial={
            "display_name": user.display_name,
            "phone": user.phone,
            "language": user.language,
            "timezone": user.timezone,
        }
    )
    password_form = forms.PasswordChangeForm(user=user)
    if request.method == "POST" and request.POST.get("section") == "password":
        password_form = forms.PasswordChangeForm(request.POST, user=user)
        if password_form.is_valid() and _call(
            password_form,
            services.user_set_password,
            actor=user,
            user=user,
            password=password_form.cleaned_data["password"],
        ):
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password has been changed."))
            return redirect("identity:profile")
    elif request.method == "POST":
        profile_form = forms.ProfileForm(request.POST)
        if profile_form.is_valid():
            fresh = User.objects.get(pk=user.pk)
            if _call(
                profile_form,
                services.user_update,
                actor=user,
                user=fresh,
                **profile_form.cleaned_data,
            ):
                messages.success(request, _("Your profile has been saved."))
                return redirect("identity:profile")
    return render(
        request,
        "identity/profile.html",
        {
            "profile_form": profile_form,
            "password_form": password_form,
            "can_request": can_request_accounts(user),
        },
    )


@login_required
def tokens(request):
    form = forms.TokenForm()
    secret = None
    if request.method == "POST":
        form = forms.TokenForm(request.POST)
        if form.is_valid():
            days = form.cleaned_data["days"]
            result = _call(
                form,
                services.token_create,
                actor=request.user,
                name=form.cleaned_data["name"],
                days=days if days is not None else settings.API_TOKEN_DEFAULT_DAYS,
            )
            if result:
                _token, secret = result
                form = forms.TokenForm()
    return render(
        request,
        "identity/tokens.html",
        {
            "form": form,
            "secret": secret,
            "tokens": ApiToken.objects.filter(user=request.user).order_by("-created_at"),
        },
    )


@login_required
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    _message_call(request, services.token_revoke, actor=request.user, token=token)
    messages.success(request, _("The token “%(name)s” has been revoked.") % {"name": token.name})
    return redirect("identity:tokens")


# --- users ---------------------------------------------------------------------------------


@login_required
def user_list(request):
    _require(request.user, USER, Action.MANAGE)
    filters = forms.UserFilterForm(request.GET or None)
    users = (
        User.objects.restrict(request.user, Action.VIEW)
        .select_related("department")
        .prefetch_related("roles")
    )
    locked = _locked_logins()
    if filters.is_valid():
        data = filters.cleaned_data
        if data["q"]:
            users = users.filter(
                Q(username__icontains=data["q"])
                | Q(display_name__icontains=data["q"])
                | Q(email__icontains=data["q"])
            )
        if data["department"]:
            users = users.filter(department__path__startswith=data["department"].path)
        if data["role"]:
            users = users.filter(roles=data["role"])
        if data["active"] == "1":
            users = users.filter(is_active=True)
        elif data["active"] == "0":
            users = users.filter(is_active=False)
        elif data["active"] == "locked":
            users = users.annotate(login_lower=Lower("username")).filter(
                Q(login_lower__in=locked) | Q(email__in=locked)
            )
    page = cursor_page(request, users, ordering=["username", "id"])
    rows = [
        (user, user.username.lower() in locked or (user.email and user.email.lower() in locked))
        for user in page.items
    ]
    return render(
        request,
        "identity/user_list.html",
        {**_admin_context(request, "users"), "filters": filters, "page": page, "rows": rows},
    )


@login_required
def user_create(request):
    _require(request.user, USER, Action.MANAGE)
    form = forms.UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = _call(
            form,
            services.user_create,
            actor=request.user,
            username=data["username"],
            email=data["email"],
            password=data["password"] or None,
            display_name=data["display_name"],
            department=data["department"],
            manager=data["manager"],
            roles=list(data["roles"]),
            title=data["title"],
            phone=data["phone"],
            language=data["language"],
            timezone_name=data["timezone"],
        )
        if user:
            messages.success(request, _("The user “%(user)s” has been created.") % {"user": user})
            return redirect("identity:user_detail", pk=user.pk)
    return render(
        request, "identity/user_form.html", {**_admin_context(request, "users"), "form": form}
    )


def _user_for_admin(request, pk: int) -> User:
    _require(request.user, USER, Action.MANAGE)
    return get_object_or_404(
        User.objects.restrict(request.user, Action.VIEW).select_related("department", "manager"),
        pk=pk,
    )


USER_EDIT_FIELDS = (
    "username",
    "email",
    "display_name",
    "title",
    "phone",
    "department",
    "manager",
    "language",
    "timezone",
)


@login_required
def user_detail(request, pk: int):
    user = _user_for_admin(request, pk)
    edit_form = forms.UserFieldsForm(
        initial={name: getattr(user, name) for name in USER_EDIT_FIELDS}
    )
    roles_form = forms.UserRolesForm(initial={"roles": list(user.roles.all())})
    section = request.POST.get("section") if request.method == "POST" else None
    if section == "roles":
        roles_form = forms.UserRolesForm(request.POST)
        if roles_form.is_valid() and _call(
            roles_form,
            services.user_set_roles,
            actor=request.user,
            user=user,
            roles=list(roles_form.cleaned_data["roles"]),
        ):
            messages.success(request, _("Roles saved."))
            return redirect("identity:user_detail", pk=user.pk)
    elif section == "edit":
        edit_form = forms.UserFieldsForm(request.POST)
        if edit_form.is_valid():
            target = User.objects.get(pk=user.pk)
            if _call(
                edit_form,
                services.user_update,
                actor=request.user,
                user=target,
                **{name: edit_form.cleaned_data[name] for name in USER_EDIT_FIELDS},
            ):
                messages.success(request, _("Saved."))
                return redirect("identity:user_detail", pk=user.pk)
    return render(
        request,
        "identity/user_detail.html",
        {
            **_admin_context(request, "users"),
            "subject": user,
            "edit_form": edit_form,
            "roles_form": roles_form,
            "deactivate_form": forms.ReasonForm(),
            "locked": services.user_is_locked(user),
            "can_manage_roles": policy.has_grant(request.user, ROLE, Action.MANAGE),
        },
    )


@login_required
@require_POST
def user_unlock(request, pk: int):
    user = _user_for_admin(request, pk)
    _result, ok = _message_call(request, services.user_unlock, actor=request.user, user=user)
    if ok:
        messages.success(request, _("“%(user)s” can sign in again.") % {"user": user})
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect("identity:user_detail", pk=user.pk)


@login_required
@require_POST
def user_deactivate(request, pk: int):
    user = _user_for_admin(request, pk)
    form = forms.ReasonForm(request.POST)
    form.is_valid()
    _result, ok = _message_call(
        request,
        services.user_deactivate,
        actor=request.user,
        user=user,
        reason=form.cleaned_data.get("reason", ""),
    )
    if ok:
        messages.success(
            request,
            _("“%(user)s” has been deactivated; their sessions and tokens have ended.")
            % {"user": user},
        )
    return redirect("identity:user_detail", pk=user.pk)


@login_required
@require_POST
def user_reactivate(request, pk: int):
    user = _user_for_admin(request, pk)
    _result, ok = _message_call(request, services.user_reactivate, actor=request.user, user=user)
    if ok:
        messages.success(request, _("“%(user)s” is active again.") % {"user": user})
    return redirect("identity:user_detail", pk=user.pk)


def _model_label(label: str) -> str:
    try:
        return str(apps.get_model(label)._meta.verbose_name_plural)
    except (LookupError, ValueError):
        return label


@login_required
def user_offboard(request, pk: int):
    user = _user_for_admin(request, pk)
    form = forms.OffboardForm(request.POST or None, leaving=user)
    if request.method == "POST" and form.is_valid():
        moved = _call(
            form,
            services.user_offboard,
            actor=request.user,
            user=user,
            successor=form.cleaned_data["successor"],
            reason=form.cleaned_data["reason"],
        )
        if moved is not None:
            return render(
                request,
                "identity/user_offboarded.html",
                {
                    **_admin_context(request, "users"),
                    "subject": user,
                    "successor": form.cleaned_data["successor"],
                    "moved": [(_model_label(label), count) for label, count in moved.items()],
                },
            )
    return render(
        request,
        "identity/user_offboard.html",
        {**_admin_context(request, "users"), "subject": user, "form": form},
    )


# --- departments and teams -----------------------------------------------------------------


@login_required
def department_list(request):
    _require(request.user, USER, Action.MANAGE)
    form = forms.DepartmentCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        department = _call(
            form, services.department_create, actor=request.user, **form.cleaned_data
        )
        if department:
            messages.success(request, _("Department “%(name)s” created.") % {"name": department})
            return redirect("identity:department_list")
    departments = Department.objects.select_related("manager", "parent").order_by("path")
    return render(
        request,
        "identity/department_list.html",
        {**_admin_context(request, "departments"), "form": form, "departments": departments},
    )


@login_required
def department_edit(request, pk: int):
    _require(request.user, USER, Action.MANAGE)
    department = get_object_or_404(Department, pk=pk)
    form = forms.DepartmentEditForm(
        request.POST or None,
        initial={
            "name": department.name,
            "parent": department.parent,
            "manager": department.manager,
        },
    )
    form.fields["parent"].queryset = Department.objects.exclude(path__startswith=department.path)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _call(
            form,
            services.department_update,
            actor=request.user,
            department=department,
            name=data["name"],
            parent=data["parent"],
            manager=data["manager"],
        ):
            messages.success(request, _("Saved."))
            return redirect("identity:department_list")
        department.refresh_from_db()
    return render(
        request,
        "identity/department_edit.html",
        {**_admin_context(request, "departments"), "department": department, "form": form},
    )


@login_required
def team_list(request):
    _require(request.user, USER, Action.MANAGE)
    form = forms.TeamCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        team = _call(
            form,
            services.team_create,
            actor=request.user,
            name=data["name"],
            department=data["department"],
            lead=data["lead"],
            members=list(data["members"]),
        )
        if team:
            messages.success(request, _("Team “%(name)s” created.") % {"name": team})
            return redirect("identity:team_list")
    teams = Team.objects.select_related("department", "lead").prefetch_related("members")
    return render(
        request,
        "identity/team_list.html",
        {**_admin_context(request, "teams"), "form": form, "teams": teams},
    )


@login_required
def team_detail(request, pk: int):
    _require(request.user, USER, Action.MANAGE)
    team = get_object_or_404(Team.objects.select_related("department", "lead"), pk=pk)
    form = forms.TeamMembersForm(
        request.POST or None, team=team, initial={"members": list(team.members.all())}
    )
    if (
        request.method == "POST"
        and form.is_valid()
        and _call(
            form,
            services.team_set_members,
            actor=request.user,
            team=team,
            members=list(form.cleaned_data["members"]),
        )
    ):
        messages.success(request, _("Members saved."))
        return redirect("identity:team_list")
    return render(
        request,
        "identity/team_detail.html",
        {**_admin_context(request, "teams"), "team": team, "form": form},
    )


# --- roles ---------------------------------------------------------------------------------


@login_required
def role_list(request):
    _require(request.user, ROLE, Action.VIEW)
    form = forms.RoleCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        role = _call(form, services.role_create, actor=request.user, **form.cleaned_data)
        if role:
            messages.success(request, _("Role “%(name)s” created.") % {"name": role})
            return redirect("identity:role_detail", pk=role.pk)
    return render(
        request,
        "identity/role_list.html",
        {
            **_admin_context(request, "roles"),
            "form": form,
            "roles": Role.objects.all(),
            "can_manage_roles": policy.has_grant(request.user, ROLE, Action.MANAGE),
        },
    )


def _grant_matrix(role: Role) -> tuple[list[str], list[dict]]:
    """Columns (every registered action) and one row per registered object type."""
    registry = policy.registry()
    columns = [
        action for action in Action.values if any(action in t["actions"] for t in registry.values())
    ]
    current = {(g.object_type, g.action): g.scope for g in Grant.objects.filter(role=role)}
    rules = {(r.object_type, r.field): r.rule for r in FieldRule.objects.filter(role=role)}
    rows = []
    for object_type, entry in registry.items():
        cells = []
        for action in columns:
            if action in entry["actions"]:
                cells.append(
                    {
                        "action": action,
                        "label": Action(action).label,
                        "name": f"grant:{object_type}:{action}",
                        "scope": current.get((object_type, action), ""),
                    }
                )
            else:
                cells.append(None)
        rows.append(
            {
                "object_type": object_type,
                "label": entry["label"],
                "cells": cells,
                "fields": [
                    {
                        "field": field,
                        "name": f"rule:{object_type}:{field}",
                        "rule": rules.get((object_type, field), ""),
                    }
                    for field in entry["fields"]
                ],
            }
        )
    return columns, rows


def _posted_pairs(post, prefix: str) -> dict[tuple[str, str], str | None]:
    pairs: dict[tuple[str, str], str | None] = {}
    for key in post:
        if key.startswith(prefix):
            object_type, _sep, name = key[len(prefix) :].rpartition(":")
            pairs[(object_type, name)] = post.get(key) or None
    return pairs


@login_required
def role_detail(request, pk: int):
    _require(request.user, ROLE, Action.VIEW)
    role = get_object_or_404(Role, pk=pk)
    settings_form = forms.RoleSettingsForm(
        initial={
            "name": role.name,
            "description": role.description,
            "require_mfa": role.require_mfa,
        }
    )
    matrix_errors: list[str] = []
    rules_errors: list[str] = []
    section = request.POST.get("section") if request.method == "POST" else None
    try:
        if section == "settings":
            settings_form = forms.RoleSettingsForm(request.POST)
            if settings_form.is_valid() and _call(
                settings_form,
                services.role_update,
                actor=request.user,
                role=role,
                **settings_form.cleaned_data,
            ):
                messages.success(request, _("Saved."))
                return redirect("identity:role_detail", pk=role.pk)
        elif section == "matrix":
            try:
                services.role_set_matrix(
                    actor=request.user, role=role, matrix=_posted_pairs(request.POST, "grant:")
                )
            except ValidationError as error:
                matrix_errors = error.messages
            else:
                messages.success(request, _("Permissions saved."))
                return redirect("identity:role_detail", pk=role.pk)
        elif section == "fields":
            try:
                services.role_set_field_rules(
                    actor=request.user, role=role, rules=_posted_pairs(request.POST, "rule:")
                )
            except ValidationError as error:
                rules_errors = error.messages
            else:
                messages.success(request, _("Field rules saved."))
                return redirect("identity:role_detail", pk=role.pk)
    except errors.PermissionDenied as error:
        raise PermissionDenied from error
    columns, rows = _grant_matrix(role)
    status = 400 if matrix_errors or rules_errors else 200
    return render(
        request,
        "identity/role_detail.html",
        {
            **_admin_context(request, "roles"),
            "role": role,
            "settings_form": settings_form,
            "columns": [(action, Action(action).label) for action in columns],
            "rows": rows,
            "scope_choices": forms.SCOPE_CHOICES,
            "rule_choices": forms.FIELD_RULE_CHOICES,
            "matrix_errors": matrix_errors,
            "rules_errors": rules_errors,
            "has_field_rules": any(row["fields"] for row in rows),
            "can_manage_roles": policy.has_grant(request.user, ROLE, Action.MANAGE),
            "member_count": role.users.count(),
        },
        status=status,
    )


# --- account requests ----------------------------------------------------------------------


@login_required
def request_list(request):
    can_decide = policy.has_grant(request.user, USER, Action.MANAGE)
    can_request = can_request_accounts(request.user)
    if not (can_decide or can_request):
        raise PermissionDenied
    form = forms.AccountRequestForm(request.POST or None)
    if request.method == "POST" and can_request and form.is_valid():
        data = form.cleaned_data
        created = _call(
            form,
            services.account_request_create,
            actor=request.user,
            username=data["username"],
            email=data["email"],
            display_name=data["display_name"],
            department=data["department"],
            roles=list(data["roles"]),
            reason=data["reason"],
        )
        if created:
            messages.success(request, _("Your request has been sent to the administrators."))
            return redirect("identity:request_list")
    requests_ = AccountRequest.objects.select_related(
        "requested_by", "department", "decided_by", "created_user"
    ).prefetch_related("roles")
    if not can_decide:
        requests_ = requests_.filter(requested_by=request.user)
    state = request.GET.get("state", "pending")
    if state in AccountRequest.State.values:
        requests_ = requests_.filter(state=state)
    return render(
        request,
        "identity/request_list.html",
        {
            **_admin_context(request, "requests"),
            "form": form,
            "requests": requests_[:200],
            "can_decide": can_decide,
            "state": state,
            "states": AccountRequest.State.choices,
            "decision_form": forms.DecisionForm(),
        },
    )


@login_required
@require_POST
def request_decide(request, pk: int):
    _require(request.user, USER, Action.MANAGE)
    account_request = get_object_or_404(AccountRequest, pk=pk)
    form = forms.DecisionForm(request.POST)
    form.is_valid()
    approve = request.POST.get("decision") == "approve"
    decided, ok = _message_call(
        request,
        services.account_request_decide,
        actor=request.user,
        request=account_request,
        approve=approve,
        note=form.cleaned_data.get("note", ""),
    )
    if ok:
        if approve:
            messages.success(
                request,
                _("Approved: the account “%(username)s” has been created.")
                % {"username": decided.username},
            )
        else:
            messages.success(request, _("The request has been rejected."))
    return redirect("identity:request_list")
