from __future__ import annotations

import io
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from rapport.audit.models import AuditEvent
from rapport.identity.models import User

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_user_with_department_roles_and_password(org):
    output = run(
        "user",
        "create",
        "li.na",
        "--email",
        "Li.Na@Example.com",
        "--name",
        "李娜",
        "--department",
        "east",
        "--role",
        "sales_rep",
        "--role",
        "marketer",
        "--password",
        "Rapport-Li-Na-2026",
    )
    user = User.objects.get(username="li.na")
    assert "li.na" in output
    assert user.email == "li.na@example.com"
    assert user.display_name == "李娜"
    assert user.department == org["departments"]["east"]
    assert set(user.roles.values_list("code", flat=True)) == {"sales_rep", "marketer"}
    assert user.check_password("Rapport-Li-Na-2026")
    event = AuditEvent.objects.filter(action="user.create", object_id=str(user.pk)).get()
    assert event.actor == org["admin"]  # the default actor: the administrator


def test_password_from_stdin(org, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("Rapport-From-Stdin-2026\n"))
    run("user", "create", "wang.fang", "--password-stdin")
    assert User.objects.get(username="wang.fang").check_password("Rapport-From-Stdin-2026")


def test_duplicate_username_names_the_field_and_stores_nothing(org):
    users_before = User.objects.count()
    events_before = AuditEvent.objects.count()
    with pytest.raises(CommandError) as error:
        run("user", "create", "REP_SH", "--email", "new@example.com", "--role", "sales_rep")
    assert str(error.value).startswith("username: ")
    assert "already taken" in str(error.value)
    assert User.objects.count() == users_before
    assert AuditEvent.objects.count() == events_before


def test_bad_password_and_unknown_department_name_their_fields(org):
    with pytest.raises(CommandError, match=r"^password: "):
        run("user", "create", "zhou", "--password", "short")
    with pytest.raises(CommandError, match=r"^department: .*nowhere"):
        run("user", "create", "zhou", "--department", "nowhere")
    with pytest.raises(CommandError, match=r"^roles: .*wizard"):
        run("user", "create", "zhou", "--role", "wizard")
    assert not User.objects.filter(username="zhou").exists()


def test_acting_user_without_permission_is_refused(org):
    with pytest.raises(CommandError, match=r"^as: rep_sh: "):
        run("user", "create", "sneaky", "--as", "rep_sh")
    assert not User.objects.filter(username="sneaky").exists()


def test_first_superuser_bootstraps_without_an_actor(db):
    with pytest.raises(CommandError, match=r"^as: "):
        run("user", "create", "someone")
    run("user", "create", "root", "--superuser", "--password", "Rapport-Root-2026")
    root = User.objects.get(username="root")
    assert root.is_superuser
    event = AuditEvent.objects.get(action="user.create", object_id=str(root.pk))
    assert event.actor is None
    # From now on the superuser is the default actor.
    run("user", "create", "second")
    assert AuditEvent.objects.get(action="user.create", object_repr="second").actor == root


def test_list_shows_active_users_and_filters(org):
    output = run("user", "list")
    assert "rep_sh" in output
    assert "marketer" in output
    only_reps = run("user", "list", "--role", "sales_rep")
    assert "rep_sh" in only_reps
    assert "marketer" not in only_reps.split("----")[-1]


def test_deactivate_hides_the_user_from_the_list_unless_asked(org):
    output = run("user", "deactivate", "rep_south", "--reason", "left the company")
    assert "rep_south" in output
    user = User.objects.get(username="rep_south")
    assert not user.is_active
    event = AuditEvent.objects.get(action="user.deactivate", object_id=str(user.pk))
    assert event.extra["reason"] == "left the company"
    assert "rep_south" not in run("user", "list")
    assert "rep_south" in run("user", "list", "--inactive")
    with pytest.raises(CommandError, match=r"^username: "):
        run("user", "deactivate", "rep_south")


def test_offboard_hands_records_over(org):
    from rapport.customers import services
    from rapport.customers.models import Account

    account = services.account_create(actor=org["rep_sh"], name="上海浦东发展实业有限公司")
    output = run("user", "offboard", "rep_sh", "--to", "rep_east")
    assert "customers.account" in output
    account.refresh_from_db()
    assert account.owner == org["rep_east"]
    assert not User.objects.get(username="rep_sh").is_active
    with pytest.raises(CommandError, match=r"^successor: "):
        run("user", "offboard", "rep_east", "--to", "rep_east")
    assert Account.objects.filter(owner=org["rep_east"]).count() == 1


def test_set_roles_and_unlock(org):
    run("user", "set-roles", "rep_sh", "sales_rep", "marketer")
    user = User.objects.get(username="rep_sh")
    assert set(user.roles.values_list("code", flat=True)) == {"sales_rep", "marketer"}
    assert AuditEvent.objects.filter(action="permission.user_roles").exists()
    assert "rep_sh" in run("user", "unlock", "rep_sh")
    assert AuditEvent.objects.filter(action="user.unlock", object_id=str(user.pk)).exists()
