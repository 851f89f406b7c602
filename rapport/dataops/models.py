from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


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
    FINISHED = "finished", pgettext_lazy("import state", "Finished")
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


# --- data quality (rapport.dataops.quality) -----------------------------------------------


class QualityRule(models.Model):
    """How one record type is scored, as administrators set it: which fields count towards
    completeness and how much ({field: weight}; "custom.<key>" for a custom field), after how
    many days without a change or an interaction a record is stale, and how the four
    components weigh in the total. A type without a row is scored by the defaults in
    `quality.DEFAULT_RULES`."""

    object_type = models.CharField(_("record type"), max_length=40, unique=True)
    fields = models.JSONField(_("fields"), default=dict)
    freshness_days = models.PositiveIntegerField(_("fresh for (days)"), default=180)
    weights = models.JSONField(_("component weights"), default=dict)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("data-quality rule")
        verbose_name_plural = _("data-quality rules")

    def __str__(self) -> str:
        return self.object_type


class QualityScore(models.Model):
    """One record's data-quality score (0–100) as the last computation found it: the four
    components, the total and the reasons (codes and field names, never the values). The
    owner and their department are copied in so the dashboard groups without joining the
    records; who may see a score is still decided by the record (`restrict`)."""

    object_type = models.CharField(_("record type"), max_length=40)
    record_id = models.PositiveBigIntegerField()
    total = models.PositiveSmallIntegerField(_("score"))
    completeness = models.PositiveSmallIntegerField(_("completeness"))
    validity = models.PositiveSmallIntegerField(_("validity"))
    freshness = models.PositiveSmallIntegerField(_("freshness"))
    duplicates = models.PositiveSmallIntegerField(_("duplicates"))
    reasons = models.JSONField(default=list, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    department = models.ForeignKey(
        "identity.Department", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("data-quality score")
        verbose_name_plural = _("data-quality scores")
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "record_id"], name="quality_score_unique"
            )
        ]
        indexes = [
            models.Index(fields=["object_type", "total", "record_id"], name="quality_worst_idx"),
            models.Index(fields=["object_type", "owner", "total"], name="quality_owner_idx"),
            models.Index(
                fields=["object_type", "department", "total"], name="quality_department_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.record_id}: {self.total}"


# --- data-subject requests and retention (privacy.py, privacy_retention.py) -----------------

from rapport.core.crypto import EncryptedTextField  # noqa: E402
from rapport.identity.querysets import RestrictedManager  # noqa: E402


class SubjectRequestKind(models.TextChoices):
    ACCESS = "access", _("Access (copy of the data)")
    ERASURE = "erasure", _("Erasure (anonymize)")
    RECTIFICATION = "rectification", _("Rectification")
    RESTRICTION = "restriction", _("Restriction of processing")


class SubjectRequestStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")


class SubjectRequestChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    WEB_FORM = "web_form", _("Web form")
    LETTER = "letter", _("Letter")
    PHONE = "phone", _("Phone call")
    IN_PERSON = "in_person", _("In person")
    OTHER = "other", _("Other")


def _encrypted_text(label) -> EncryptedTextField:
    return EncryptedTextField(label, blank=True, default="")


class SubjectRequest(models.Model):
    """A person's request about their personal data (PIPL art. 44-47, GDPR art. 15-18): who
    they say they are (encrypted at rest, like a contact's fields), when it came in and by
    when it must be answered, who handles it, how far it got and how it ended. The
    contacts found to be the person are its `matches`. Scope keys on the assignee, so a
    grant with scope "own" lets an officer handle the requests given to them."""

    security_type = "dataops.subjectrequest"
    scope_owner_field = "assignee"

    kind = models.CharField(_("kind"), max_length=20, choices=SubjectRequestKind)
    channel = models.CharField(
        _("received by"),
        max_length=20,
        choices=SubjectRequestChannel,
        default=SubjectRequestChannel.EMAIL,
    )
    subject_name = _encrypted_text(_("name"))
    subject_phone = _encrypted_text(_("phone"))
    subject_email = _encrypted_text(_("e-mail"))
    subject_id_number = _encrypted_text(_("ID number"))
    details = _encrypted_text(_("request details"))
    received_at = models.DateTimeField(_("received at"))
    due_at = models.DateTimeField(_("deadline"))
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=SubjectRequestStatus,
        default=SubjectRequestStatus.RECEIVED,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    outcome_note = models.TextField(_("outcome"), blank=True)
    bundle_job = models.ForeignKey(
        "core.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    erased_at = models.DateTimeField(_("anonymized at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # set when retention cleared the subject's identification of a closed request
    identification_removed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("data-subject request")
        verbose_name_plural = _("data-subject requests")
        indexes = [
            models.Index(fields=["status", "due_at"], name="subject_request_due_idx"),
            models.Index(fields=["assignee", "status"], name="subject_request_assignee_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}"

    @property
    def is_open(self) -> bool:
        return self.status in (SubjectRequestStatus.RECEIVED, SubjectRequestStatus.IN_PROGRESS)

    def is_overdue(self, now) -> bool:
        return self.is_open and self.due_at < now


class MatchState(models.TextChoices):
    SUGGESTED = "suggested", _("To confirm")
    CONFIRMED = "confirmed", _("Confirmed")
    REJECTED = "rejected", _("Not the person")


class SubjectMatch(models.Model):
    """A contact the search found for a request, why (codes: phone, email, id_number,
    name), and the officer's decision; only confirmed matches are exported or anonymized."""

    request = models.ForeignKey(SubjectRequest, on_delete=models.CASCADE, related_name="matches")
    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE, related_name="+")
    reasons = models.JSONField(default=list)
    state = models.CharField(
        _("state"), max_length=10, choices=MatchState, default=MatchState.SUGGESTED
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    anonymized_at = models.DateTimeField(null=True, blank=True)
    found_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("matched contact")
        verbose_name_plural = _("matched contacts")
        constraints = [
            models.UniqueConstraint(fields=["request", "contact"], name="subject_match_unique")
        ]

    def __str__(self) -> str:
        return f"{self.request_id} ~ {self.contact_id} ({self.state})"


class RetentionClass(models.TextChoices):
    INTERACTIONS = "interactions", _("Interactions and tasks")
    INACTIVE_CONTACTS = "inactive_contacts", _("Inactive contacts")
    WITHDRAWN_CONSENTS = "withdrawn_consents", _("Withdrawn consents")
    EXPORT_FILES = "export_files", _("Export files")
    IMPORT_FILES = "import_files", _("Import files")
    PRIVACY_BUNDLES = "privacy_bundles", _("Data-subject access bundles")
    SUBJECT_REQUESTS = "subject_requests", _("Closed data-subject requests")


class RetentionAction(models.TextChoices):
    REDACT = "redact", _("Clear the text, keep the record")
    DELETE = "delete", _("Delete")
    ANONYMIZE = "anonymize", _("Anonymize")
    STRIP = "strip", _("Clear the evidence text")


class RetentionPolicy(models.Model):
    """How long one class of data is kept and what happens after: administrators edit it;
    the nightly retention job (and "Run now") applies the enabled ones."""

    security_type = "dataops.retention"

    data_class = models.CharField(
        _("data class"), max_length=30, choices=RetentionClass, unique=True
    )
    action = models.CharField(_("then"), max_length=12, choices=RetentionAction)
    days = models.PositiveIntegerField(_("kept for (days)"))
    enabled = models.BooleanField(_("enabled"), default=False)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policies")

    def __str__(self) -> str:
        return self.get_data_class_display()
