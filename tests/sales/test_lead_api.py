"""The leads API: list and read what the caller may see, create through the rules, the pool
actions, conversion, duplicates; error bodies name the field; administration of pools and
rules needs the manage grant."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from rapport.sales.models import Lead, LeadPool
from rapport.sales.services import leads as services
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(org):
    team = TeamFactory(name="华东销售", members=[org["rep_east"], org["rep_sh"]])
    return LeadPool.objects.create(name="华东公海", team=team, is_default=True)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_rep_lists_own_and_pool_leads_not_others(org, pool):
    mine = services.lead_create(actor=org["rep_sh"], owner=org["rep_sh"], name="甲")
    services.lead_create(actor=org["rep_south"], owner=org["rep_south"], name="乙")
    pooled = services.lead_create(actor=org["admin"], owner=None, name="丙")
    response = client_for(org["rep_sh"]).get("/api/v1/sales/leads/")
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == {mine.pk, pooled.pk}
    in_pool = client_for(org["rep_sh"]).get("/api/v1/sales/leads/?in_pool=true").json()
    assert [row["id"] for row in in_pool["results"]] == [pooled.pk]
    other = Lead.objects.get(name="乙")
    assert client_for(org["rep_sh"]).get(f"/api/v1/sales/leads/{other.pk}/").status_code == 404


def test_q_finds_by_company_and_by_exact_phone(org, pool):
    lead = services.lead_create(
        actor=org["rep_sh"],
        owner=org["rep_sh"],
        name="张三",
        company="蓝海科技",
        phone="13812345678",
    )
    client = client_for(org["rep_sh"])
    for q in ("蓝海", "138 1234 5678", "+8613812345678"):
        rows = client.get("/api/v1/sales/leads/", {"q": q}).json()["results"]
        assert [row["id"] for row in rows] == [lead.pk], q
    assert client.get("/api/v1/sales/leads/", {"q": "13800000000"}).json()["results"] == []


def test_create_with_errors_names_the_fields(org, pool):
    response = client_for(org["rep_sh"]).post(
        "/api/v1/sales/leads/", {"name": "", "email": "bad", "colour": "red"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()["error"]
    assert set(body["fields"]) == {"colour"}
    response = client_for(org["rep_sh"]).post(
        "/api/v1/sales/leads/", {"name": "", "email": "bad"}, format="json"
    )
    assert set(response.json()["error"]["fields"]) == {"name", "email"}
    assert Lead.objects.count() == 0


def test_create_claim_follow_up_qualify_convert(org, pool):
    admin, rep = client_for(org["admin"]), client_for(org["rep_sh"])
    created = admin.post(
        "/api/v1/sales/leads/",
        {"name": "李四", "company": "山川制造", "owner": None},
        format="json",
    )
    assert created.status_code == 201
    lead_id = created.json()["id"]
    assert created.json()["in_pool"] is True and created.json()["source"] == "api"
    claimed = rep.post(f"/api/v1/sales/leads/{lead_id}/claim/")
    assert claimed.status_code == 200 and claimed.json()["owner"]["id"] == org["rep_sh"].pk
    again = client_for(org["rep_east"]).post(f"/api/v1/sales/leads/{lead_id}/claim/")
    assert again.status_code == 404  # no longer in the pool, not theirs
    added = rep.post(
        f"/api/v1/sales/leads/{lead_id}/follow-ups/",
        {"summary": "电话", "kind": "call"},
        format="json",
    )
    assert added.status_code == 201
    assert len(rep.get(f"/api/v1/sales/leads/{lead_id}/follow-ups/").json()) == 1
    bad = rep.post(f"/api/v1/sales/leads/{lead_id}/disqualify/", {"reason": ""}, format="json")
    assert bad.status_code == 400 and "reason" in bad.json()["error"]["fields"]
    qualified = rep.post(
        f"/api/v1/sales/leads/{lead_id}/qualify/",
        {"budget": "80000", "rating": "hot"},
        format="json",
    )
    assert qualified.json()["status"] == "qualified" and qualified.json()["budget"] == "80000.00"
    converted = rep.post(
        f"/api/v1/sales/leads/{lead_id}/convert/",
        {"opportunity_name": "山川 CRM", "amount": "80000"},
        format="json",
    )
    assert converted.status_code == 200, converted.json()
    body = converted.json()
    assert body["status"] == "converted" and body["converted_account"]["name"] == "山川制造"
    assert body["converted_opportunity"] is not None


def test_assign_needs_the_grant(org, pool):
    lead = services.lead_create(actor=org["rep_sh"], owner=org["rep_sh"], name="甲")
    response = client_for(org["rep_sh"]).post(
        f"/api/v1/sales/leads/{lead.pk}/assign/", {"owner": org["rep_east"].pk}, format="json"
    )
    assert response.status_code == 403
    response = client_for(org["sales_manager"]).post(
        f"/api/v1/sales/leads/{lead.pk}/assign/", {"owner": org["rep_east"].pk}, format="json"
    )
    assert response.status_code == 200 and response.json()["owner"]["id"] == org["rep_east"].pk


def test_duplicates_endpoint(org, pool):
    lead = services.lead_create(
        actor=org["rep_sh"], owner=org["rep_sh"], name="甲", email="jia@example.com"
    )
    response = client_for(org["rep_sh"]).post(
        "/api/v1/sales/leads/duplicates/", {"email": "JIA@example.com"}, format="json"
    )
    assert response.status_code == 200
    assert [(row["kind"], row["id"]) for row in response.json()] == [("lead", lead.pk)]


def test_pools_and_rules_need_the_manage_grant(org, pool):
    rep, admin = client_for(org["rep_sh"]), client_for(org["admin"])
    assert rep.get("/api/v1/sales/lead-pools/").status_code == 403
    created = admin.post(
        "/api/v1/sales/lead-pools/", {"name": "新公海", "max_held": 20}, format="json"
    )
    assert created.status_code == 201 and created.json()["max_held"] == 20
    rule = admin.post(
        "/api/v1/sales/lead-rules/",
        {
            "name": "广东",
            "condition": 'province = "广东省"',
            "method": "user",
            "user": org["rep_south"].pk,
        },
        format="json",
    )
    assert rule.status_code == 201, rule.json()
    assert rule.json()["condition"]["field"] == "province"
    bad = admin.post(
        "/api/v1/sales/lead-rules/", {"name": "x", "condition": "nope = 1"}, format="json"
    )
    assert bad.status_code == 400 and "condition" in bad.json()["error"]["fields"]
    created_lead = admin.post(
        "/api/v1/sales/leads/", {"name": "广东客户", "province": "广东"}, format="json"
    )
    assert created_lead.json()["owner"]["id"] == org["rep_south"].pk
    assert admin.delete(f"/api/v1/sales/lead-rules/{rule.json()['id']}/").status_code == 204


def test_leads_are_found_by_pinyin_and_in_global_search(
    org, pool, django_capture_on_commit_callbacks
):
    from rapport.core import search

    with django_capture_on_commit_callbacks(execute=True):
        lead = services.lead_create(
            actor=org["rep_sh"],
            owner=org["rep_sh"],
            name="黄海",
            company="中国银行",
            phone="13812345678",
        )
    client = client_for(org["rep_sh"])
    for q in ("zhongguo", "zgyh", "中國銀行"):
        rows = client.get("/api/v1/sales/leads/", {"q": q}).json()["results"]
        assert [row["id"] for row in rows] == [lead.pk], q
    results = search.search(org["rep_sh"], "13812345678", types=["sales.lead"])
    assert [hit.id for group in results.groups for hit in group.hits] == [lead.pk]
    hidden = search.search(org["rep_south"], "zhongguo", types=["sales.lead"])
    assert not any(group.hits for group in hidden.groups)
