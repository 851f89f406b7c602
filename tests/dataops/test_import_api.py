"""Imports through the API: upload, configure, preview, dry run, run, failed rows, rollback."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from rapport.customers.models import Account
from rapport.identity.services import token_create
from tests.api.helpers import error_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(org, settings):
    from rapport.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION="Bearer " + token_create(actor=org["admin"], name="t")[1],
        HTTP_ACCEPT_LANGUAGE="en",
    )
    yield client
    app.conf.task_always_eager = previous


def test_import_through_the_api(api, org):
    data = "公司名称,城市,电话\n甲公司,杭州,0571-88888888\n,苏州,\n".encode("gb18030")
    created = api.post(
        "/api/v1/imports/",
        {"type": "customers.account", "file": SimpleUploadedFile("a.csv", data)},
        format="multipart",
    )
    assert created.status_code == 201, created.content
    run = created.json()
    assert run["encoding"] == "gb18030" and run["row_count"] == 2
    assert run["mapping"] == {"0": "name", "1": "city", "2": "phone"}
    bad = api.post(
        f"/api/v1/imports/{run['id']}/configure/",
        {"mapping": {"0": "name", "1": "name"}, "mode": "create"},
        format="json",
    )
    assert bad.status_code == 400 and "mapping.1" in error_of(bad)["fields"]
    ok = api.post(
        f"/api/v1/imports/{run['id']}/configure/", {"mapping": run["mapping"]}, format="json"
    )
    assert ok.status_code == 200
    preview = api.get(f"/api/v1/imports/{run['id']}/preview/").json()
    assert [row["outcome"] for row in preview] == ["created", "failed"]
    assert "name" in preview[1]["errors"]
    dry = api.post(f"/api/v1/imports/{run['id']}/start/", {"dry_run": True}, format="json")
    assert dry.status_code == 202 and not Account.objects.exists()
    assert api.get(f"/api/v1/imports/{run['id']}/").json()["dry_run"]["counts"] == {
        "created": 1,
        "failed": 1,
    }
    started = api.post(f"/api/v1/imports/{run['id']}/start/", {}, format="json")
    assert started.status_code == 202
    assert api.get(f"/api/v1/jobs/{started.json()['id']}/").json()["state"] == "succeeded"
    assert Account.objects.get(name="甲公司").phone == "+8657188888888"
    failed = api.get(f"/api/v1/imports/{run['id']}/failed-rows/")
    assert failed.status_code == 200 and "苏州" in failed.content.decode("utf-8-sig")
    again = api.post(f"/api/v1/imports/{run['id']}/start/", {}, format="json")
    assert again.status_code == 400
    rolled = api.post(f"/api/v1/imports/{run['id']}/rollback/")
    assert rolled.status_code == 200 and rolled.json()["state"] == "rolled_back"


def test_others_imports_are_not_found_and_bad_files_named(api, org):
    rep = APIClient()
    rep.credentials(HTTP_AUTHORIZATION="Bearer " + token_create(actor=org["rep_east"], name="t")[1])
    refused = rep.post(
        "/api/v1/imports/",
        {"type": "customers.account", "file": SimpleUploadedFile("a.csv", b"name\nx\n")},
        format="multipart",
    )
    assert refused.status_code == 403
    run = api.post(
        "/api/v1/imports/",
        {"type": "customers.account", "file": SimpleUploadedFile("a.csv", b"name\nx\n")},
        format="multipart",
    ).json()
    assert rep.get(f"/api/v1/imports/{run['id']}/").status_code == 404
    bad = api.post(
        "/api/v1/imports/",
        {"type": "customers.account", "file": SimpleUploadedFile("a.pdf", b"%PDF")},
        format="multipart",
    )
    assert bad.status_code == 400 and "file" in error_of(bad)["fields"]
