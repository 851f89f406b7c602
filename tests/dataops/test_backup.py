"""Backups: archive of the database and attachments, verified by a restore into a scratch
database, retention, refusal to overwrite, damaged archives; restore into a scratch
database; the page and the commands."""

from __future__ import annotations

import sqlite3
import tarfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation

from rapport.audit.models import AuditEvent
from rapport.customers import services
from rapport.dataops import backup
from rapport.dataops.models import BackupRecord

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def folders(settings, tmp_path):
    settings.BACKUP_ROOT = tmp_path / "backups"
    settings.MEDIA_ROOT = tmp_path / "media"
    (settings.MEDIA_ROOT / "attachments").mkdir(parents=True)
    (settings.MEDIA_ROOT / "attachments" / "contract.pdf").write_bytes(b"%PDF-1.4 signed")
    (settings.MEDIA_ROOT / "exports").mkdir()
    (settings.MEDIA_ROOT / "exports" / "big.csv").write_text("not backed up")
    return tmp_path


def test_backup_is_written_verified_and_pruned(org, folders):
    services.account_create(actor=org["admin"], name="甲公司")
    record = backup.backup_create(actor=org["admin"], keep=2)
    assert record.state == BackupRecord.State.SUCCEEDED and record.verified, record.verify_message
    assert record.counts["accounts"] == 1
    path = Path(folders / "backups" / record.file_name)
    with tarfile.open(path) as archive:
        names = archive.getnames()
    assert "manifest.json" in names and "media/attachments/contract.pdf" in names
    assert not any(name.startswith("media/exports") for name in names)
    assert AuditEvent.objects.filter(action="backup.verify", result="success").exists()
    for _ in range(2):
        backup.backup_create(keep=2)
    assert not path.exists()  # the oldest of three, with two kept
    assert BackupRecord.objects.filter(pruned_at__isnull=False).count() == 1


def test_damaged_archive_does_not_verify(org, folders):
    record = backup.backup_create(verify=False)
    path = folders / "backups" / record.file_name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    ok, message = backup.backup_verify(path)
    assert not ok and message
    other = folders / "not-a-backup.tar.gz"
    with tarfile.open(other, "w:gz") as archive:
        archive.add(folders / "media" / "attachments" / "contract.pdf", arcname="x.pdf")
    with translation.override("en"):
        ok, message = backup.backup_verify(other)
    assert not ok and "manifest" in message


@pytest.mark.skipif(connection.vendor != "sqlite", reason="restores an SQLite archive into a file")
def test_restore_into_a_scratch_database_and_refuse_to_overwrite(org, folders):
    services.account_create(actor=org["admin"], name="乙公司")
    record = backup.backup_create(verify=False)
    path = folders / "backups" / record.file_name
    scratch = folders / "scratch.sqlite3"
    out = StringIO()
    call_command(
        "restore",
        str(path),
        "--database",
        f"sqlite:///{scratch}",
        "--media",
        str(folders / "restored"),
        stdout=out,
    )
    with sqlite3.connect(scratch) as db:
        assert db.execute("SELECT name FROM customers_account").fetchall() == [("乙公司",)]
    assert (
        folders / "restored" / "attachments" / "contract.pdf"
    ).read_bytes() == b"%PDF-1.4 signed"
    with pytest.raises(CommandError, match="--force"):
        call_command("restore", str(path), "--database", f"sqlite:///{scratch}", stdout=StringIO())
    call_command(
        "restore", str(path), "--database", f"sqlite:///{scratch}", "--force", stdout=StringIO()
    )
    with pytest.raises(CommandError, match="sqlite"):
        call_command(
            "restore",
            str(path),
            "--database",
            "postgres://postgres@127.0.0.1:5432/x",
            stdout=StringIO(),
        )


def test_commands_and_page(org, folders, settings):
    out = StringIO()
    call_command("backup", stdout=out)
    assert "rapport-" in out.getvalue()
    listed = StringIO()
    call_command("backup", "--list", stdout=listed)
    assert BackupRecord.objects.get().file_name in listed.getvalue()
    admin = Client()
    admin.force_login(org["admin"])
    page = admin.get(reverse("dataops:backup_list")).content.decode()
    assert BackupRecord.objects.get().file_name in page and 'data-testid="backup-now"' in page
    rep = Client()
    rep.force_login(org["rep_east"])
    assert rep.get(reverse("dataops:backup_list")).status_code == 403
