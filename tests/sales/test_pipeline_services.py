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


# --- helpers ---------------------------------------------------------------------------------


def _stages(pipeline):
    return {stage.name_en: stage for stage in pipeline.stages.all()}


@pytest.fixture
def deal(org):
    rep = org["rep_sh"]
    return services.opportunity_create(
        actor=rep, account=AccountFactory(owner=rep), name="数据平台项目", amount="50000"
    )


def _default_stages():
    return _stages(Pipeline.objects.get(is_default=True))


# --- moves and stage rules -------------------------------------------------------------------


def test_move_to_next_stage_writes_history_with_time_in_stage(org, deal):
    from datetime import timedelta

    stages = _default_stages()
    Opportunity.objects.filter(pk=deal.pk).update(
        stage_entered_at=deal.stage_entered_at - timedelta(hours=5)
    )
    moved = services.opportunity_move(
        actor=org["rep_sh"], opportunity=deal, stage=stages["Qualification"]
    )
    moved.refresh_from_db()
    assert moved.stage == stages["Qualification"] and moved.probability == 30
    last = StageChange.objects.filter(opportunity=deal).order_by("-id").first()
    assert last.from_stage == stages["Prospecting"]
    assert last.to_stage == stages["Qualification"]
    assert 5 * 3600 <= last.seconds_in_from_stage < 5 * 3600 + 60
    assert moved.stage_entered_at == last.changed_at


def test_required_fields_refused_naming_each_and_nothing_stored(org, deal):
    stages = _default_stages()
    proposal = stages["Proposal"]
    proposal.required_fields = ["expected_close_date", "next_step"]
    proposal.save()
    with pytest.raises(ValidationError) as caught:
        services.opportunity_move(actor=org["rep_sh"], opportunity=deal, stage=proposal)
    assert set(caught.value.message_dict) == {"expected_close_date", "next_step"}
    codes = {e.code for errors in caught.value.error_dict.values() for e in errors}
    assert codes == {"required_for_stage"}
    # a value given for only one of them: still refused, and that value is not stored either
    with pytest.raises(ValidationError) as caught:
        services.opportunity_move(
            actor=org["rep_sh"],
            opportunity=deal,
            stage=proposal,
            values={"next_step": "发送报价"},
        )
    assert set(caught.value.message_dict) == {"expected_close_date"}
    deal.refresh_from_db()
    assert deal.stage == stages["Prospecting"] and deal.next_step == ""
    assert StageChange.objects.filter(opportunity=deal).count() == 1
    moved = services.opportunity_move(
        actor=org["rep_sh"],
        opportunity=deal,
        stage=proposal,
        values={"next_step": "发送报价", "expected_close_date": "2026-12-31"},
    )
    moved.refresh_from_db()
    assert moved.stage == proposal and str(moved.expected_close_date) == "2026-12-31"


def test_amount_required_means_more_than_zero(org):
    rep = org["rep_sh"]
    stages = _default_stages()
    stages["Qualification"].required_fields = ["amount"]
    stages["Qualification"].save()
    opportunity = services.opportunity_create(
        actor=rep, account=AccountFactory(owner=rep), name="零金额"
    )
    with pytest.raises(ValidationError) as caught:
        services.opportunity_move(actor=rep, opportunity=opportunity, stage=stages["Qualification"])
    assert set(caught.value.message_dict) == {"amount"}


def test_lost_needs_a_reason_and_closes(org, deal):
    stages = _default_stages()
    with pytest.raises(ValidationError) as caught:
        services.opportunity_move(actor=org["rep_sh"], opportunity=deal, stage=stages["Lost"])
    assert set(caught.value.message_dict) == {"lost_reason"}
    deal.refresh_from_db()
    assert deal.status == "open"
    price = LostReason.objects.get(name_en="Price")
    lost = services.opportunity_move(
        actor=org["rep_sh"],
        opportunity=deal,
        stage=stages["Lost"],
        lost_reason=price,
        lost_note="对手便宜 20%",
    )
    lost.refresh_from_db()
    assert lost.status == "lost" and lost.lost_reason == price
    assert lost.lost_note == "对手便宜 20%"
    assert lost.probability == 0 and lost.forecast_category == "closed"
    assert lost.closed_at is not None


def test_lost_reason_refused_on_other_stages(org, deal):
    with pytest.raises(ValidationError) as caught:
        services.opportunity_move(
            actor=org["rep_sh"],
            opportunity=deal,
            stage=_default_stages()["Won"],
            lost_reason=LostReason.objects.first(),
        )
    assert set(caught.value.message_dict) == {"lost_reason"}


def test_won_closes_and_reopening_clears(org, deal):
    from rapport.core.models import OutboxMessage

    stages = _default_stages()
    services.opportunity_update(actor=org["rep_sh"], opportunity=deal, forecast_category="commit")
    won = services.opportunity_move(actor=org["rep_sh"], opportunity=deal, stage=stages["Won"])
    won.refresh_from_db()
    assert won.status == "won" and won.probability == 100
    assert won.forecast_category == "closed" and won.closed_at is not None
    topics = set(OutboxMessage.objects.filter(payload__id=deal.pk).values_list("topic", flat=True))
    assert {"stage.changed", "opportunity.won", "record.updated"} <= topics
    reopened = services.opportunity_move(
        actor=org["rep_sh"], opportunity=won, stage=stages["Negotiation"]
    )
    reopened.refresh_from_db()
    assert reopened.status == "open" and reopened.closed_at is None
    assert reopened.probability == 80 and reopened.forecast_category == "pipeline"
    assert reopened.lost_reason is None
    history = list(
        StageChange.objects.filter(opportunity=deal)
        .order_by("id")
        .values_list("to_stage__name_en", flat=True)
    )
    assert history == ["Prospecting", "Won", "Negotiation"]


def test_lost_to_won_clears_the_lost_reason(org, deal):
    stages = _default_stages()
    services.opportunity_move(
        actor=org["rep_sh"],
        opportunity=deal,
        stage=stages["Lost"],
        lost_reason=LostReason.objects.first(),
        lost_note="x",
    )
    won = services.opportunity_move(actor=org["rep_sh"], opportunity=deal, stage=stages["Won"])
    won.refresh_from_db()
    assert won.status == "won" and won.lost_reason is None and won.lost_note == ""


def test_move_refuses_a_stage_of_another_pipeline(org, deal):
    other = PipelineFactory()
    with pytest.raises(ValidationError) as caught:
        services.opportunity_move(actor=org["rep_sh"], opportunity=deal, stage=other.stages.first())
    assert set(caught.value.message_dict) == {"stage"}


def test_forecast_category_cannot_be_set_on_a_closed_opportunity(org, deal):
    services.opportunity_move(actor=org["rep_sh"], opportunity=deal, stage=_default_stages()["Won"])
    deal.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        services.opportunity_update(
            actor=org["rep_sh"], opportunity=deal, forecast_category="commit"
        )
    assert set(caught.value.message_dict) == {"forecast_category"}
    with pytest.raises(ValidationError) as caught:
        services.opportunity_update(
            actor=org["rep_sh"], opportunity=deal, forecast_category="closed"
        )
    assert set(caught.value.message_dict) == {"forecast_category"}


# --- permissions -----------------------------------------------------------------------------


def test_a_rep_moves_only_their_own(org, deal):
    stage = _default_stages()["Qualification"]
    for outsider in (org["rep_east"], org["rep_south"]):
        with pytest.raises(PermissionDenied):
            services.opportunity_move(actor=outsider, opportunity=deal, stage=stage)
    deal.refresh_from_db()
    assert deal.stage.name_en == "Prospecting"


def test_a_manager_moves_their_departments_not_others(org, deal):
    stage = _default_stages()["Qualification"]
    moved = services.opportunity_move(actor=org["sales_manager"], opportunity=deal, stage=stage)
    assert moved.stage == stage  # rep_sh is in Shanghai, under the manager's East region
    south = services.opportunity_create(
        actor=org["rep_south"], account=AccountFactory(owner=org["rep_south"]), name="南方"
    )
    with pytest.raises(PermissionDenied):
        services.opportunity_move(actor=org["sales_manager"], opportunity=south, stage=stage)


def test_assign_within_the_managers_department(org, deal):
    assigned = services.opportunity_assign(
        actor=org["sales_manager"], opportunity=deal, owner=org["rep_east"]
    )
    assert assigned.owner == org["rep_east"]
    with pytest.raises(ValidationError) as caught:
        services.opportunity_assign(
            actor=org["sales_manager"], opportunity=deal, owner=org["rep_south"]
        )
    assert set(caught.value.message_dict) == {"owner"}
    with pytest.raises(PermissionDenied):  # reps have no assign grant
        services.opportunity_assign(actor=org["rep_east"], opportunity=deal, owner=org["rep_sh"])


def test_create_for_another_owner_only_within_the_grant(org):
    account = AccountFactory(owner=org["rep_sh"])
    with pytest.raises(ValidationError) as caught:
        services.opportunity_create(
            actor=org["rep_sh"], account=account, name="x", owner=org["rep_east"]
        )
    assert set(caught.value.message_dict) == {"owner"}
    made = services.opportunity_create(
        actor=org["sales_manager"],
        account=AccountFactory(owner=org["sales_manager"]),
        name="给同事",
        owner=org["rep_sh"],
    )
    assert made.owner == org["rep_sh"]


# --- update and lines ------------------------------------------------------------------------


def test_update_with_lines_sets_the_amount_from_them(org, deal):
    from tests.factories import ProductFactory

    product = ProductFactory(list_price=200)
    updated = services.opportunity_update(
        actor=org["rep_sh"],
        opportunity=deal,
        lines=[
            {"product": product.pk, "quantity": "3"},
            {
                "description": "实施服务",
                "quantity": 1,
                "unit_price": "999.99",
                "discount_percent": "10",
            },
        ],
        next_step="演示",
    )
    updated.refresh_from_db()
    assert updated.amount == Decimal("600.00") + Decimal("899.99")
    assert [line.amount for line in updated.lines.order_by("position")] == [
        Decimal("600.00"),
        Decimal("899.99"),
    ]
    assert updated.next_step == "演示"


def test_update_bad_line_named_and_nothing_stored(org, deal):
    with pytest.raises(ValidationError) as caught:
        services.opportunity_update(
            actor=org["rep_sh"],
            opportunity=deal,
            name="改名",
            lines=[{"description": "x", "quantity": "-1", "unit_price": "1"}],
        )
    assert "lines.0.quantity" in caught.value.message_dict
    deal.refresh_from_db()
    assert deal.name == "数据平台项目" and not deal.lines.exists()


def test_update_refuses_emptying_a_field_the_stage_requires(org, deal):
    stage = _default_stages()["Qualification"]
    stage.required_fields = ["next_step"]
    stage.save()
    services.opportunity_move(
        actor=org["rep_sh"], opportunity=deal, stage=stage, values={"next_step": "拜访"}
    )
    with pytest.raises(ValidationError) as caught:
        services.opportunity_update(actor=org["rep_sh"], opportunity=deal, next_step="")
    assert set(caught.value.message_dict) == {"next_step"}


def test_amount_must_be_a_decimal_not_negative(org, deal):
    for bad, code in (("-1", "out_of_range"), ("abc", "invalid"), ("1.005", "too_precise")):
        with pytest.raises(ValidationError) as caught:
            services.opportunity_update(actor=org["rep_sh"], opportunity=deal, amount=bad)
        assert caught.value.error_dict["amount"][0].code == code


def test_update_is_audited_with_before_and_after(org, deal):
    from rapport.audit.models import AuditEvent

    services.opportunity_update(actor=org["rep_sh"], opportunity=deal, amount="60000")
    event = AuditEvent.objects.filter(object_id=str(deal.pk), action="update").latest("id")
    assert event.changes["amount"] == ["50000.00", "60000.00"]


# --- kanban order ----------------------------------------------------------------------------


def _column(stage):
    return list(
        Opportunity.objects.filter(stage=stage, status="open")
        .order_by("board_rank", "id")
        .values_list("name", flat=True)
    )


def test_new_cards_go_on_top_and_reorder_places_between(org):
    rep = org["rep_sh"]
    account = AccountFactory(owner=rep)
    made = {
        name: services.opportunity_create(actor=rep, account=account, name=name)
        for name in ("a", "b", "c", "d")
    }
    stage = made["a"].stage
    assert _column(stage) == ["d", "c", "b", "a"]
    services.opportunity_reorder(actor=rep, opportunity=made["d"], after=made["b"])
    assert _column(stage) == ["c", "b", "d", "a"]
    services.opportunity_reorder(actor=rep, opportunity=made["a"], after=None)
    assert _column(stage) == ["a", "c", "b", "d"]
    made["c"].refresh_from_db()
    services.opportunity_reorder(actor=rep, opportunity=made["d"], before=made["c"])
    assert _column(stage) == ["a", "d", "c", "b"]


def test_reorder_makes_room_when_ranks_touch(org):
    rep = org["rep_sh"]
    account = AccountFactory(owner=rep)
    made = [services.opportunity_create(actor=rep, account=account, name=str(i)) for i in range(5)]
    Opportunity.objects.filter(pk__in=[o.pk for o in made]).update(board_rank=0)
    stage = made[0].stage
    order = _column(stage)  # equal ranks: by id
    assert order == ["0", "1", "2", "3", "4"]
    moving = Opportunity.objects.get(name="4")
    services.opportunity_reorder(
        actor=rep, opportunity=moving, after=Opportunity.objects.get(name="1")
    )
    assert _column(stage) == ["0", "1", "4", "2", "3"]


def test_reorder_needs_change_on_the_card(org, deal):
    with pytest.raises(PermissionDenied):
        services.opportunity_reorder(actor=org["rep_east"], opportunity=deal)


# --- administration --------------------------------------------------------------------------


def test_pipeline_create_with_default_stages_and_default_moves(org):
    admin = org["sales_manager"]
    made = services.pipeline_create(actor=admin, name="续约", name_en="Renewals", is_default=True)
    assert made.stages.count() == 6
    assert Pipeline.objects.get(is_default=True) == made
    with pytest.raises(PermissionDenied):
        services.pipeline_create(actor=org["rep_sh"], name="x")


def test_pipeline_needs_one_won_and_a_lost_stage(org):
    with pytest.raises(ValidationError) as caught:
        services.pipeline_create(
            actor=org["admin"],
            name="坏流程",
            stages=[("开", "Open", 10, False, False), ("赢", "Won", 100, True, False)],
        )
    assert set(caught.value.message_dict) == {"stages"}
    assert not Pipeline.objects.filter(name="坏流程").exists()


def test_second_won_stage_refused_and_stage_in_use_not_deleted(org, deal):
    admin = org["admin"]
    pipeline = deal.pipeline
    with pytest.raises(ValidationError) as caught:
        services.stage_create(actor=admin, pipeline=pipeline, name="又赢", is_won=True)
    assert set(caught.value.message_dict) == {"is_won"}
    with pytest.raises(ValidationError) as caught:
        services.stage_delete(actor=admin, stage=deal.stage)
    assert caught.value.error_dict["stage"][0].code == "in_use"
    unused = _default_stages()["Negotiation"]
    services.stage_delete(actor=admin, stage=unused)
    assert not pipeline.stages.filter(name_en="Negotiation").exists()
    with pytest.raises(ValidationError):  # the only won stage
        services.stage_delete(actor=admin, stage=_default_stages()["Won"])
    assert pipeline.stages.filter(is_won=True).count() == 1


def test_new_open_stage_goes_before_the_closing_ones(org):
    admin = org["admin"]
    pipeline = Pipeline.objects.get(is_default=True)
    services.stage_create(
        actor=admin,
        pipeline=pipeline,
        name="合同审批",
        name_en="Contract",
        probability=90,
        required_fields=["expected_close_date", "lines"],
    )
    names = list(pipeline.stages.order_by("position").values_list("name_en", flat=True))
    assert names[-3:] == ["Contract", "Won", "Lost"]
    with pytest.raises(ValidationError) as caught:
        services.stage_create(
            actor=admin, pipeline=pipeline, name="坏", required_fields=["owner_secret"]
        )
    assert set(caught.value.message_dict) == {"required_fields"}


def test_stage_with_open_opportunities_stays_active_and_flags_stay(org, deal):
    admin = org["admin"]
    with pytest.raises(ValidationError) as caught:
        services.stage_update(actor=admin, stage=deal.stage, is_active=False)
    assert caught.value.error_dict["is_active"][0].code == "in_use"
    with pytest.raises(ValidationError) as caught:
        services.stage_update(actor=admin, stage=deal.stage, is_lost=True)
    assert caught.value.error_dict["is_lost"][0].code == "in_use"
    updated = services.stage_update(actor=admin, stage=deal.stage, probability=15)
    assert updated.probability == 15
    deal.refresh_from_db()
    assert deal.probability == 15


def test_lost_reasons_administration(org):
    admin = org["sales_manager"]
    made = services.lost_reason_create(actor=admin, name="产品不符", name_en="Product fit")
    assert made.position == LostReason.objects.count()
    with pytest.raises(ValidationError) as caught:
        services.lost_reason_create(actor=admin, name="产品不符")
    assert caught.value.error_dict["name"][0].code == "unique"
    services.lost_reason_update(actor=admin, lost_reason=made, is_active=False)
    made.refresh_from_db()
    assert not made.is_active
    with pytest.raises(PermissionDenied):
        services.lost_reason_create(actor=org["rep_sh"], name="x")


def test_default_pipeline_stays_active(org):
    pipeline = Pipeline.objects.get(is_default=True)
    with pytest.raises(ValidationError) as caught:
        services.pipeline_update(actor=org["admin"], pipeline=pipeline, is_active=False)
    assert set(caught.value.message_dict) == {"is_active"}
