"""Attachments: size and kind checked (by name and by content), stored through Django
storage, all-or-none, served only to people who may see the interaction, audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.customers import services
from rapport.customers.models import Attachment, Interaction

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.ATTACHMENT_MAX_BYTES = 1024
    return tmp_path


@pytest.fixture
def account(org):
    return services.account_create(actor=org["rep_sh"], name="建设银行")


def pdf(name="报价单.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def stored_files(root):
    return [p for p in root.rglob("*") if p.is_file()]


def test_log_a_visit_with_a_file(org, account, media):
    visit = services.interaction_log(
        actor=org["rep_sh"], kind="visit", account=account, attachments=[pdf()]
    )
    attachment = visit.attachments.get()
    assert attachment.name == "报价单.pdf" and attachment.size == len(PDF)
    assert attachment.content_type == "application/pdf" and len(attachment.sha256) == 64
    assert "报价单" not in attachment.file.name  # stored under a random name
    assert stored_files(media)[0].read_bytes() == PDF
    event = AuditEvent.objects.get(action="attach")
    assert event.extra["sha256"] == attachment.sha256


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (SimpleUploadedFile("virus.exe", b"MZ\x90\x00"), "file_type"),
        (SimpleUploadedFile("fake.pdf", b"<html>not a pdf</html>"), "file_content"),
        (SimpleUploadedFile("big.pdf", b"%PDF" + b"0" * 2000), "file_size"),
        (SimpleUploadedFile("empty.txt", b""), "file_empty"),
    ],
)
def test_bad_files_store_nothing(org, account, media, upload, code):
    with pytest.raises(ValidationError) as error:
        services.interaction_log(
            actor=org["rep_sh"], kind="note", account=account, attachments=[pdf(), upload]
        )
    assert [e.code for e in error.value.error_dict["attachments"]] == [code]
    assert not Interaction.objects.exists() and not Attachment.objects.exists()
    assert stored_files(media) == []


def test_a_failure_after_storing_removes_the_files(org, account, media, monkeypatch):
    from rapport.customers.services import interactions

    def boom(*args, **kwargs):
        raise RuntimeError("the database went away")

    real_create = interactions._create
    calls = {"n": 0}

    def create_then_fail(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the follow-up task, after the files were stored
            boom()
        return real_create(*args, **kwargs)

    monkeypatch.setattr(interactions, "_create", create_then_fail)
    with pytest.raises(RuntimeError):
        services.interaction_log(
            actor=org["rep_sh"],
            kind="call",
            account=account,
            next_step="回电",
            follow_up_due="2030-01-01T10:00",
            attachments=[pdf()],
        )
    assert not Attachment.objects.exists() and stored_files(media) == []


def test_adding_needs_the_change_grant(org, account):
    call = services.interaction_log(actor=org["rep_sh"], kind="call", account=account)
    with pytest.raises(PermissionDenied):
        services.attachments_add(actor=org["auditor"], interaction=call, uploads=[pdf()])
    services.attachments_add(actor=org["rep_sh"], interaction=call, uploads=[pdf()])
    assert call.attachments.count() == 1


def test_download_only_for_people_who_see_the_interaction(client, org, account):
    call = services.interaction_log(
        actor=org["rep_sh"], kind="call", account=account, attachments=[pdf()]
    )
    attachment = call.attachments.get()
    url = reverse("customers:attachment_download", args=[attachment.pk])
    client.force_login(org["rep_south"])
    assert client.get(url).status_code == 404
    client.force_login(org["sales_manager"])
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert AuditEvent.objects.filter(action="download", actor=org["sales_manager"]).exists()
    page = client.get(reverse("customers:account_detail", args=[account.pk])).content.decode()
    assert f'data-attachment="{attachment.pk}"' in page


def test_upload_from_the_log_form(client, org, account):
    client.force_login(org["rep_sh"])
    response = client.post(
        reverse("customers:interaction_log", args=["accounts", account.pk]),
        {
            "log-kind": "meeting",
            "log-occurred_at": "2026-11-20T10:00",
            "log-attachments": [pdf("纪要.pdf"), pdf("合同.pdf")],
        },
    )
    assert response.status_code == 302
    assert sorted(Attachment.objects.values_list("name", flat=True)) == ["合同.pdf", "纪要.pdf"]
    response = client.post(
        reverse("customers:interaction_log", args=["accounts", account.pk]),
        {
            "log-kind": "meeting",
            "log-occurred_at": "2026-11-20T10:00",
            "log-attachments": [SimpleUploadedFile("x.exe", b"MZ")],
        },
    )
    assert response.status_code == 400
    assert 'data-field-error="attachments"' in response.content.decode()
    assert Interaction.objects.count() == 1
