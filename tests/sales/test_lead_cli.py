"""`rapport lead`: a rep works leads from the shell, restricted like everywhere."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation

from rapport.sales.lead_intake import LEAD_SYSTEM
from rapport.sales.models import Lead, LeadPool
from rapport.sales.models.leads import LeadStatus
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("lead", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def pool(org):
    team = TeamFactory(members=[org["rep_sh"], org["rep_east"]])
    return LeadPool.objects.create(name="公海", team=team, is_default=True, return_after_days=5)


def test_create_claim_assign_convert_from_the_shell(org, pool):
    assert "created" in run("create", "吴十", "--company", "海川贸易", "--to-pool", "--as", "admin")
    lead = Lead.objects.get()
    assert lead.owner is None
    assert "吴十" in run("list", "--pool", "--as", "rep_sh")
    assert "吴十" not in run("list", "--as", "rep_south")
    run("claim", str(lead.pk), "--as", "rep_sh")
    assert Lead.objects.get().owner == org["rep_sh"]
    with pytest.raises(CommandError):
        run("assign", str(lead.pk), "--to", "rep_east", "--as", "rep_sh")  # no assign grant
    run("assign", str(lead.pk), "--to", "rep_east", "--as", "admin")
    assert Lead.objects.get().owner == org["rep_east"]
    out = run("convert", str(lead.pk), "--amount", "9000", "--as", "rep_east")
    assert "converted" in out
    assert Lead.objects.get().status == LeadStatus.CONVERTED


def test_errors_name_the_field(org, pool):
    with pytest.raises(CommandError, match="email"):
        run("create", "坏邮件", "--email", "nope", "--as", "rep_sh")
    with pytest.raises(CommandError, match="lead"):
        run("claim", "999999", "--as", "rep_sh")


def test_return_stale(org, pool):
    LEAD_SYSTEM.ensure()
    run("create", "久未跟进", "--as", "rep_sh")
    Lead.objects.update(assigned_at=timezone.now() - dt.timedelta(days=9))
    assert "1 lead went back" in run("return-stale", "--as", "admin")
    assert "0 leads went back" in run("return-stale", "--as", "admin")
    with pytest.raises(CommandError):
        run("return-stale", "--as", "rep_sh")
