"""Data-quality API (scores, summary, rules, compute) and `rapport quality`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from rest_framework.test import APIClient

from rapport.audit.models import AuditEvent
from rapport.core.models import Job
from rapport.customers import services
from rapport.dataops import quality
from rapport.dataops.models import QualityScore
from rapport.identity.services import token_create

pytestmark = pytest.mark.django_db

ACCOUNT, CONTACT = quality.ACCOUNT, quality.CONTACT


def api(user) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION="Bearer " + token_create(actor=user, name="t")[1],
        HTTP_ACCEPT_LANGUAGE="en",
    )
    return client


@pytest.fixture
def scored(org):
    made = {
        "bare": services.account_create(actor=org["rep_east"], name="接口空壳公司"),
        "full": services.account_create(
            actor=org["rep_east"],
            name="接口齐全公司",
            province="上海",
            city="上海",
            phone="021-65521234",
            address="浦东新区 1 号",
        ),
        "south": services.account_create(actor=org["rep_south"], name="接口华南公司"),
        "contact": services.contact_create(actor=org["rep_east"], name="接口联系人"),
    }
    quality.compute_run(quality.compute_start(actor=org["admin"]))
    return made


def test_scores_list_is_restricted_filtered_and_weakest_first(org, scored):
    rep = api(org["rep_east"])
    body = rep.get("/api/v1/quality/scores/", {"type": ACCOUNT}).json()
    results = body["results"]
    assert [r["record"]["title"] for r in results] == ["接口空壳公司", "接口齐全公司"]
    first = results[0]
    assert first["total"] <= results[1]["total"]
    assert {"completeness", "validity", "freshness", "duplicates", "computed_at"} <= set(first)
    missing = [r for r in first["reasons"] if r["code"] == "missing"]
    assert {"component": "completeness", "field": "credit_code"}.items() <= missing[0].items()
    assert missing[0]["text"] == "Unified social credit code is empty"
    assert first["owner"]["username"] == "rep_east"
    # both types without ?type=, still only the rep's own records
    both = rep.get("/api/v1/quality/scores/").json()["results"]
    assert {r["type"] for r in both} == {ACCOUNT, CONTACT}
    assert "接口华南公司" not in {r["record"]["title"] for r in both}
    # one record by id; someone else's record is simply not there
    one = rep.get("/api/v1/quality/scores/", {"type": ACCOUNT, "record": scored["full"].pk})
    assert [r["record"]["id"] for r in one.json()["results"]] == [scored["full"].pk]
    hidden = rep.get("/api/v1/quality/scores/", {"type": ACCOUNT, "record": scored["south"].pk})
    assert hidden.json()["results"] == []
    best_first = rep.get("/api/v1/quality/scores/", {"type": ACCOUNT, "ordering": "-total"})
    assert best_first.json()["results"][0]["record"]["title"] == "接口齐全公司"
    named = rep.get("/api/v1/quality/scores/", {"q": "齐全"}).json()["results"]
    assert [r["record"]["title"] for r in named] == ["接口齐全公司"]
    low = rep.get("/api/v1/quality/scores/", {"type": ACCOUNT, "max_total": first["total"]})
    assert [r["record"]["title"] for r in low.json()["results"]] == ["接口空壳公司"]
    assert rep.get("/api/v1/quality/scores/", {"type": "nothing"}).status_code == 400
    assert APIClient().get("/api/v1/quality/scores/").status_code == 401


def test_summary_groups_by_owner_and_department(org, scored):
    manager = api(org["sales_manager"]).get("/api/v1/quality/summary/", {"type": ACCOUNT})
    assert manager.status_code == 200
    body = manager.json()
    assert body["count"] == 2  # the east region's two, not the south's
    assert sum(band["count"] for band in body["bands"]) == 2
    assert [c["code"] for c in body["components"]] == list(quality.COMPONENTS)
    assert [g["name"] for g in body["by_owner"]] == [str(org["rep_east"])]
    assert [g["id"] for g in body["by_department"]] == [org["departments"]["east"].pk]
    totals = QualityScore.objects.filter(object_type=ACCOUNT, owner=org["rep_east"]).values_list(
        "total", flat=True
    )
    assert body["average"] == round(sum(totals) / len(totals))
    admin = api(org["admin"])
    south = admin.get(
        "/api/v1/quality/summary/",
        {"type": ACCOUNT, "department": org["departments"]["south"].pk},
    ).json()
    assert south["count"] == 1
    assert admin.get("/api/v1/quality/summary/", {"type": "x"}).status_code == 400


def test_rules_read_by_anyone_changed_by_administrators(org):
    rep = api(org["rep_east"])
    rules = rep.get("/api/v1/quality/rules/").json()
    assert {rule["type"] for rule in rules} == {ACCOUNT, CONTACT}
    account_rule = rep.get(f"/api/v1/quality/rules/{ACCOUNT}/").json()
    assert account_rule["is_default"] is True
    assert account_rule["fields"] == quality.DEFAULT_RULES[ACCOUNT]["fields"]
    assert "contacts" in {f["name"] for f in account_rule["available_fields"]}
    assert (
        rep.patch(
            f"/api/v1/quality/rules/{ACCOUNT}/", {"freshness_days": 30}, format="json"
        ).status_code
        == 403
    )
    admin = api(org["admin"])
    changed = admin.patch(
        f"/api/v1/quality/rules/{ACCOUNT}/",
        {"freshness_days": 30, "weights": {"duplicates": 0}},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["freshness_days"] == 30
    assert changed.json()["weights"]["duplicates"] == 0
    assert changed.json()["weights"]["completeness"] == 40  # left out, kept
    assert AuditEvent.objects.filter(action="quality.rule_update").count() == 1
    bad = admin.patch(
        f"/api/v1/quality/rules/{ACCOUNT}/", {"fields": {"shoe_size": 3}}, format="json"
    )
    assert bad.status_code == 400
    assert "fields" in bad.json()["error"]["fields"]
    unknown = admin.patch(f"/api/v1/quality/rules/{ACCOUNT}/", {"colour": 1}, format="json")
    assert unknown.status_code == 400
    assert admin.get("/api/v1/quality/rules/customers.nothing/").status_code == 404
    assert quality.rule_for(ACCOUNT).freshness_days == 30


def test_compute_starts_a_job_for_administrators_only(org, django_capture_on_commit_callbacks):
    from rapport.celery import app

    services.account_create(actor=org["rep_east"], name="计算公司")
    assert api(org["sales_manager"]).post("/api/v1/quality/compute/").status_code == 403
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            started = api(org["admin"]).post("/api/v1/quality/compute/")
    finally:
        app.conf.task_always_eager = previous
    assert started.status_code == 202
    job = Job.objects.get(pk=started.json()["id"])
    assert job.kind == quality.KIND and job.state == Job.State.SUCCEEDED
    assert QualityScore.objects.filter(object_type=ACCOUNT).count() == 1


def test_schema_documents_the_quality_endpoints(client):
    import json

    paths = json.loads(client.get("/api/schema/?format=json").content)["paths"]
    assert "/api/v1/quality/scores/" in paths
    assert "patch" in paths["/api/v1/quality/rules/{object_type}/"]
    assert "403" in paths["/api/v1/quality/compute/"]["post"]["responses"]


def test_cli_compute_and_summary(org, scored):
    with translation.override("en"):
        out = StringIO()
        call_command("quality", "compute", "--as", "admin", stdout=out)
        text = out.getvalue()
        assert "Scores computed" in text
        assert "Accounts: 3 records" in text
        out = StringIO()
        call_command("quality", "summary", "--as", "manager", stdout=out)
        summary = out.getvalue()
        assert "Accounts: 2 records" in summary
        assert "接口空壳公司" in summary and "接口华南公司" not in summary
        assert summary.index("接口空壳公司") < summary.index("接口齐全公司")
        assert "Unified social credit code is empty" in summary
        out = StringIO()
        call_command("quality", "summary", "--type", CONTACT, "--as", "rep_south", stdout=out)
        assert "No scores to show" in out.getvalue()
        with pytest.raises(CommandError):
            call_command("quality", "compute", "--as", "rep_east", stdout=StringIO())
