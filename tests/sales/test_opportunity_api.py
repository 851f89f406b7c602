"""The opportunity, pipeline and lost-reason API: the workflow through its endpoints, errors
naming the field, what each caller may see and do."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from rapport.identity.services import token_create
from rapport.sales.models import LostReason, Opportunity, Pipeline
from rapport.sales.services import pipeline as services
from tests.factories import AccountFactory, OpportunityFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/sales/opportunities/"


def api_for(user, language="en") -> APIClient:
    user.language = language
    user.save(update_fields=["language"])
    _token, secret = token_create(actor=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + secret)
    return client


def _stages():
    return {s.name_en: s for s in Pipeline.objects.get(is_default=True).stages.all()}


def test_a_rep_works_an_opportunity_through_the_api(org):
    rep = org["rep_sh"]
    client = api_for(rep)
    account = AccountFactory(owner=rep)
    created = client.post(
        URL,
        {
            "name": "云平台采购",
            "account": account.pk,
            "amount": "88000.00",
            "expected_close_date": "2026-12-20",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["stage"]["name_en"] == "Prospecting" and body["owner"]["id"] == rep.pk
    assert body["amount"] == "88000.00" and body["probability"] == 10
    detail = f"{URL}{body['id']}/"
    stages = _stages()
    moved = client.post(f"{detail}move/", {"stage": stages["Qualification"].pk}, format="json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["stage"]["id"] == stages["Qualification"].pk
    history = client.get(f"{detail}history/").json()
    assert [visit["stage"]["name_en"] for visit in history] == ["Prospecting", "Qualification"]
    assert history[0]["seconds"] is not None and history[1]["current"] is True
    changed = client.patch(detail, {"next_step": "安排演示"}, format="json")
    assert changed.json()["next_step"] == "安排演示"
    lost = client.post(
        f"{detail}move/",
        {"stage": stages["Lost"].pk, "lost_reason": LostReason.objects.first().pk},
        format="json",
    )
    assert lost.json()["status"] == "lost" and lost.json()["forecast_category"] == "closed"
    listed = client.get(URL, {"status": "lost"}).json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]


def test_move_refusal_names_every_missing_field_and_changes_nothing(org):
    rep = org["rep_sh"]
    opportunity = services.opportunity_create(
        actor=rep, account=AccountFactory(owner=rep), name="缺字段"
    )
    stages = _stages()
    stages["Proposal"].required_fields = ["amount", "expected_close_date"]
    stages["Proposal"].save()
    client = api_for(rep)
    refused = client.post(
        f"{URL}{opportunity.pk}/move/",
        {"stage": stages["Proposal"].pk, "values": {"next_step": "报价"}},
        format="json",
    )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert set(error["fields"]) == {"amount", "expected_close_date"}
    assert error["fields"]["amount"][0]["code"] == "required_for_stage"
    opportunity.refresh_from_db()
    assert opportunity.stage == stages["Prospecting"] and opportunity.next_step == ""
    lost = client.post(f"{URL}{opportunity.pk}/move/", {"stage": stages["Lost"].pk}, format="json")
    assert set(lost.json()["error"]["fields"]) == {"lost_reason"}
    done = client.post(
        f"{URL}{opportunity.pk}/move/",
        {
            "stage": stages["Proposal"].pk,
            "values": {"amount": "1000", "expected_close_date": "2026-11-30"},
        },
        format="json",
    )
    assert done.status_code == 200 and done.json()["amount"] == "1000.00"


def test_bad_input_is_named_in_the_callers_language(org):
    client = api_for(org["rep_sh"], "zh-hans")
    bad = client.post(
        URL,
        {"name": "", "account": 999999, "amount": "-3", "colour": "red"},
        format="json",
    )
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"colour"}  # unknown fields first
    bad = client.post(URL, {"name": "", "account": 999999, "amount": "-3"}, format="json")
    assert "account" in bad.json()["error"]["fields"]
    account = AccountFactory(owner=org["rep_sh"])
    bad = client.post(
        URL,
        {"name": "", "account": account.pk, "amount": "-3", "lines": [{"quantity": "0"}]},
        format="json",
    )
    fields = bad.json()["error"]["fields"]
    assert {"name", "amount", "lines.0.quantity"} <= set(fields)
    assert not Opportunity.objects.exists()


def test_a_rep_sees_and_moves_only_their_own(org):
    mine = OpportunityFactory(owner=org["rep_sh"], pipeline=Pipeline.objects.get(is_default=True))
    theirs = OpportunityFactory(
        owner=org["rep_east"], pipeline=Pipeline.objects.get(is_default=True)
    )
    client = api_for(org["rep_sh"])
    ids = [row["id"] for row in client.get(URL).json()["results"]]
    assert ids == [mine.pk]
    assert client.get(f"{URL}{theirs.pk}/").status_code == 404
    moved = client.post(
        f"{URL}{theirs.pk}/move/", {"stage": _stages()["Qualification"].pk}, format="json"
    )
    assert moved.status_code == 404
    manager = api_for(org["sales_manager"])
    seen = {row["id"] for row in manager.get(URL).json()["results"]}
    assert seen == {mine.pk, theirs.pk}
    # an agent has no grant on opportunities at all
    assert api_for(org["agent"]).get(URL).status_code == 403


def test_board_columns_with_counts_sums_and_cursor(org):
    rep = org["rep_sh"]
    pipeline = Pipeline.objects.get(is_default=True)
    first = pipeline.stages.order_by("position").first()
    for index in range(25):
        OpportunityFactory(owner=rep, pipeline=pipeline, stage=first, amount=100, board_rank=index)
    OpportunityFactory(owner=org["rep_east"], pipeline=pipeline, stage=first, amount=5)
    client = api_for(rep)
    board = client.get(f"{URL}board/").json()
    column = board["columns"][0]
    assert column["stage"]["id"] == first.pk
    assert column["count"] == 25 and column["amount"] == "2500.00"
    assert len(column["cards"]) == 20 and column["more"] is True
    assert [s["is_won"] or s["is_lost"] for s in board["closing"]] == [True, True]
    more = client.get(f"{URL}board/", {"stage": first.pk, "after": column["next_after"]}).json()[
        "columns"
    ][0]
    assert len(more["cards"]) == 5 and more["more"] is False
    seen = {c["id"] for c in column["cards"]} | {c["id"] for c in more["cards"]}
    assert len(seen) == 25


def test_board_queries_do_not_grow_with_opportunities(org):
    rep = org["rep_sh"]
    pipeline = Pipeline.objects.get(is_default=True)
    stages = list(pipeline.stages.filter(is_won=False, is_lost=False))
    client = api_for(rep)

    def count():
        client.get(f"{URL}board/")
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"{URL}board/").status_code == 200
        return len(captured)

    for stage in stages:
        OpportunityFactory(owner=rep, pipeline=pipeline, stage=stage)
    few = count()
    for stage in stages:
        for _ in range(8):
            OpportunityFactory(owner=rep, pipeline=pipeline, stage=stage)
    assert count() == few


def test_pipelines_and_lost_reasons(org):
    rep = api_for(org["rep_sh"])
    listed = rep.get("/api/v1/sales/pipelines/").json()["results"]
    assert listed[0]["is_default"] and len(listed[0]["stages"]) == 6
    assert rep.post("/api/v1/sales/pipelines/", {"name": "x"}, format="json").status_code == 403
    manager = api_for(org["sales_manager"])
    made = manager.post("/api/v1/sales/pipelines/", {"name": "项目型"}, format="json")
    assert made.status_code == 201 and len(made.json()["stages"]) == 6
    pipeline_id = made.json()["id"]
    won = next(s for s in made.json()["stages"] if s["is_won"])
    bad = manager.post(
        f"/api/v1/sales/pipelines/{pipeline_id}/stages/",
        {"name": "再赢", "is_won": True},
        format="json",
    )
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"is_won"}
    changed = manager.patch(
        f"/api/v1/sales/pipelines/{pipeline_id}/stages/{won['id']}/",
        {"required_fields": ["amount", "lines"]},
        format="json",
    )
    assert changed.json()["required_fields"] == ["amount", "lines"]
    refused = manager.delete(f"/api/v1/sales/pipelines/{pipeline_id}/stages/{won['id']}/")
    assert refused.status_code == 400  # the only won stage
    reasons = rep.get("/api/v1/sales/lost-reasons/").json()["results"]
    assert len(reasons) == 4
    created = manager.post("/api/v1/sales/lost-reasons/", {"name": "服务"}, format="json")
    assert created.status_code == 201
    assert rep.post("/api/v1/sales/lost-reasons/", {"name": "y"}, format="json").status_code == 403
