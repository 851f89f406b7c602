"""Automation rules (trigger → condition → actions), their versions, and the log of runs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from rapport.core.models import TimeStampedModel


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


class Rule(TimeStampedModel):
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

    @property
    def display_name(self) -> str:
        language = translation.get_language() or ""
        if language.startswith("en") and self.name_en:
            return self.name_en
        return self.name or self.name_en


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
