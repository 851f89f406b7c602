"""Every write to departments and teams."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from rapport.core import trail

from ..models import Department, Team, User
from ._common import _require_manage_users


def _department_path(department: Department) -> str:
    parent_path = department.parent.path if department.parent_id else "/"
    return f"{parent_path}{department.pk}/"


def department_create(
    *,
    actor: User | None,
    name: str,
    code: str,
    parent: Department | None = None,
    manager: User | None = None,
) -> Department:
    if actor is not None:
        _require_manage_users(actor)
    errors = {}
    if not name.strip():
        errors["name"] = ValidationError(_("Enter a name."), code="required")
    if not code.strip():
        errors["code"] = ValidationError(_("Enter a code."), code="required")
    elif Department.objects.filter(code=code).exists():
        errors["code"] = ValidationError(
            _("This code is already used by another department."), code="duplicate"
        )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        department = Department.objects.create(
            name=name.strip(), code=code.strip(), parent=parent, manager=manager
        )
        department.path = _department_path(department)
        department.save(update_fields=["path"])
        trail.record(
            actor=actor,
            action="department.create",
            target=department,
            changes={"name": [None, department.name], "parent": [None, parent and parent.pk]},
        )
    return department


def department_update(
    *,
    actor: User,
    department: Department,
    name: str | None = None,
    parent: Department | None | bool = False,
    manager: User | None | bool = False,
) -> Department:
    """Rename or move a department; moving rewrites the paths of its whole subtree."""
    _require_manage_users(actor)
    before = trail.snapshot(department, ("name", "parent", "manager"))
    if name is not None:
        if not name.strip():
            raise ValidationError({"name": ValidationError(_("Enter a name."), code="required")})
        department.name = name.strip()
    if manager is not False:
        department.manager = manager
    with transaction.atomic():
        if parent is not False:
            if parent is not None and parent.path.startswith(department.path):
                raise ValidationError(
                    {
                        "parent": ValidationError(
                            _("A department cannot be moved under itself."), code="cycle"
                        )
                    }
                )
            old_path = department.path
            department.parent = parent
            department.path = _department_path(department)
            for child in Department.objects.filter(path__startswith=old_path).exclude(
                pk=department.pk
            ):
                child.path = department.path + child.path[len(old_path) :]
                child.save(update_fields=["path"])
        department.save()
        changes = trail.diff(before, trail.snapshot(department, ("name", "parent", "manager")))
        if changes:
            trail.record(
                actor=actor, action="department.update", target=department, changes=changes
            )
    return department


def team_create(
    *,
    actor: User | None,
    name: str,
    department: Department | None = None,
    lead: User | None = None,
    members: list[User] | None = None,
) -> Team:
    if actor is not None:
        _require_manage_users(actor)
    if not name.strip():
        raise ValidationError({"name": ValidationError(_("Enter a name."), code="required")})
    if Team.objects.filter(name=name.strip()).exists():
        raise ValidationError(
            {"name": ValidationError(_("A team with this name already exists."), code="duplicate")}
        )
    with transaction.atomic():
        team = Team.objects.create(name=name.strip(), department=department, lead=lead)
        if members:
            team.members.set(members)
        trail.record(
            actor=actor,
            action="team.create",
            target=team,
            changes={"members": [[], sorted(m.pk for m in members or [])]},
        )
    return team


def team_set_members(*, actor: User, team: Team, members: list[User]) -> Team:
    _require_manage_users(actor)
    with transaction.atomic():
        before = sorted(team.members.values_list("pk", flat=True))
        team.members.set(members)
        after = sorted(m.pk for m in members)
        if before != after:
            trail.record(
                actor=actor,
                action="permission.team_members",
                target=team,
                changes={"members": [before, after]},
            )
    return team
