"""User administration pages: list, create, detail, unlock, deactivate, offboard."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from rapport.core.paging import cursor_page

from .. import forms, policy, services
from ..models import Action, User
from ._common import ROLE, USER, _admin_context, _call, _message_call, _require


def _locked_logins() -> set[str]:
    from axes.models import AccessAttempt

    return set(
        AccessAttempt.objects.filter(
            failures_since_start__gte=settings.AXES_FAILURE_LIMIT
        ).values_list("username", flat=True)
    )


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
            "sessions": services.sessions_of(user),
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


@login_required
@require_POST
def user_end_sessions(request, pk: int):
    """End every session of a user (the administrator's own session survives)."""
    user = _user_for_admin(request, pk)
    ended, ok = _message_call(
        request,
        services.sessions_end_all,
        actor=request.user,
        user=user,
        keep_session_key=request.session.session_key,
    )
    if ok:
        messages.success(
            request,
            ngettext("%(count)d session ended.", "%(count)d sessions ended.", ended)
            % {"count": ended},
        )
    return redirect("identity:user_detail", pk=user.pk)
