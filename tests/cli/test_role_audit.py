from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from rapport.audit.models import AuditEvent
from rapport.customers import services
from rapport.identity.models import Grant, Role

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_role_list_and_show(org):
    listing = run("role", "list")
    for code in ("administrator", "sales_manager", "auditor"):
        assert code in listing
    matrix = run("role", "show", "sales_manager")
    account_row = next(line for line in matrix.splitlines() if line.startswith("customers.account"))
    assert account_row.split()[1] == "department"  # view scope


def test_role_grant_sets_and_removes(org):
    role = Role.objects.get(code="sales_rep")
    run("role", "grant", "sales_rep", "customers.account", "export", "own")
    assert (
        Grant.objects.get(role=role, object_type="customers.account", action="export").scope
        == "own"
    )
    run("role", "grant", "sales_rep", "customers.account", "export", "none")
    assert not Grant.objects.filter(
        role=role, object_type="customers.account", action="export"
    ).exists()
    assert AuditEvent.objects.filter(action="permission.grant").count() == 2


def test_role_grant_with_unknown_action_is_an_error(org):
    grants_before = Grant.objects.count()
    with pytest.raises(CommandError) as error:
        run("role", "grant", "sales_rep", "customers.account", "teleport", "all")
    assert str(error.value).startswith("action: ")
    assert "teleport" in str(error.value)
    with pytest.raises(CommandError, match=r"^scope: "):
        run("role", "grant", "sales_rep", "customers.account", "view", "galaxy")
    with pytest.raises(CommandError, match=r"^role: "):
        run("role", "grant", "nobody", "customers.account", "view", "all")
    assert Grant.objects.count() == grants_before


def test_role_create(org):
    run("role", "create", "key_accounts", "Key accounts", "--require-mfa")
    role = Role.objects.get(code="key_accounts")
    assert role.require_mfa
    assert not role.is_builtin
    with pytest.raises(CommandError, match=r"^code: "):
        run("role", "create", "key_accounts", "Again")
    with pytest.raises(CommandError, match=r"^as: "):
        run("role", "create", "other", "Other", "--as", "rep_sh")


def test_audit_verify_counts_events(org):
    services.account_create(actor=org["admin"], name="中国银行上海分行")
    output = run("audit", "verify")
    assert f"{AuditEvent.objects.count()} events checked" in output


def test_audit_verify_fails_naming_the_tampered_event(org):
    account = services.account_create(actor=org["admin"], name="华为")
    services.account_update(actor=org["admin"], account=account, name="华为技术有限公司")
    target = AuditEvent.objects.filter(action="update").order_by("-seq").first()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER audit_event_no_update")
            cursor.execute(
                "UPDATE audit_auditevent SET changes = %s WHERE id = %s",
                ['{"name": ["a", "b"]}', target.pk],
            )
        else:
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
            cursor.execute(
                "UPDATE audit_auditevent SET changes = %s WHERE id = %s",
                ['{"name": ["a", "b"]}', target.pk],
            )
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")
    with pytest.raises(CommandError) as error:
        run("audit", "verify")
    assert error.value.returncode == 1
    assert f"#{target.seq}" in str(error.value)
    assert "does not match" in str(error.value)


def test_audit_purge_keeps_the_chain_verifiable(org):
    services.account_create(actor=org["admin"], name="小米")
    output = run("audit", "purge", "--days", "30")
    assert "Deleted 0 events" in output
    with pytest.raises(CommandError, match=r"^days: "):
        run("audit", "purge", "--days", "0")
    assert "events checked" in run("audit", "verify")
