"""The opportunity pages: list and board in a fixed number of queries, a drop that needs a
form, the detail with its stage history, the forms with errors beside their field, the
administration of pipelines, the 360 card."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from rapport.sales.models import LostReason, Opportunity, Pipeline, StageChange
from rapport.sales.services import pipeline as services
from tests.factories import AccountFactory, OpportunityFactory
from tests.query_counts import assert_flat

pytestmark = pytest.mark.django_db


def signed_in(user, language="en") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def _stages():
    return {s.name_en: s for s in Pipeline.objects.get(is_default=True).stages.all()}


def _grow(owner):
    pipeline = Pipeline.objects.get(is_default=True)
    open_stages = list(pipeline.stages.filter(is_won=False, is_lost=False))
    account = AccountFactory(owner=owner)

    def grow(n):
        for index in range(n):
            OpportunityFactory(
                owner=owner,
                account=account,
                pipeline=pipeline,
                stage=open_stages[index % len(open_stages)],
            )

    return grow


def test_list_queries_do_not_grow(org):
    rep = org["rep_sh"]
    client = signed_in(rep)
    assert_flat(
        client,
        reverse("sales:opportunity_list"),
        _grow(rep),
        few=2,
        many=12,
        rows=lambda body: body.count("data-opportunity-row="),
    )


def test_board_queries_do_not_grow(org):
    rep = org["rep_sh"]
    client = signed_in(rep)
    assert_flat(
        client,
        reverse("sales:opportunity_board"),
        _grow(rep),
        few=4,
        many=24,
        rows=lambda body: body.count('data-testid="opportunity-card"'),
    )


def test_list_filters_and_only_what_the_user_may_see(org):
    mine = OpportunityFactory(owner=org["rep_sh"], pipeline=Pipeline.objects.get(is_default=True))
    OpportunityFactory(owner=org["rep_east"], pipeline=Pipeline.objects.get(is_default=True))
    client = signed_in(org["rep_sh"])
    body = client.get(reverse("sales:opportunity_list")).content.decode()
    assert body.count("data-opportunity-row=") == 1 and f'data-opportunity-row="{mine.pk}"' in body
    body = client.get(reverse("sales:opportunity_list"), {"amount_min": "999999999"}).content
    assert b"data-opportunity-row=" not in body


def test_drop_on_a_stage_with_a_required_field_answers_with_the_form(org):
    rep = org["rep_sh"]
    opportunity = services.opportunity_create(
        actor=rep, account=AccountFactory(owner=rep), name="看板商机", amount="100"
    )
    stages = _stages()
    stages["Proposal"].required_fields = ["expected_close_date"]
    stages["Proposal"].save()
    client = signed_in(rep, "zh-hans")
    url = reverse("sales:opportunity_move", args=[opportunity.pk])
    plain = client.post(url, {"stage": stages["Qualification"].pk}, HTTP_X_REQUESTED_WITH="fetch")
    assert plain.json()["ok"] is True
    assert plain.json()["columns"][str(stages["Qualification"].pk)]["count"] == 1
    asked = client.post(url, {"stage": stages["Proposal"].pk}, HTTP_X_REQUESTED_WITH="fetch")
    body = asked.content.decode()
    assert asked["Content-Type"].startswith("text/html")
    assert 'data-testid="move-form"' in body and 'name="expected_close_date"' in body
    opportunity.refresh_from_db()
    assert opportunity.stage == stages["Qualification"]
    refused = client.post(
        url, {"stage": stages["Proposal"].pk, "form": "1"}, HTTP_HX_REQUEST="true"
    )
    assert 'data-field-error="expected_close_date"' in refused.content.decode()
    saved = client.post(
        url,
        {"stage": stages["Proposal"].pk, "form": "1", "expected_close_date": "2026-12-31"},
        HTTP_HX_REQUEST="true",
    )
    trigger = json.loads(saved["HX-Trigger"])["opportunityMoved"]
    assert trigger["stage"] == stages["Proposal"].pk
    opportunity.refresh_from_db()
    assert opportunity.stage == stages["Proposal"]


def test_drop_on_lost_asks_for_the_reason(org):
    rep = org["rep_sh"]
    opportunity = services.opportunity_create(
        actor=rep, account=AccountFactory(owner=rep), name="丢单", amount="100"
    )
    client = signed_in(rep)
    url = reverse("sales:opportunity_move", args=[opportunity.pk])
    lost = _stages()["Lost"]
    asked = client.post(url, {"stage": lost.pk}, HTTP_X_REQUESTED_WITH="fetch")
    assert 'name="lost_reason"' in asked.content.decode()
    reason = LostReason.objects.get(name_en="Timing")
    done = client.post(
        url,
        {"stage": lost.pk, "form": "1", "lost_reason": reason.pk, "lost_note": "明年再谈"},
        HTTP_HX_REQUEST="true",
    )
    assert json.loads(done["HX-Trigger"])["opportunityMoved"]["status"] == "lost"
    opportunity.refresh_from_db()
    assert opportunity.lost_reason == reason and opportunity.lost_note == "明年再谈"


def test_someone_elses_card_cannot_be_dropped(org):
    theirs = OpportunityFactory(
        owner=org["rep_east"], pipeline=Pipeline.objects.get(is_default=True)
    )
    client = signed_in(org["rep_sh"])
    response = client.post(
        reverse("sales:opportunity_move", args=[theirs.pk]),
        {"stage": _stages()["Qualification"].pk},
        HTTP_X_REQUESTED_WITH="fetch",
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.stage.name_en == "Prospecting"


def test_detail_shows_path_lines_and_history(org):
    rep = org["rep_sh"]
    opportunity = services.opportunity_create(
        actor=rep,
        account=AccountFactory(owner=rep),
        name="详情商机",
        lines=[{"description": "实施", "quantity": "2", "unit_price": "500"}],
    )
    services.opportunity_move(actor=rep, opportunity=opportunity, stage=_stages()["Qualification"])
    body = signed_in(rep).get(reverse("sales:opportunity_detail", args=[opportunity.pk]))
    text = body.content.decode()
    assert body.status_code == 200
    assert text.count('data-testid="stage-visit"') == 2
    assert "1,000.00" in text and 'data-testid="current-stage"' in text
    assert (
        signed_in(org["rep_east"])
        .get(reverse("sales:opportunity_detail", args=[opportunity.pk]))
        .status_code
        == 404
    )


def test_create_form_errors_beside_the_field_and_nothing_stored(org):
    rep = org["rep_sh"]
    account = AccountFactory(owner=rep)
    client = signed_in(rep, "zh-hans")
    url = reverse("sales:opportunity_create")
    response = client.post(
        url,
        {
            "name": "",
            "account": f"{account.pk} · {account.name}",
            "amount": "-1",
            "forecast_category": "pipeline",
            "line_1_description": "服务",
            "line_1_quantity": "abc",
            "line_1_unit_price": "10",
        },
    )
    body = response.content.decode()
    for field in ("name", "amount", "line_1_quantity"):
        assert f'data-field-error="{field}"' in body
    assert not Opportunity.objects.exists()
    response = client.post(
        url,
        {
            "name": "表单商机",
            "account": f"{account.pk} · {account.name}",
            "amount": "",
            "forecast_category": "commit",
            "line_0_description": "服务",
            "line_0_quantity": "3",
            "line_0_unit_price": "10",
        },
    )
    made = Opportunity.objects.get(name="表单商机")
    assert response.status_code == 302 and str(made.amount) == "30.00"
    assert made.forecast_category == "commit" and StageChange.objects.filter(opportunity=made)


def test_pipeline_administration(org):
    manager = signed_in(org["sales_manager"])
    assert manager.get(reverse("sales:pipeline_list")).status_code == 200
    assert signed_in(org["rep_sh"]).get(reverse("sales:pipeline_list")).status_code == 403
    pipeline = Pipeline.objects.get(is_default=True)
    detail = reverse("sales:pipeline_detail", args=[pipeline.pk])
    refused = manager.post(detail, {"form": "stage", "new-name": "再赢", "new-is_won": "on"})
    assert 'data-field-error="is_won"' in refused.content.decode()
    manager.post(
        detail,
        {
            "form": "stage",
            "new-name": "合同审批",
            "new-probability": "90",
            "new-required_fields": ["expected_close_date", "next_step"],
        },
    )
    added = pipeline.stages.get(name="合同审批")
    assert added.required_fields == ["expected_close_date", "next_step"]
    assert manager.get(reverse("sales:stage_edit", args=[added.pk])).status_code == 200
    assert manager.get(reverse("sales:lost_reason_list")).status_code == 200


def test_opportunities_card_on_the_account_page(org):
    rep = org["rep_sh"]
    account = AccountFactory(owner=rep)
    services.opportunity_create(actor=rep, account=account, name="卡片商机", amount="500")
    body = signed_in(rep).get(reverse("customers:account_detail", args=[account.pk]))
    text = body.content.decode()
    assert 'data-testid="opportunity-panel"' in text and "卡片商机" in text


def test_detail_lists_its_quotes_and_orders_in_flat_queries(org):
    from tests.sales.test_order_setup import make_order

    rep = org["rep_sh"]
    opportunity = services.opportunity_create(
        actor=rep, account=AccountFactory(owner=rep), name="文件商机"
    )
    other = services.opportunity_create(actor=rep, account=opportunity.account, name="别的商机")
    url = reverse("sales:opportunity_detail", args=[opportunity.pk])

    def grow(n):
        for _ in range(n):
            make_order(rep, account=opportunity.account, opportunity=opportunity)
        make_order(rep, account=opportunity.account, opportunity=other)

    client = signed_in(rep)
    assert_flat(client, url, grow, few=1, many=4)
    text = client.get(url).content.decode()
    orders = Opportunity.objects.get(pk=opportunity.pk).orders.all()
    assert text.count("data-order-row=") == orders.count() == 4
    assert 'data-opportunity-card="quotes"' in text
    new_quote = reverse("sales:quote_create")
    assert f"{new_quote}?account={opportunity.account_id}&amp;opportunity={opportunity.pk}" in text


def test_a_quote_started_on_the_opportunity_page_is_filled_in(org):
    rep = org["rep_sh"]
    opportunity = services.opportunity_create(
        actor=rep, account=AccountFactory(owner=rep, name="甬江贸易"), name="年度采购"
    )
    client = signed_in(rep)
    url = reverse("sales:quote_create")
    form = client.get(url, {"opportunity": opportunity.pk}).context["form"]
    assert form.initial["opportunity"] == str(opportunity.pk)
    assert form.initial["title"] == "年度采购"
    assert "甬江贸易" in form.initial["account"]
    # someone who may not see the opportunity gets an empty form, not its account
    stranger = signed_in(org["rep_south"])
    assert (
        "opportunity"
        not in stranger.get(url, {"opportunity": opportunity.pk}).context["form"].initial
    )
