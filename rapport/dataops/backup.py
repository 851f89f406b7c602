"""Backups of the database and the attachments, verified, with retention; and restore.

    record = backup_create(actor=…)       # writes BACKUP_ROOT/rapport-<time>.tar.gz, verifies it
    backup_verify(path)                   # checksums, then a restore into a scratch database
    restore(path, database_url=…, media_root=…, force=False)   # the shell's `rapport restore`

An archive holds `manifest.json` (format, database vendor, time, record counts, the
checksum of every member), the database (`db.sqlite3`, an online copy through SQLite's
backup API; or `db.dump`, `pg_dump --format=custom`) and `media/` (attachments and import
files; exports are left out, they can be made again). It is written to a `.part` file and
renamed when complete, so a crash never leaves an archive that looks whole.

Verification proves the archive can be restored: every member's checksum, then the database
restored into a scratch database (a temporary SQLite file, or a temporary PostgreSQL
database that is dropped afterwards) and its accounts, contacts and users counted against
the manifest.

Restoring is refused onto a database that already holds data unless `force` (then a
PostgreSQL target is cleaned first, and an SQLite file replaced); it never runs from the web.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import uuid
import zlib
from pathlib import Path
from typing import Any

import dj_database_url
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import trail

from .models import BackupRecord

FORMAT = 1
COUNTED = {
    "accounts": "customers_account",
    "contacts": "customers_contact",
    "interactions": "customers_interaction",
    "users": "identity_user",
}
MEDIA_SKIPPED = ("exports",)


class BackupError(Exception):
    """A backup or restore that cannot go on, with a message for people."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _counts(cursor) -> dict[str, int]:
    counts = {}
    for name, table in COUNTED.items():
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608  (a constant table name)
        counts[name] = cursor.fetchone()[0]
    return counts


def _pg_env(config: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    if config.get("PASSWORD"):
        env["PGPASSWORD"] = str(config["PASSWORD"])
    return env


def _pg_args(config: dict[str, Any]) -> list[str]:
    args = []
    if config.get("HOST"):
        args += ["--host", str(config["HOST"])]
    if config.get("PORT"):
        args += ["--port", str(config["PORT"])]
    if config.get("USER"):
        args += ["--username", str(config["USER"])]
    return args


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{command[0]}: {result.stderr.strip()[:500]}")


def _dump_database(folder: Path) -> tuple[str, Path]:
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        target = folder / "db.sqlite3"
        connection.ensure_connection()
        with sqlite3.connect(target) as copy:
            connection.connection.backup(copy)
        return "sqlite", target
    if connection.vendor == "postgresql":
        target = folder / "db.dump"
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                *_pg_args(config),
                "--file",
                str(target),
                config["NAME"],
            ],
            _pg_env(config),
        )
        return "postgresql", target
    raise BackupError(
        _("Backups of %(vendor)s databases are not supported.") % {"vendor": connection.vendor}
    )


def _add_media(archive: tarfile.TarFile, checksums: dict[str, str]) -> None:
    root = Path(settings.MEDIA_ROOT)
    if not root.exists():
        return
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or relative.parts[0] in MEDIA_SKIPPED:
            continue
        name = f"media/{relative.as_posix()}"
        checksums[name] = _sha256(path)
        archive.add(path, arcname=name)


def backup_create(*, actor=None, verify: bool = True, keep: int | None = None) -> BackupRecord:
    """Write a backup archive, verify it (unless told not to), prune old ones; the record
    says how it went (a failure is recorded, then raised)."""
    root = Path(settings.BACKUP_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    name = f"rapport-{stamp}-{uuid.uuid4().hex[:6]}.tar.gz"
    final, partial = root / name, root / f"{name}.part"
    try:
        with tempfile.TemporaryDirectory() as work:
            vendor, dump = _dump_database(Path(work))
            with connection.cursor() as cursor:
                counts = _counts(cursor)
            checksums = {f"database/{dump.name}": _sha256(dump)}
            with tarfile.open(partial, "w:gz") as archive:
                archive.add(dump, arcname=f"database/{dump.name}")
                _add_media(archive, checksums)
                manifest = {
                    "format": FORMAT,
                    "vendor": vendor,
                    "created_at": timezone.now().isoformat(),
                    "counts": counts,
                    "files": checksums,
                }
                data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
                info = tarfile.TarInfo("manifest.json")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        os.replace(partial, final)
    except (BackupError, OSError, sqlite3.Error) as error:
        partial.unlink(missing_ok=True)
        record = BackupRecord.objects.create(
            file_name=name,
            vendor=connection.vendor,
            state=BackupRecord.State.FAILED,
            message=str(error),
            created_by=actor,
        )
        trail.record(
            actor=actor,
            action="backup.create",
            target=record,
            result="failure",
            extra={"error": str(error)[:500]},
        )
        raise BackupError(str(error)) from error
    record = BackupRecord.objects.create(
        file_name=name,
        size=final.stat().st_size,
        sha256=_sha256(final),
        vendor=vendor,
        counts=counts,
        state=BackupRecord.State.SUCCEEDED,
        created_by=actor,
    )
    trail.record(
        actor=actor,
        action="backup.create",
        target=record,
        extra={"counts": counts, "size": record.size},
    )
    if verify:
        ok, message = backup_verify(final)
        record.verified, record.verified_at, record.verify_message = ok, timezone.now(), message
        record.save(update_fields=["verified", "verified_at", "verify_message"])
        trail.record(
            actor=actor,
            action="backup.verify",
            target=record,
            result="success" if ok else "failure",
            extra={"message": message},
        )
    prune(keep=settings.BACKUP_KEEP if keep is None else keep)
    return record


def _open(path: Path, folder: Path) -> dict[str, Any]:
    """Extract `path` into `folder` safely and check every member's checksum."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            archive.extractall(folder, filter="data")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        # a damaged byte shows as a bad checksum, a broken gzip block or a broken tar header
        raise BackupError(_("The archive cannot be read: %(error)s") % {"error": error}) from error
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        raise BackupError(_("The archive has no manifest: it is not a Rapport backup."))
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(
            _("Unknown backup format %(format)s.") % {"format": manifest.get("format")}
        )
    for member, expected in manifest.get("files", {}).items():
        member_path = folder / member
        if not member_path.exists() or _sha256(member_path) != expected:
            raise BackupError(
                _("“%(member)s” is missing or damaged in the archive.") % {"member": member}
            )
    return manifest


def backup_verify(path: Path) -> tuple[bool, str]:
    """(ok, what was found): checksums, then a restore into a scratch database whose
    counts must match the manifest."""
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        try:
            manifest = _open(Path(path), folder)
            if manifest["vendor"] == "sqlite":
                scratch = folder / "scratch.sqlite3"
                shutil.copyfile(folder / "database" / "db.sqlite3", scratch)
                with sqlite3.connect(scratch) as db:
                    (check,) = db.execute("PRAGMA integrity_check").fetchone()
                    if check != "ok":
                        raise BackupError(check)
                    counts = _counts(db.cursor())
            else:
                counts = _verify_postgresql(folder / "database" / "db.dump")
        except (BackupError, sqlite3.Error, json.JSONDecodeError, KeyError) as error:
            return False, str(error)
    if counts != manifest["counts"]:
        return False, _("Restored counts %(found)s differ from the backup's %(expected)s.") % {
            "found": counts,
            "expected": manifest["counts"],
        }
    return True, _("Restored into a scratch database: %(counts)s.") % {
        "counts": ", ".join(f"{name} {count}" for name, count in counts.items())
    }


def _verify_postgresql(dump: Path) -> dict[str, int]:
    import psycopg

    config = connection.settings_dict
    scratch = f"rapport_verify_{uuid.uuid4().hex[:8]}"
    env, args = _pg_env(config), _pg_args(config)
    _run(["createdb", *args, scratch], env)
    try:
        _run(["pg_restore", "--no-owner", *args, "--dbname", scratch, str(dump)], env)
        conninfo = {
            "dbname": scratch,
            "host": config.get("HOST") or None,
            "port": config.get("PORT") or None,
            "user": config.get("USER") or None,
            "password": config.get("PASSWORD") or None,
        }
        with (
            psycopg.connect(**{k: v for k, v in conninfo.items() if v}) as db,
            db.cursor() as cursor,
        ):
            return _counts(cursor)
    finally:
        _run(["dropdb", *args, "--if-exists", scratch], env)


def prune(*, keep: int) -> int:
    """Remove all but the newest `keep` successful backups' files; returns how many."""
    kept = BackupRecord.objects.filter(
        state=BackupRecord.State.SUCCEEDED, pruned_at__isnull=True
    ).order_by("-id")
    removed = 0
    for record in kept[keep:]:
        (Path(settings.BACKUP_ROOT) / record.file_name).unlink(missing_ok=True)
        record.pruned_at = timezone.now()
        record.save(update_fields=["pruned_at"])
        removed += 1
    return removed


def _has_data(database_url: str) -> bool:
    config = dj_database_url.parse(database_url)
    if config["ENGINE"].endswith("sqlite3"):
        path = Path(config["NAME"])
        if not path.exists() or path.stat().st_size == 0:
            return False
        with sqlite3.connect(path) as db:
            return bool(
                db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            )
    import psycopg

    conninfo = {
        "dbname": config["NAME"],
        "host": config.get("HOST"),
        "port": config.get("PORT"),
        "user": config.get("USER"),
        "password": config.get("PASSWORD"),
    }
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v}) as db, db.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        return bool(cursor.fetchone()[0])


def restore(
    path: Path, *, database_url: str, media_root: str | None = None, force: bool = False
) -> dict[str, Any]:
    """Restore an archive into `database_url` (and its files into `media_root`). Refused
    onto a database that holds tables unless `force`; checksums are checked first."""
    config = dj_database_url.parse(database_url)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        manifest = _open(Path(path), folder)
        target_sqlite = config["ENGINE"].endswith("sqlite3")
        if (manifest["vendor"] == "sqlite") != target_sqlite:
            raise BackupError(
                _("This is a %(vendor)s backup; restore it into a %(vendor)s database.")
                % {"vendor": manifest["vendor"]}
            )
        if _has_data(database_url) and not force:
            raise BackupError(
                _("The target database already holds data; use --force to replace it.")
            )
        if target_sqlite:
            target = Path(config["NAME"])
            target.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(folder / "database" / "db.sqlite3", target)
        else:
            args = _pg_args(config)
            clean = ["--clean", "--if-exists"] if force else []
            _run(
                [
                    "pg_restore",
                    "--no-owner",
                    *clean,
                    *args,
                    "--dbname",
                    config["NAME"],
                    str(folder / "database" / "db.dump"),
                ],
                _pg_env(config),
            )
        media = folder / "media"
        if media_root and media.exists():
            shutil.copytree(media, media_root, dirs_exist_ok=True)
    return manifest
