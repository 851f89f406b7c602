"""`rapport account` and `rapport contact`: the same restrictions and field rules as the web."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from rapport.audit.models import AuditEvent
from rapport.customers.models import Account
from rapport.customers.validators import uscc_check_char
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_list_shows_only_what_the_user_may_see(org):
    AccountFactory(owner=org["rep_sh"], name="上海星河贸易有限公司", phone="+862168881234")
    AccountFactory(owner=org["rep_south"], name="深圳南山科技有限公司")
    mine = run("account", "list", "--as", "rep_sh")
    assert "上海星河贸易有限公司" in mine and "深圳南山科技有限公司" not in mine
    audited = run("account", "list", "--as", "auditor")
    assert "深圳南山科技有限公司" in audited
    assert "+862168881234" not in audited and "+8621****1234" in audited  # masked for auditors


def test_show_is_an_audited_read_and_hides_invisible_records(org):
    account = AccountFactory(owner=org["rep_south"])
    out = run("account", "show", str(account.pk), "--as", "admin")
    assert account.name in out
    assert AuditEvent.objects.filter(
        action="view", object_id=str(account.pk), actor=org["admin"]
    ).exists()
    with pytest.raises(CommandError, match="id: Not found"):
        run("account", "show", str(account.pk), "--as", "rep_sh")


def test_create_names_bad_fields_and_stores_nothing(org):
    with pytest.raises(CommandError) as caught:
        run(
            "account",
            "create",
            "坏数据公司",
            "--credit-code",
            "913100000000000001",
            "--as",
            "rep_sh",
        )
    assert str(caught.value).startswith("credit_code:")
    assert not Account.objects.filter(name="坏数据公司").exists()
    body = "91310000MA1K00000"
    run(
        "account",
        "create",
        "好数据公司",
        "--credit-code",
        body + uscc_check_char(body),
        "--as",
        "rep_sh",
    )
    assert Account.objects.get(name="好数据公司").owner == org["rep_sh"]


def test_auditor_cannot_create_or_deactivate(org):
    account = AccountFactory(owner=org["rep_sh"])
    with pytest.raises(CommandError, match="as: auditor"):
        run("account", "create", "X", "--as", "auditor")
    with pytest.raises(CommandError):
        run("account", "deactivate", str(account.pk), "--as", "auditor")
    account.refresh_from_db()
    assert account.is_active


def test_contacts_list_masks_phones_for_marketers(org):
    ContactFactory(owner=org["rep_sh"], name="王小红", phones=["+8613812345678"])
    out = run("contact", "list", "--as", "marketer")
    assert "王小红" in out and "+86138****5678" in out and "+8613812345678" not in out
    assert "王小红" not in run("contact", "list", "--as", "rep_east")
