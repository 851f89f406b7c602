"""Demo opportunities: spread over the stages, with a stage history in the past."""

from __future__ import annotations

import random

import pytest

from rapport.sales.models import Opportunity, StageChange
from rapport.web.demo_sales_pipeline import generate_opportunities
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_demo_opportunities_across_stages_with_history(org):
    accounts = [AccountFactory(owner=org["rep_sh"]) for _ in range(3)]
    users = {
        "admin": org["admin"],
        "sales_rep": org["rep_sh"],
        "sales_manager": org["sales_manager"],
    }
    made = generate_opportunities(users=users, accounts=accounts, count=40, rng=random.Random(7))
    assert made == 40 and Opportunity.objects.count() == 40
    statuses = set(Opportunity.objects.values_list("status", flat=True))
    assert statuses == {"open", "won", "lost"}
    assert not Opportunity.objects.filter(status="lost", lost_reason__isnull=True).exists()
    moved = StageChange.objects.filter(from_stage__isnull=False)
    assert moved.exists() and not moved.filter(seconds_in_from_stage__lte=0).exists()
    assert (
        generate_opportunities(users=users, accounts=accounts, count=5, rng=random.Random(1)) == 0
    )
