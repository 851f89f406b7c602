"""Exports: what the list shows (filter, columns, restriction, masking), CSV and XLSX,
watermark, formula cells neutralised, audit (and the bulk-export alert), resume, pages,
API and CLI."""

from __future__ import annotations

import csv
import io
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.core.models import Job
from rapport.customers import services
from rapport.dataops import exporting
from rapport.identity.services import token_create

pytestmark = pytest.mark.django_db

ACCOUNT, CONTACT = "customers.account", "customers.contact"


@pytest.fixture
def book(org):
    rep = org["rep_east"]
    services.account_create(actor=rep, name="甲公司", tier="A", city="杭州")
    services.account_create(actor=rep, name='=HYPERLINK("http://evil")', tier="A")
    services.account_create(actor=rep, name="乙公司", tier="C")
    services.account_create(actor=org["rep_south"], name="南方公司", tier="A")
    services.contact_create(
        actor=rep, name="张伟", phones=["13812345678"], id_number="110101199003074514"
    )
    return rep


def rows_of(job: Job) -> list[list[str]]:
    path = exporting._path(job)
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))


def test_csv_export_is_what_the_list_shows(org, book):
    manager = org["sales_manager"]
    job = exporting.export_start(
        actor=manager,
        object_type=ACCOUNT,
        state={"filter": "tier = A", "columns": ["tier"]},
    )
    exporting.export_execute(job)
    job.refresh_from_db()
    rows = rows_of(job)
    assert len(rows[0]) == 3  # number, name, tier
    names = sorted(row[1] for row in rows[1:-2])
    assert names == ['\'=HYPERLINK("http://evil")', "甲公司"]  # not 南方公司 (another region)
    assert rows[-2] == [] and manager.username in rows[-1][0]  # the watermark
    event = AuditEvent.objects.get(action="export")
    assert event.extra["count"] == 2 and event.object_type == ACCOUNT


def test_masked_fields_stay_masked(org, book):
    manager = org["sales_manager"]  # sees ID numbers masked
    job = exporting.export_start(
        actor=manager,
        object_type=CONTACT,
        state={"columns": ["name", "id_number"]},
        file_format="csv",
    )
    exporting.export_execute(job)
    rows = rows_of(job)
    if len(rows[0]) == 2:
        assert "110101199003074514" not in rows[1][1]


def test_xlsx_export_with_footer_watermark(org, book):
    job = exporting.export_start(
        actor=org["admin"], object_type=ACCOUNT, state={}, file_format="xlsx"
    )
    exporting.export_execute(job)
    workbook = load_workbook(exporting._path(job))
    sheet = workbook.active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 1 + 4 + 2
    assert "admin" in workbook.properties.title


def test_bulk_export_raises_the_alert(org, book, django_capture_on_commit_callbacks):
    from rapport.audit.models import Alert, BehaviourRule

    BehaviourRule.objects.filter(code=BehaviourRule.Code.BULK_EXPORT).update(
        threshold=3, enabled=True
    )
    job = exporting.export_start(actor=org["admin"], object_type=ACCOUNT, state={})
    with django_capture_on_commit_callbacks(execute=True):
        exporting.export_execute(job)
    assert Alert.objects.filter(rule=BehaviourRule.Code.BULK_EXPORT).exists()


def test_a_killed_csv_export_resumes(org, book, monkeypatch):
    for number in range(30):
        services.account_create(actor=book, name=f"公司{number:02d}")
    monkeypatch.setattr(exporting, "CHUNK", 10)
    job = exporting.export_start(
        actor=org["admin"], object_type=ACCOUNT, state={"columns": ["tier"]}
    )
    real = exporting.list_columns.plain_cells
    calls = {"n": 0}

    def dying(*args):
        calls["n"] += 1
        if calls["n"] == 25:
            raise RuntimeError("worker killed")
        return real(*args)

    monkeypatch.setattr(exporting.list_columns, "plain_cells", dying)
    with pytest.raises(RuntimeError):
        exporting.export_execute(job)
    job.refresh_from_db()
    assert job.checkpoint["rows"] == 20
    monkeypatch.setattr(exporting.list_columns, "plain_cells", real)
    exporting.export_execute(job)
    names = [row[1] for row in rows_of(job)[1:-2]]
    assert len(names) == len(set(names)) == 34


def test_bad_requests_are_refused(org, book):
    with pytest.raises(PermissionDenied):
        exporting.export_start(actor=org["rep_east"], object_type=ACCOUNT, state={})
    for state, name in (({"filter": "tier ="}, "filter"), ({"columns": ["salary"]}, "columns")):
        with pytest.raises(Exception) as refused:
            exporting.export_start(actor=org["admin"], object_type=ACCOUNT, state=state)
        assert name in refused.value.message_dict
    with pytest.raises(Exception) as bad_format:
        exporting.export_start(actor=org["admin"], object_type=ACCOUNT, state={}, file_format="pdf")
    assert "format" in bad_format.value.message_dict


def test_export_from_the_list_page_and_download(
    org, book, django_capture_on_commit_callbacks, settings
):
    from rapport.celery import app

    previous, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        client = Client()
        client.force_login(org["admin"])
        page = client.get(reverse("customers:account_list"), {"tier": "A"}).content.decode()
        assert 'data-testid="export-form"' in page
        state = {"filter": "", "sort": "", "params": {"tier": "A"}, "columns": ["tier"]}
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("dataops:export_start"),
                {"type": ACCOUNT, "format": "csv", "state": json.dumps(state)},
            )
        job = Job.objects.get(kind=exporting.KIND)
        assert response["Location"] == reverse("dataops:export_detail", args=[job.pk])
        assert 'data-testid="export-download"' in client.get(response["Location"]).content.decode()
        download = client.get(reverse("dataops:export_download", args=[job.pk]))
        content = b"".join(download.streaming_content).decode("utf-8-sig")
        assert "甲公司" in content and "南方公司" in content and "乙公司" not in content
        assert AuditEvent.objects.filter(action="export.download").exists()
        other = Client()
        other.force_login(org["sales_manager"])
        assert other.get(reverse("dataops:export_download", args=[job.pk])).status_code == 404
    finally:
        app.conf.task_always_eager = previous


def test_api_and_cli(org, book, tmp_path, django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    from rapport.celery import app

    previous, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        client = APIClient()
        client.credentials(
            HTTP_AUTHORIZATION="Bearer " + token_create(actor=org["admin"], name="t")[1]
        )
        with django_capture_on_commit_callbacks(execute=True):
            started = client.post(
                "/api/v1/exports/",
                {"type": ACCOUNT, "format": "xlsx", "filter": "tier = C"},
                format="json",
            )
        assert started.status_code == 202, started.content
    finally:
        app.conf.task_always_eager = previous
    job_id = started.json()["id"]
    download = client.get(f"/api/v1/exports/{job_id}/download/")
    assert download.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert any(
        "乙公司" in (cell or "")
        for row in workbook.active.iter_rows(values_only=True)
        for cell in row
        if isinstance(cell, str)
    )
    bad = client.post("/api/v1/exports/", {"type": ACCOUNT, "filter": "tier ="}, format="json")
    assert bad.status_code == 400
    out = tmp_path / "accounts.csv"
    stdout = StringIO()
    call_command(
        "export",
        "account",
        "-o",
        str(out),
        "--filter",
        "tier = A",
        "--columns",
        "tier",
        "--as",
        "admin",
        stdout=stdout,
    )
    assert "甲公司" in out.read_text(encoding="utf-8-sig")
    with pytest.raises(CommandError):
        call_command("export", "account", "-o", str(out), "--as", "rep_east", stdout=StringIO())
