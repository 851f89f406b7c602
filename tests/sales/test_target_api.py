"""Targets, attainment and the forecast through the API: statuses, the error body naming the
field, who may see and set whose targets."""

from __future__ import annotations

import datetime as dt

import pytest

from rapport.sales.models import Target
from tests.sales.test_forecast import NOV, at, open_deal, target, won
from tests.service.test_ticket_api import api_for

pytestmark = pytest.mark.django_db
URL = "/api/v1/sales/targets/"


def test_a_manager_sets_changes_and_deletes_targets(org):
    manager = api_for(org["sales_manager"])
    body = {
        "period": "month",
        "period_start": "2026-11-01",
        "user": org["rep_sh"].pk,
        "amount": "80000",
    }
    created = manager.post(URL, body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["amount"] == "80000.00" and created.json()["currency"] == "CNY"
    again = manager.post(URL, {**body, "amount": "90000"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    pk = created.json()["id"]
    changed = manager.patch(f"{URL}{pk}/", {"amount": "95000.5"}, format="json")
    assert changed.status_code == 200 and changed.json()["amount"] == "95000.50"
    listed = manager.get(URL, {"period": "month", "period_start": "2026-11-01"}).json()["results"]
    assert [row["id"] for row in listed] == [pk]
    assert manager.delete(f"{URL}{pk}/").status_code == 204
    assert not Target.objects.exists()


def test_bad_input_names_the_field(org):
    manager = api_for(org["sales_manager"])
    bad = manager.post(
        URL,
        {
            "period": "quarter",
            "period_start": "2026-11-01",
            "user": org["rep_sh"].pk,
            "amount": "-5",
        },
        format="json",
    )
    assert bad.status_code == 400
    fields = bad.json()["error"]["fields"]
    assert fields["period_start"][0]["code"] == "not_period_start"
    assert fields["amount"][0]["code"] == "min_value"
    two = manager.post(
        URL,
        {
            "period": "month",
            "period_start": "2026-11-01",
            "user": org["rep_sh"].pk,
            "team": None,
            "department": org["departments"]["east"].pk,
            "amount": "1",
        },
        format="json",
    )
    assert two.status_code == 400 and "department" in two.json()["error"]["fields"]
    unknown = manager.post(URL, {"period": "month", "amount": "1", "owner": 1}, format="json")
    assert unknown.json()["error"]["fields"]["owner"][0]["code"] == "unknown_field"
    assert not Target.objects.exists()


def test_a_rep_reads_only_their_own_targets_and_sets_none(org):
    target(user=org["rep_sh"])
    target(user=org["rep_south"])
    target(department=org["departments"]["east"])
    rep = api_for(org["rep_sh"])
    rows = rep.get(URL).json()["results"]
    assert [row["user"] for row in rows] == [org["rep_sh"].pk]
    south_target = Target.objects.get(user=org["rep_south"])
    assert rep.get(f"{URL}{south_target.pk}/").status_code == 404
    refused = rep.post(
        URL,
        {"period": "month", "period_start": "2026-11-01", "user": org["rep_sh"].pk, "amount": "1"},
        format="json",
    )
    assert refused.status_code == 403
    assert api_for(org["agent"]).get(URL).status_code == 403
    manager_rows = api_for(org["sales_manager"]).get(URL).json()["results"]
    assert {(row["user"], row["department"]) for row in manager_rows} == {
        (org["rep_sh"].pk, None),
        (None, org["departments"]["east"].pk),
    }


def test_attainment_and_forecast(org):
    from tests.factories import PipelineFactory

    pipeline = PipelineFactory()
    rep = org["rep_sh"]
    won(rep, "30000", at(5), pipeline)
    open_deal(rep, "10000", 60, "commit", dt.date(2026, 11, 28), pipeline)
    target(user=rep, amount="60000")
    client = api_for(rep)
    answer = client.get("/api/v1/sales/attainment/", {"period": "month", "start": "2026-11-01"})
    assert answer.status_code == 200
    [row] = answer.json()["results"]
    assert row["holder"] == rep.pk
    assert row["metrics"]["won_amount"] == {
        "target": "60000.00",
        "actual": "30000.00",
        "currency": "CNY",
        "percent": 50,
        "other_currencies": {},
    }
    asked = client.get(
        "/api/v1/sales/attainment/",
        {"period": "month", "start": "2026-11-01", "user": org["rep_south"].pk},
    )
    assert asked.json()["results"] == []
    bad = client.get("/api/v1/sales/attainment/", {"period": "quarter", "start": "2026-11-01"})
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"]["period_start"][0]["code"] == "not_period_start"

    plan = client.get("/api/v1/sales/forecast/", {"period": "quarter", "start": "2026-10-01"})
    assert plan.status_code == 200
    body = plan.json()
    assert body["totals"]["CNY"]["weighted"] == "6000.00"
    assert body["totals"]["CNY"]["commit"] == "10000.00"
    assert body["totals"]["CNY"]["closed_won"] == "30000.00"
    assert [node["user"] for node in body["results"]] == [rep.pk]
    hidden = client.get("/api/v1/sales/forecast/", {"user": org["rep_south"].pk})
    assert hidden.status_code == 404
    assert api_for(org["finance"]).get("/api/v1/sales/forecast/").status_code == 403
    assert NOV.day == 1
