"""`rapport opportunity` and `rapport pipeline`: a rep works an opportunity from the shell,
restricted like everywhere; refusals name the field."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from rapport.sales.models import Opportunity
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def run(command, *args) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command(command, *args, stdout=out)
    return out.getvalue()


def test_a_rep_works_an_opportunity_from_the_shell(org):
    account = AccountFactory(owner=org["rep_sh"])
    out = run("opportunity", "create", "命令行商机", "--account", str(account.pk), "--as", "rep_sh")
    assert "Prospecting" in out or "初步接触" in out
    opportunity = Opportunity.objects.get()
    run("opportunity", "move", str(opportunity.pk), "Qualification", "--as", "rep_sh")
    with pytest.raises(CommandError) as caught:
        run("opportunity", "lost", str(opportunity.pk), "--reason", "nonsense", "--as", "rep_sh")
    assert "reason" in str(caught.value)
    run("opportunity", "won", str(opportunity.pk), "--amount", "5000", "--as", "rep_sh")
    opportunity.refresh_from_db()
    assert opportunity.status == "won" and str(opportunity.amount) == "5000.00"
    assert "命令行商机" in run("opportunity", "list", "--status", "won", "--as", "rep_sh")
    assert "命令行商机" not in run("opportunity", "list", "--as", "rep_east")
    with pytest.raises(CommandError):
        run("opportunity", "move", str(opportunity.pk), "Proposal", "--as", "rep_east")


def test_refusals_name_the_field(org):
    account = AccountFactory(owner=org["rep_sh"])
    with pytest.raises(CommandError) as caught:
        run(
            "opportunity",
            "create",
            "x",
            "--account",
            str(account.pk),
            "--amount",
            "-1",
            "--as",
            "rep_sh",
        )
    assert "amount:" in str(caught.value)
    run("opportunity", "create", "y", "--account", str(account.pk), "--as", "rep_sh")
    opportunity = Opportunity.objects.get()
    with pytest.raises(CommandError) as caught:
        run("opportunity", "move", str(opportunity.pk), "Lost", "--as", "rep_sh")
    assert "lost_reason:" in str(caught.value)
    run(
        "opportunity",
        "lost",
        str(opportunity.pk),
        "--reason",
        "Price",
        "--note",
        "贵",
        "--as",
        "rep_sh",
    )
    opportunity.refresh_from_db()
    assert opportunity.status == "lost" and opportunity.lost_reason.name_en == "Price"


def test_pipeline_list(org):
    out = run("pipeline", "list", "--as", "rep_sh")
    assert "Prospecting" in out or "初步接触" in out
    assert out.count("\n") >= 7
