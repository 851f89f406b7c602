"""`rapport interaction`: log, list the timeline, add and complete tasks, as a given user."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from rapport.customers import services
from rapport.customers.models import Interaction

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def account(org):
    return services.account_create(actor=org["rep_sh"], name="工商银行")


def test_log_then_list(org, account):
    out = run(
        "interaction",
        "log",
        "call",
        "--account",
        str(account.pk),
        "--outcome",
        "connected",
        "--minutes",
        "4",
        "--as",
        "rep_sh",
    )
    assert "Logged" in out and "Call with 工商银行" in out
    listing = run("interaction", "list", "--account", str(account.pk), "--as", "manager")
    assert "Call with 工商银行" in listing and "Connected" in listing


def test_bad_input_names_the_field_and_stores_nothing(org, account):
    with pytest.raises(CommandError) as error:
        run(
            "interaction",
            "log",
            "note",
            "--account",
            str(account.pk),
            "--when",
            "yesterday",
            "--minutes",
            "-3",
            "--as",
            "rep_sh",
        )
    assert "occurred_at:" in str(error.value) and "duration_minutes:" in str(error.value)
    assert not Interaction.objects.exists()


def test_a_customer_the_user_cannot_see_is_not_found(org, account):
    with pytest.raises(CommandError, match="account:"):
        run("interaction", "log", "note", "--account", str(account.pk), "--as", "rep_south")


def test_tasks_add_list_done(org, account):
    out = run(
        "interaction",
        "task",
        "回访客户",
        "--account",
        str(account.pk),
        "--due",
        "2020-01-01T09:00",
        "--as",
        "rep_sh",
    )
    task = Interaction.objects.get(kind="task")
    assert f"Added task {task.pk}" in out
    listing = run("interaction", "tasks", "--overdue", "--as", "rep_sh")
    assert "回访客户" in listing and "Overdue" in listing
    assert "回访客户" not in run("interaction", "tasks", "--as", "rep_east")
    with pytest.raises(CommandError, match="id:"):
        run("interaction", "done", str(task.pk), "--as", "rep_east")
    run("interaction", "done", str(task.pk), "--as", "rep_sh")
    task.refresh_from_db()
    assert task.done_at is not None
    assert "回访客户" not in run("interaction", "tasks", "--as", "rep_sh")


def test_consent_grant_and_withdraw(org):
    contact = services.contact_create(actor=org["rep_sh"], name="周敏")
    with pytest.raises(CommandError, match="evidence:"):
        run("consent", "grant", str(contact.pk), "sms", "marketing", "--as", "rep_sh")
    out = run(
        "consent",
        "grant",
        str(contact.pk),
        "sms",
        "marketing",
        "--source",
        "paper_form",
        "--evidence",
        "纸质表 17",
        "--as",
        "rep_sh",
    )
    assert "纸质表 17" in out
    out = run("consent", "withdraw", str(contact.pk), "sms", "marketing", "--as", "agent")
    line = next(line for line in out.splitlines() if line.startswith("SMS") and "Marketing" in line)
    assert "Withdrawn" in line
    with pytest.raises(CommandError, match="contact:"):
        run("consent", "list", str(contact.pk), "--as", "rep_south")
