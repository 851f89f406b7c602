"""The import pages: upload, map columns, check the first rows, check every row, import,
the result with the failed rows, roll back."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from rapport.customers.models import Account
from rapport.dataops.models import ImportRun, ImportState

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager(settings):
    from rapport.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def signed_in(user, language="en") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def test_import_wizard(org, eager, django_capture_on_commit_callbacks):
    client = signed_in(org["admin"], "zh-hans")
    listing = client.get(reverse("customers:account_list")).content.decode()
    assert reverse("dataops:import_list") in listing
    data = "客户名称,城市,备注\n甲公司,杭州,老客户\n,苏州,缺名称\n".encode("gb18030")
    response = client.post(
        reverse("dataops:import_list"),
        {"type": "customers.account", "file": SimpleUploadedFile("客户.csv", data)},
    )
    run = ImportRun.objects.get()
    assert response["Location"] == reverse("dataops:import_detail", args=[run.pk])
    page = client.get(response["Location"]).content.decode()
    assert 'name="column_0"' in page and "甲公司" in page  # the first row beside each column
    # a field chosen twice is refused naming the column
    bad = client.post(
        response["Location"], {"column_0": "name", "column_1": "name", "mode": "create"}
    ).content.decode()
    assert 'data-testid="mapping-errors"' in bad
    saved = client.post(
        response["Location"],
        {"column_0": "name", "column_1": "city", "column_2": "", "mode": "create"},
    )
    preview = client.get(saved["Location"]).content.decode()
    assert 'data-testid="import-preview"' in preview
    with translation.override("zh-hans"):
        assert translation.gettext("Check every row") in preview
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dataops:import_start", args=[run.pk]), {"dry_run": "1"})
    assert not Account.objects.exists()
    assert 'data-testid="dry-run-result"' in client.get(response["Location"]).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dataops:import_start", args=[run.pk]))
    run.refresh_from_db()
    assert run.state == ImportState.FINISHED
    assert Account.objects.get(name="甲公司").city == "杭州市"
    result = client.get(response["Location"]).content.decode()
    assert 'data-testid="failed-rows"' in result
    failed = client.get(reverse("dataops:import_failed_rows", args=[run.pk]))
    assert "缺名称" in failed.content.decode("utf-8-sig")
    client.post(reverse("dataops:import_rollback", args=[run.pk]))
    run.refresh_from_db()
    assert run.state == ImportState.ROLLED_BACK


def test_upload_errors_and_access(org):
    client = signed_in(org["admin"])
    page = client.post(
        reverse("dataops:import_list"),
        {"type": "customers.account", "file": SimpleUploadedFile("scan.pdf", b"%PDF")},
    ).content.decode()
    assert 'data-testid="import-error"' in page and "CSV or XLSX" in page
    rep = signed_in(org["rep_east"])
    assert rep.get(reverse("dataops:import_list")).status_code == 403
    client.post(
        reverse("dataops:import_list"),
        {"type": "customers.account", "file": SimpleUploadedFile("a.csv", b"name\nx\n")},
    )
    run = ImportRun.objects.get()
    manager = signed_in(org["sales_manager"])
    assert manager.get(reverse("dataops:import_detail", args=[run.pk])).status_code == 404


def test_mapping_saved_as_a_template_and_reused(org):
    client = signed_in(org["admin"])
    data = "单位,地点\n甲公司,杭州\n".encode()
    for name in ("first.csv", "second.csv"):
        client.post(
            reverse("dataops:import_list"),
            {"type": "customers.account", "file": SimpleUploadedFile(name, data)},
        )
    first, second = ImportRun.objects.order_by("id")
    url = reverse("dataops:import_detail", args=[first.pk])
    client.post(
        url,
        {"column_0": "name", "column_1": "city", "mode": "create", "template_name": "分公司名单"},
    )
    from rapport.dataops.models import ImportTemplate

    template = ImportTemplate.objects.get(name="分公司名单")
    assert template.mapping == {"单位": "name", "地点": "city"}
    page = client.get(
        reverse("dataops:import_detail", args=[second.pk]), {"template": template.pk}
    ).content.decode()
    assert 'data-testid="import-templates"' in page
    assert '<option value="city" selected>' in page
