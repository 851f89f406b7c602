from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PairState(models.TextChoices):
    OPEN = "open", _("To review")
    DISMISSED = "dismissed", _("Not duplicates")


class DuplicatePair(models.Model):
    """Two records the duplicate scan found alike: the lower id first, the score (0–100) and
    the reasons (codes, shown in the reader's language). A pair someone marked "not
    duplicates" stays dismissed when later scans find it again; a pair whose record was
    merged away (inactive) drops out of the review list."""

    object_type = models.CharField(_("record type"), max_length=40)
    first_id = models.PositiveBigIntegerField()
    second_id = models.PositiveBigIntegerField()
    score = models.PositiveSmallIntegerField(_("score"))
    reasons = models.JSONField(default=list)
    state = models.CharField(_("state"), max_length=10, choices=PairState, default=PairState.OPEN)
    found_at = models.DateTimeField(_("found at"), auto_now_add=True)
    seen_at = models.DateTimeField(_("last seen"), auto_now=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "first_id", "second_id"], name="duplicate_pair_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["object_type", "state", "-score", "id"], name="duplicate_review_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.first_id} ~ {self.second_id} ({self.score})"


class ImportMode(models.TextChoices):
    CREATE = "create", _("Create only")
    UPDATE = "update", _("Update by key")
    UPSERT = "upsert", _("Create or update")


class ImportState(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")
    FAILED = "failed", _("Failed")
    ROLLED_BACK = "rolled_back", _("Rolled back")


def import_path(run: ImportRun, filename: str) -> str:
    import uuid
    from pathlib import PurePath

    return f"imports/{uuid.uuid4().hex}{PurePath(filename).suffix.lower()[:10]}"


class ImportRun(models.Model):
    """One file imported (or tried) into one record type: the file, how its columns map to
    fields, the mode and key, the job that runs it, and what came of each row."""

    object_type = models.CharField(_("record type"), max_length=40)
    file = models.FileField(upload_to=import_path)
    file_name = models.CharField(_("file name"), max_length=255)
    file_hash = models.CharField(max_length=64, db_index=True)
    file_size = models.PositiveBigIntegerField(default=0)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    headers = models.JSONField(default=list)
    row_count = models.PositiveIntegerField(default=0)
    # {column number (as text): field name}
    mapping = models.JSONField(default=dict)
    mode = models.CharField(_("mode"), max_length=10, choices=ImportMode, default=ImportMode.CREATE)
    key = models.CharField(_("key"), max_length=40, blank=True)
    state = models.CharField(
        _("state"), max_length=12, choices=ImportState, default=ImportState.UPLOADED
    )
    job = models.ForeignKey("core.Job", on_delete=models.SET_NULL, null=True, blank=True)
    dry_run = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    rolled_back_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return f"{self.file_name} → {self.object_type}"


class RowOutcome(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")
    UNCHANGED = "unchanged", _("Unchanged")
    SKIPPED = "skipped", _("Skipped (imported before)")
    FAILED = "failed", _("Failed")


class ImportRow(models.Model):
    """What came of one row: written once per run and row, so a resumed run never does a
    row twice; failed rows keep their cells and errors for the failed-rows file."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField()
    outcome = models.CharField(max_length=10, choices=RowOutcome)
    record_id = models.PositiveBigIntegerField(null=True, blank=True)
    row_hash = models.CharField(max_length=64, db_index=True)
    cells = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=dict, blank=True)
    before = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="import_row_unique")]
        indexes = [models.Index(fields=["run", "outcome", "number"], name="import_row_outcome_idx")]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.number} {self.outcome}"


class ImportTemplate(models.Model):
    """A saved column mapping, by header text, reused for files of the same layout."""

    object_type = models.CharField(_("record type"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    mapping = models.JSONField(default=dict)  # {header text: field name}
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["object_type", "name"]
        verbose_name = _("import template")
        verbose_name_plural = _("import templates")
        constraints = [
            models.UniqueConstraint(fields=["object_type", "name"], name="import_template_unique")
        ]

    def __str__(self) -> str:
        return self.name


class BackupRecord(models.Model):
    """One backup archive (database and attachments) and what its verification found."""

    class State(models.TextChoices):
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    file_name = models.CharField(_("file"), max_length=200)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    vendor = models.CharField(_("database"), max_length=20)
    counts = models.JSONField(default=dict)
    state = models.CharField(_("state"), max_length=10, choices=State)
    message = models.TextField(_("message"), blank=True)
    verified = models.BooleanField(_("verified"), default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    verify_message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    pruned_at = models.DateTimeField(_("removed at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("backup")
        verbose_name_plural = _("backups")

    def __str__(self) -> str:
        return self.file_name
