"""Automation rules (trigger → condition → actions), their versions, and the log of runs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.core.models import BilingualNameMixin, TimeStampedModel


class Trigger(models.TextChoices):
    CREATED = "created", _("Record created")
    UPDATED = "updated", _("Record updated")
    STAGE_CHANGED = "stage_changed", _("Stage changed")
    DATE_REACHED = "date_reached", _("Date reached")
    SCHEDULE = "schedule", _("On a schedule")
    WEBHOOK = "webhook", _("Incoming webhook")
    EVENT = "event", _("Domain event")


# Triggers whose runs start from a record event (matched in `matching`).
RECORD_TRIGGERS = (Trigger.CREATED, Trigger.UPDATED, Trigger.STAGE_CHANGED)


class RunState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")
    LOOP_STOPPED = "loop_stopped", _("Stopped (loop)")
    DRY_RUN = "dry_run", _("Dry run")


class Rule(BilingualNameMixin, TimeStampedModel):
    """What happens on its own: when `trigger` fires for a record of `object_type` that
    matches `condition` (a filter-language tree), run `actions` in order."""

    security_type = "automation.rule"

    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    object_type = models.CharField(_("record type"), max_length=60)
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices)
    trigger_config = models.JSONField(_("trigger settings"), default=dict, blank=True)
    condition = models.JSONField(_("condition"), default=dict, blank=True)
    actions = models.JSONField(_("actions"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=False)
    position = models.PositiveIntegerField(_("position"), default=0)
    version = models.PositiveIntegerField(_("version"), default=1)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )

    class Meta:
        ordering = ["object_type", "position", "id"]
        verbose_name = _("automation rule")
        verbose_name_plural = _("automation rules")
        indexes = [models.Index(fields=["object_type", "trigger", "is_active"])]

    def __str__(self) -> str:
        return self.display_name


class RuleVersion(models.Model):
    """The rule as it was saved at `version` (every create and change keeps one)."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    snapshot = models.JSONField(_("snapshot"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["rule", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "version"], name="automation_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} v{self.version}"


class RuleCursor(models.Model):
    """Where a rule's round robin stands (one row per rule and action), locked while it moves."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="cursors")
    key = models.CharField(max_length=60)
    last_user_id = models.BigIntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "key"], name="automation_cursor_unique")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.key}"


class RuleRun(models.Model):
    """One firing of a rule for one record: why, what it changed, and how it ended."""

    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="runs")
    rule_version = models.PositiveIntegerField(_("rule version"))
    object_type = models.CharField(_("record type"), max_length=60)
    object_id = models.BigIntegerField(_("record"), null=True)
    trigger_detail = models.JSONField(_("trigger"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=RunState.choices, default=RunState.QUEUED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    results = models.JSONField(_("results"), default=list, blank=True)
    idempotency_key = models.CharField(max_length=200)
    chain = models.JSONField(_("causal chain"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("rule run")
        verbose_name_plural = _("rule runs")
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "idempotency_key"], name="automation_run_once_per_event"
            )
        ]
        indexes = [
            models.Index(fields=["rule", "-id"], name="automation_run_by_rule"),
            models.Index(
                fields=["object_type", "object_id", "-id"], name="automation_run_by_record"
            ),
            models.Index(fields=["state", "next_attempt_at"], name="automation_run_due"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}#{self.pk}"


# --- approvals -------------------------------------------------------------------------------


class ApproverKind(models.TextChoices):
    USER = "user", _("A named user")
    ROLE = "role", _("A role")
    MANAGER = "manager", _("The submitter's manager")
    TEAM = "team", _("A team")


class ApprovalMode(models.TextChoices):
    ANY = "any", _("Any one of them")
    ALL = "all", _("All of them")


class ApprovalState(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


class ApprovalTaskState(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SKIPPED = "skipped", _("Skipped")
    CANCELLED = "cancelled", _("Cancelled")


class ApprovalProcess(BilingualNameMixin, TimeStampedModel):
    """How records of `object_type` that match `condition` are approved: ordered steps (steps
    sharing a number run in parallel). Managed with `manage` on `automation.rule`."""

    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    object_type = models.CharField(_("record type"), max_length=60)
    condition = models.JSONField(_("condition"), default=dict, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    version = models.PositiveIntegerField(_("version"), default=1)
    lock_record = models.BooleanField(_("lock the record while pending"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )

    class Meta:
        ordering = ["object_type", "position", "id"]
        verbose_name = _("approval process")
        verbose_name_plural = _("approval processes")
        indexes = [models.Index(fields=["object_type", "is_active", "position"])]

    def __str__(self) -> str:
        return self.display_name


class ApprovalStep(BilingualNameMixin, models.Model):
    """One step of a process: who approves. Steps sharing a `number` run in parallel; all
    of them must approve before the next number opens."""

    process = models.ForeignKey(ApprovalProcess, on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveIntegerField(_("step number"), default=1)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    approver_kind = models.CharField(
        _("approved by"), max_length=10, choices=ApproverKind.choices, default=ApproverKind.USER
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    role = models.ForeignKey(
        "identity.Role",
        verbose_name=_("role"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    manager_levels = models.PositiveSmallIntegerField(_("levels up"), default=1)
    team = models.ForeignKey(
        "identity.Team",
        verbose_name=_("team"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    mode = models.CharField(
        _("who must approve"), max_length=5, choices=ApprovalMode.choices, default=ApprovalMode.ANY
    )
    remind_after_hours = models.PositiveIntegerField(
        _("remind after (hours)"), null=True, blank=True
    )
    escalate_after_hours = models.PositiveIntegerField(
        _("escalate after (hours)"), null=True, blank=True
    )
    escalate_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("escalate to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["process", "number", "id"]
        verbose_name = _("approval step")
        verbose_name_plural = _("approval steps")

    def __str__(self) -> str:
        return self.display_name


class ApprovalRequest(models.Model):
    """One record submitted for approval under a process, with the steps as they were at
    submit (`steps`); `current_number` is the step number open now."""

    process = models.ForeignKey(ApprovalProcess, on_delete=models.PROTECT, related_name="requests")
    process_version = models.PositiveIntegerField(_("process version"))
    steps = models.JSONField(_("steps"), default=list, blank=True)
    object_type = models.CharField(_("record type"), max_length=60)
    object_id = models.BigIntegerField(_("record"))
    title = models.CharField(_("title"), max_length=300, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    state = models.CharField(
        _("state"), max_length=10, choices=ApprovalState.choices, default=ApprovalState.PENDING
    )
    current_number = models.PositiveIntegerField(_("current step"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    # Copied from the process at submit: whether the record is locked while this is pending.
    lock_record = models.BooleanField(_("locks the record"), default=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="approval_request_record"),
            models.Index(fields=["state", "submitted_at"], name="approval_request_state"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "object_id"],
                condition=models.Q(state="pending"),
                name="approval_one_pending_per_record",
            )
        ]

    def __str__(self) -> str:
        return self.title or f"{self.object_type} {self.object_id}"

    @property
    def is_pending(self) -> bool:
        return self.state == ApprovalState.PENDING


class ApprovalTask(models.Model):
    """One approver's part in one step of a request."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="tasks")
    # The step's place in `request.steps` (parallel steps share a number, not an index).
    step_index = models.PositiveSmallIntegerField(_("step"), default=0)
    step_number = models.PositiveIntegerField(_("step number"))
    step_name = models.CharField(_("step"), max_length=200, blank=True)
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approver"),
        on_delete=models.PROTECT,
        related_name="approval_tasks",
    )
    delegated_from = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("delegated by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # The task this one was escalated from (either of them may decide; one decision counts).
    escalated_from = models.ForeignKey(
        "self",
        verbose_name=_("escalated from"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="escalations",
    )
    state = models.CharField(
        _("state"),
        max_length=10,
        choices=ApprovalTaskState.choices,
        default=ApprovalTaskState.PENDING,
    )
    comment = models.TextField(_("comment"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    escalate_at = models.DateTimeField(_("escalate at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)

    class Meta:
        ordering = ["request", "step_number", "id"]
        verbose_name = _("approval task")
        verbose_name_plural = _("approval tasks")
        indexes = [
            models.Index(fields=["approver", "state"], name="approval_task_inbox"),
            models.Index(fields=["state", "remind_at"], name="approval_task_remind"),
            models.Index(fields=["state", "escalate_at"], name="approval_task_escalate"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id}/{self.step_number}: {self.approver_id}"

    @property
    def is_pending(self) -> bool:
        return self.state == ApprovalTaskState.PENDING

    @property
    def is_overdue(self) -> bool:
        return self.is_pending and self.due_at is not None and self.due_at < timezone.now()


class ApprovalDelegation(models.Model):
    """While `user` is away (starts_on … ends_on, inclusive), new approval tasks go to
    `delegate`, who may also decide the tasks `user` already has."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("away"),
        on_delete=models.CASCADE,
        related_name="approval_delegations",
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("delegate"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("approval delegation")
        verbose_name_plural = _("approval delegations")
        indexes = [models.Index(fields=["user", "is_active", "ends_on"])]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.delegate_id} ({self.starts_on}–{self.ends_on})"

    def covers(self, day) -> bool:
        return self.is_active and self.starts_on <= day <= self.ends_on
