"""The privacy API: requests (create, find, decide, bundle, download, anonymize, complete,
reject), retention policies (list, change, preview, run, runs), permissions, schema."""

from __future__ import annotations

import json
import zipfile
from io import BytesIO

import pytest
from django.core.cache import cache
from django.utils import translation
from rest_framework.test import APIClient

import rapport.celery
from rapport.customers.models import Contact
from rapport.dataops.models import RetentionPolicy
from rapport.identity.services import token_create
from tests.dataops.test_privacy import EMAIL, ID_NUMBER, PHONE, make_person

pytestmark = pytest.mark.django_db

BASE = "/api/v1/privacy/requests/"


@pytest.fixture(autouse=True)
def _fresh(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    eager = rapport.celery.app.conf.task_always_eager
    rapport.celery.app.conf.task_always_eager = True
    yield
    rapport.celery.app.conf.task_always_eager = eager
    cache.clear()


def client_for(user) -> APIClient:
    _token, secret = token_create(actor=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + secret)
    return client


def error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def test_access_request_through_the_api(org, django_capture_on_commit_callbacks):
    admin = org["admin"]
    contact, _colleague = make_person(admin)
    api = client_for(admin)
    created = api.post(
        BASE,
        {"kind": "access", "subject_phone": "13812345678", "channel": "web_form"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["subject"]["phone"] == PHONE and body["status"] == "received"
    assert [m["contact"]["id"] for m in body["matches"]] == [contact.pk]
    assert body["matches"][0]["related"]["interactions"] == 1
    assert body["matches"][0]["related"]["tasks"] == 1
    request_id = body["id"]
    decided = api.post(
        f"{BASE}{request_id}/decide/",
        {"contacts": [contact.pk], "state": "confirmed"},
        format="json",
    )
    assert decided.json()["matches"][0]["state"] == "confirmed"
    assert decided.json()["status"] == "in_progress"
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(f"{BASE}{request_id}/bundle/")
    assert started.status_code == 202
    job = api.get(f"/api/v1/jobs/{started.json()['id']}/").json()
    assert job["state"] == "succeeded"
    download = api.get(f"{BASE}{request_id}/bundle/download/")
    assert download.status_code == 200
    with zipfile.ZipFile(BytesIO(b"".join(download.streaming_content))) as archive:
        data = json.loads(archive.read(f"request-{request_id}.json"))
    assert data["contacts"][0]["emails"] == [EMAIL]
    assert data["contacts"][0]["id_number"] == ID_NUMBER
    completed = api.post(f"{BASE}{request_id}/complete/", {"outcome_note": "已寄出"}, format="json")
    assert completed.json()["status"] == "completed"
    listed = api.get(BASE, {"status": "completed"}).json()
    assert [row["id"] for row in listed["results"]] == [request_id]
    assert api.get(BASE, {"status": "open"}).json()["results"] == []


def test_erasure_request_through_the_api(org):
    admin = org["admin"]
    contact, _colleague = make_person(admin, with_history=False)
    api = client_for(admin)
    request_id = api.post(BASE, {"kind": "erasure", "subject_email": EMAIL}, format="json").json()[
        "id"
    ]
    api.post(
        f"{BASE}{request_id}/decide/",
        {"contacts": [contact.pk], "state": "confirmed"},
        format="json",
    )
    refused = api.post(f"{BASE}{request_id}/anonymize/", {"confirm": False}, format="json")
    assert refused.status_code == 400 and "confirm" in error(refused)["fields"]
    assert Contact.objects.get(pk=contact.pk).anonymized_at is None
    done = api.post(f"{BASE}{request_id}/anonymize/", {"confirm": True}, format="json")
    assert done.status_code == 200 and done.json()["anonymized"] == [contact.pk]
    assert done.json()["counts"]["identifiers"] == 4
    again = api.post(f"{BASE}{request_id}/anonymize/", {"confirm": True}, format="json").json()
    assert again["anonymized"] == [] and again["already"] == [contact.pk]
    detail = api.get(f"{BASE}{request_id}/").json()
    assert detail["erased_at"] and detail["matches"][0]["contact"]["anonymized_at"]
    assert PHONE not in json.dumps(detail)


def test_bad_input_is_named(org):
    api = client_for(org["admin"])
    with translation.override("en"):
        nothing = api.post(BASE, {"kind": "access"}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert nothing.status_code == 400 and "subject_name" in error(nothing)["fields"]
    wrong = api.post(BASE, {"kind": "access", "subject_phone": "x"}, format="json")
    assert "subject_phone" in error(wrong)["fields"]
    unknown = api.post(BASE, {"kind": "access", "subject_name": "王五", "age": 3}, format="json")
    assert "age" in error(unknown)["fields"]
    request_id = api.post(BASE, {"kind": "access", "subject_name": "王五"}, format="json").json()[
        "id"
    ]
    reject = api.post(f"{BASE}{request_id}/reject/", {"reason": ""}, format="json")
    assert reject.status_code == 400
    not_matched = api.post(
        f"{BASE}{request_id}/decide/", {"contacts": [999999], "state": "confirmed"}, format="json"
    )
    assert "contacts" in error(not_matched)["fields"]
    bundle = api.post(f"{BASE}{request_id}/bundle/")
    assert bundle.status_code == 400 and "contacts" in error(bundle)["fields"]


def test_a_rep_is_refused(org):
    admin, rep = org["admin"], org["rep_east"]
    request_id = (
        client_for(admin)
        .post(BASE, {"kind": "access", "subject_name": "王五"}, format="json")
        .json()["id"]
    )
    api = client_for(rep)
    assert api.get(BASE).status_code == 403
    assert api.get(f"{BASE}{request_id}/").status_code == 403
    assert (
        api.post(BASE, {"kind": "access", "subject_name": "王五"}, format="json").status_code == 403
    )
    assert (
        api.post(f"{BASE}{request_id}/anonymize/", {"confirm": True}, format="json").status_code
        == 403
    )
    assert api.get("/api/v1/privacy/retention/").status_code == 403
    assert api.post("/api/v1/privacy/retention/run/").status_code == 403


def test_retention_through_the_api(org, django_capture_on_commit_callbacks):
    api = client_for(org["admin"])
    policies = api.get("/api/v1/privacy/retention/").json()
    interactions = next(p for p in policies if p["data_class"] == "interactions")
    assert interactions["actions"] == ["redact", "delete"]
    changed = api.patch(
        f"/api/v1/privacy/retention/{interactions['id']}/",
        {"days": 90, "enabled": True},
        format="json",
    )
    assert changed.status_code == 200 and changed.json()["days"] == 90
    bad = api.patch(
        f"/api/v1/privacy/retention/{interactions['id']}/", {"action": "strip"}, format="json"
    )
    assert bad.status_code == 400 and "action" in error(bad)["fields"]
    preview = api.get("/api/v1/privacy/retention/preview/").json()
    assert {row["policy"]["data_class"] for row in preview} == set(
        RetentionPolicy.objects.values_list("data_class", flat=True)
    )
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post("/api/v1/privacy/retention/run/")
    assert started.status_code == 202
    runs = api.get("/api/v1/privacy/retention/runs/").json()
    assert runs[0]["id"] == started.json()["id"] and runs[0]["state"] == "succeeded"
    assert "interactions" in runs[0]["counts"]


def test_schema_documents_the_privacy_api(client):
    schema = json.loads(client.get("/api/schema/?format=json").content)
    for path in (
        "/api/v1/privacy/requests/",
        "/api/v1/privacy/requests/{id}/anonymize/",
        "/api/v1/privacy/requests/{id}/bundle/download/",
        "/api/v1/privacy/retention/preview/",
        "/api/v1/privacy/retention/run/",
    ):
        assert path in schema["paths"], path
