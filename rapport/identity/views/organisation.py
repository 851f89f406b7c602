"""Department and team administration pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from .. import forms, services
from ..models import Action, Department, Team
from ._common import USER, _admin_context, _call, _require


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
