"""`rapport import run|failed|rollback`."""

from __future__ import annotations

import csv
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rapport.customers.models import Account
from rapport.dataops.models import ImportRun

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("import", *args, stdout=out)
    return out.getvalue()


def test_import_fix_and_rollback_from_the_shell(org, tmp_path):
    path = tmp_path / "客户.csv"
    path.write_bytes("名称,城市\n甲公司,杭州\n,苏州\n".encode("gb18030"))
    out = run("run", str(path), "--type", "account", "--as", "admin")
    assert "名称 → name" in out and "created 1" in out and "failed 1" in out
    assert "Row 3" in out
    imported = ImportRun.objects.get()
    failed = tmp_path / "failed.csv"
    run("failed", str(imported.pk), "-o", str(failed), "--as", "admin")
    rows = list(csv.reader(failed.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[1][:2] == ["", "苏州"] and "Name:" in rows[1][-1]
    run("rollback", str(imported.pk), "--as", "admin")
    assert not Account.objects.get(name="甲公司").is_active


def test_dry_run_and_bad_input(org, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("Company\nAcme\n", encoding="utf-8")
    out = run("run", str(path), "--type", "account", "--dry-run", "--as", "admin")
    assert "created 1" in out and not Account.objects.exists()
    with pytest.raises(CommandError, match="mapping"):
        run("run", str(path), "--type", "account", "--map", '{"0": "salary"}', "--as", "admin")
    with pytest.raises(CommandError, match="not a file"):
        run("run", str(tmp_path / "missing.csv"), "--type", "account", "--as", "admin")
    with pytest.raises(CommandError):
        run("run", str(path), "--type", "account", "--as", "rep_east")  # no import grant
