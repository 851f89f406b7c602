"""Opportunities: creation with its defaults, the default pipeline."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from rapport.core.errors import PermissionDenied
from rapport.sales.models import LostReason, Opportunity, Pipeline, StageChange
from rapport.sales.services import pipeline as services
from tests.factories import AccountFactory, PipelineFactory

pytestmark = pytest.mark.django_db


def test_default_pipeline_exists_after_migrate():
    pipeline = Pipeline.objects.get(is_default=True)
    assert (pipeline.name, pipeline.name_en) == ("新业务", "New business")
    stages = list(pipeline.stages.order_by("position"))
    assert [(s.name, s.probability, s.is_won, s.is_lost) for s in stages] == [
        ("初步接触", 10, False, False),
        ("需求确认", 30, False, False),
        ("方案报价", 60, False, False),
        ("商务谈判", 80, False, False),
        ("赢单", 100, True, False),
        ("输单", 0, False, True),
    ]
    assert set(LostReason.objects.values_list("name_en", flat=True)) == {
        "Price",
        "Competitor",
        "No budget",
        "Timing",
    }
    assert services.ensure_default_pipeline() is False  # a second run adds nothing
    assert Pipeline.objects.count() == 1


def test_create_defaults_to_default_pipeline_first_stage_and_actor(org):
    rep = org["rep_sh"]
    account = AccountFactory(owner=rep)
    opportunity = services.opportunity_create(
        actor=rep, account=account, name="年度软件采购", amount="120000.50"
    )
    opportunity.refresh_from_db()
    assert opportunity.pipeline.is_default
    assert opportunity.stage.name == "初步接触"
    assert opportunity.probability == 10
    assert opportunity.owner == rep and opportunity.status == "open"
    assert opportunity.amount == Decimal("120000.50")
    assert opportunity.currency == "CNY"
    history = list(StageChange.objects.filter(opportunity=opportunity))
    assert len(history) == 1 and history[0].from_stage is None
    assert history[0].to_stage == opportunity.stage


def test_create_refuses_bad_input_naming_fields_and_stores_nothing(org):
    rep = org["rep_sh"]
    other = PipelineFactory()
    with pytest.raises(ValidationError) as caught:
        services.opportunity_create(
            actor=rep,
            account=AccountFactory(owner=org["rep_south"]),  # not visible to rep_sh
            name="",
            amount="-5",
            stage=other.stages.first(),
        )
    assert {"account", "name", "amount"} <= set(caught.value.message_dict)
    assert not Opportunity.objects.exists()


def test_create_needs_the_add_grant(org):
    with pytest.raises(PermissionDenied):
        services.opportunity_create(
            actor=org["agent"], account=AccountFactory(owner=org["agent"]), name="x"
        )
