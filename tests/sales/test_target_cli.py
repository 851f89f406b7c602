"""`rapport target` and `rapport forecast`: targets set and read from the shell, the forecast
printed as a roll-up — through the same services and restrictions."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from rapport.sales.models import Target
from tests.factories import PipelineFactory
from tests.sales.test_forecast import at, open_deal, won

pytestmark = pytest.mark.django_db


def run(command, *args) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command(command, *args, stdout=out)
    return out.getvalue()


def test_targets_from_the_shell(org, tmp_path):
    out = run(
        "target", "set", "120000", "--user", "rep_sh", "--start", "2026-11-01", "--as", "manager"
    )
    assert "120,000.00 CNY" in out
    run(
        "target",
        "set",
        "5",
        "--department",
        "east",
        "--metric",
        "won_count",
        "--period",
        "quarter",
        "--start",
        "2026-10-01",
        "--as",
        "manager",
    )
    listing = run("target", "list", "--start", "2026-11-01", "--as", "rep_sh")
    assert "Rep_Sh" in listing and "120,000.00" in listing
    with pytest.raises(CommandError) as refused:
        run(
            "target",
            "set",
            "1",
            "--user",
            "rep_sh",
            "--period",
            "quarter",
            "--start",
            "2026-11-01",
            "--as",
            "manager",
        )
    assert "period_start" in str(refused.value)
    with pytest.raises(CommandError) as refused:
        run("target", "set", "1", "--user", "rep_east", "--start", "2026-11-01", "--as", "rep_sh")
    assert "rep_sh" in str(refused.value)
    csv_file = tmp_path / "targets.csv"
    csv_file.write_text(
        "period,period_start,metric,holder_type,holder,amount\n"
        "month,2026-12-01,payments,user,rep_east,50000\n",
        encoding="utf-8",
    )
    assert "1 targets set" in run("target", "import", str(csv_file), "--as", "admin")
    assert Target.objects.count() == 3
    pk = Target.objects.get(metric="payments").pk
    run("target", "delete", str(pk), "--as", "admin")
    assert Target.objects.count() == 2


def test_forecast_prints_the_roll_up(org):
    pipeline = PipelineFactory()
    east = org["departments"]["east"]
    east.manager = org["sales_manager"]
    east.save()
    open_deal(org["rep_sh"], "10000", 50, "commit", dt.date(2026, 11, 20), pipeline)
    open_deal(org["rep_east"], "30000", 50, "best_case", dt.date(2026, 12, 20), pipeline)
    won(org["rep_east"], "7000", at(3), pipeline)
    out = run("forecast", "--start", "2026-10-01", "--as", "manager")
    lines = out.splitlines()
    manager_line = next(line for line in lines if line.startswith("Manager"))
    assert "20,000.00" in manager_line  # weighted: 5000 + 15000
    assert "40,000.00" in manager_line  # best case: commit 10000 + best case 30000
    assert any(line.startswith("  Rep_Sh") for line in lines)
    assert "Rep_South" not in out
    mine = run("forecast", "--period", "month", "--start", "2026-11-01", "--as", "rep_sh")
    assert "Rep_East" not in mine and "Rep_Sh" in mine
    with pytest.raises(CommandError):
        run("forecast", "--user", "rep_south", "--as", "manager")
